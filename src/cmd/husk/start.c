/* husk start: let a created container exec its program. */
#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "runtime/container.h"

static int run_start(const struct hk_globals *g, int argc, char **argv)
{
	struct hk_err err = {0};
	int status;

	if (cli_getopt(&cmd_start, argc, argv, "", NULL, cli_no_opts, NULL, &status))
		return status;
	const char *id = cli_one_id(&cmd_start, argc, argv, &status);
	if (!id)
		return status;
	if (container_start(g->root, id, &err) < 0)
		return cli_error(&err);
	return 0;
}

const struct hk_command cmd_start = {
	.name = "start",
	.run = run_start,
	.args = "<container-id>",
	.summary = "start a created container: run the program of its config",
	.options = "",
};
