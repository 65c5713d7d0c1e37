/* husk-launch: `husk launch`, a program run from a root filesystem or an
 * OCI image with safe defaults. A binary of its own so that husk, the OCI
 * face, carries no archive parsers (cmd/husk/companions.c). */
#include "cmd/husk-launch/commands.h"
#include "common/fds.h"
#include "common/proctitle.h"

static const struct hk_command *const commands[] = {&cmd_launch, &cmd_cleanup, &cmd_image,
						    &cmd_attach};

static const struct cli_program husk_launch = {
	.name = "husk-launch",
	.about = "husk-launch runs husk launch: a program from a root filesystem or an OCI image.",
	.commands = commands,
	.n_commands = sizeof(commands) / sizeof(commands[0]),
};

int main(int argc, char **argv)
{
	/* launch's own fds (its mount namespace, the after-care's socket)
	 * never on a standard number: launch -t copies the container's
	 * output to 1 (outside attack, twelfth round, second look, F1) */
	hk_fds_stdio_open();
	/* its -d logger and --rm monitor live on: they retitle themselves */
	hk_proctitle_init(argc, argv);
	return cli_main(&husk_launch, argc, argv);
}
