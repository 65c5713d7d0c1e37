/* husk launch: run build/husk-launch, which sits next to this binary (it
 * links libarchive, which Debian cannot link statically: cli/companion.c). */
#include "cli/cli.h"

static int run_launch(const struct hk_globals *g, int argc, char **argv)
{
	return cli_exec_companion(LAUNCH_BINARY, g, argc, argv);
}

const struct hk_command cmd_launch = {
	.name = "launch",
	.run = run_launch,
	.args = LAUNCH_ARGS,
	.summary = LAUNCH_SUMMARY,
	.options = "",
};
