/* husk run: create + start, then wait and delete (unless --detach). */
#include <stdio.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "cmd/husk/create.h"
#include "common/err.h"
#include "runtime/container.h"

static int run_run(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_create c = {.allow_detach = true};
	struct hk_err err = {0};
	int status = 0;

	if (cli_parse_create(&cmd_run, g, argc, argv, &c, &status))
		return status;
	fflush(stdout);
	if (container_run(&c.opts, c.detach, &status, &err) < 0)
		return cli_error(&err);
	return status;
}

const struct hk_command cmd_run = {
	.protect_exe = true,
	.name = "run",
	.run = run_run,
	.args = "[options] <container-id>",
	.summary = "create and start a container, wait for it and delete it; exit with its status",
	.options = "   --detach, -d          return once started; the container runs on\n"
		   "   --keep                keep the stopped container (for state, delete)\n"
		   "   --bundle, -b DIR      the bundle (default: the current directory)\n"
		   "   --pid-file FILE       write the container process's pid to FILE\n"
		   "   --console-socket SOCK send the terminal's master to this unix socket\n"
		   "   --no-pivot            chroot instead of pivot_root (for ramdisk roots)\n"
		   "   --preserve-fds N      pass N extra fds (3 .. 3+N-1) to the container\n",
};
