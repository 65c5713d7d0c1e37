/* husk pause / resume: freeze and thaw every process of a container. */
#include <stddef.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "runtime/control.h"

static int pause_or_resume(const struct hk_command *cmd, bool pause, const struct hk_globals *g,
			   int argc, char **argv)
{
	struct hk_err err = {0};
	int status;

	if (cli_getopt(cmd, argc, argv, "", NULL, cli_no_opts, NULL, &status))
		return status;
	const char *id = cli_one_id(cmd, argc, argv, &status);
	if (!id)
		return status;
	if (container_pause(g->root, id, pause, &err) < 0)
		return cli_error(&err);
	return 0;
}

static int run_pause(const struct hk_globals *g, int argc, char **argv)
{
	return pause_or_resume(&cmd_pause, true, g, argc, argv);
}

static int run_resume(const struct hk_globals *g, int argc, char **argv)
{
	return pause_or_resume(&cmd_resume, false, g, argc, argv);
}

const struct hk_command cmd_pause = {
	.name = "pause",
	.run = run_pause,
	.args = "<container-id>",
	.summary = "suspend every process of the container (cgroup freezer)",
	.options = "",
};

const struct hk_command cmd_resume = {
	.name = "resume",
	.run = run_resume,
	.args = "<container-id>",
	.summary = "resume a paused container",
	.options = "",
};
