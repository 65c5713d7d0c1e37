/* husk delete: remove a container and everything husk made for it. */
#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "runtime/container.h"

static int run_delete(const struct hk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	struct hk_err err = {0};
	bool force = false;
	int status;

	if (cli_getopt(&cmd_delete, argc, argv, "f", opts, cli_set_flag, &force, &status))
		return status;
	const char *id = cli_one_id(&cmd_delete, argc, argv, &status);
	if (!id)
		return status;
	if (container_delete(g->root, id, force, &err) < 0)
		return cli_error(&err);
	return 0;
}

const struct hk_command cmd_delete = {
	.name = "delete",
	.run = run_delete,
	.args = "[options] <container-id>",
	.summary = "delete a container: its process, cgroup and state",
	.options = "   --force, -f           kill a running container first\n",
};
