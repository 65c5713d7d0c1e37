/* husk-launch: `husk launch`, a program run from a root filesystem or an
 * OCI image with safe defaults. A binary of its own so that husk, the OCI
 * face, carries no archive parsers (cmd/husk/companions.c). */
#include <string.h>

#include "cmd/husk-launch/commands.h"
#include "common/fds.h"
#include "common/prefault.h"
#include "common/proctitle.h"

static const struct hk_command *const commands[] = {&cmd_launch, &cmd_cleanup, &cmd_image,
						    &cmd_attach};

static const struct cli_program husk_launch = {
	.name = "husk-launch",
	.about = "husk-launch runs husk launch: a program from a root filesystem or an OCI image.",
	.commands = commands,
	.n_commands = sizeof(commands) / sizeof(commands[0]),
};

/* What launch's heap grows to on its way to the container's start (the
 * spec, its JSON, the image's): ~200 KiB, each page a fault of 12-16 us on
 * the benchmark's machine (bench/README.md, "launch's heap"). */
#define HEAP_AHEAD (256 * 1024)

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], AFTERCARE_ARG) == 0)
		return aftercare_main();
	/* first: before anything is allocated, the whole heap at once */
	hk_prefault_heap(HEAP_AHEAD);
	/* launch's own fds (its mount namespace, the after-care's socket)
	 * never on a standard number: launch -t copies the container's
	 * output to 1 (outside attack, twelfth round, second look, F1) */
	hk_fds_stdio_open();
	/* its -d logger and --rm monitor live on: they retitle themselves */
	hk_proctitle_init(argc, argv);
	return cli_main(&husk_launch, argc, argv);
}
