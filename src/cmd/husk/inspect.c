/* husk inspect: a readable report of what isolates a container (and what
 * it shares with the host), or the same facts as JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "cmd/husk/inspect.h"
#include "common/err.h"
#include "runtime/inspect.h"
#include "spec/json.h"

enum { OPT_FORMAT = 1000 };

static int on_opt(int opt, const char *arg, void *data)
{
	bool *json = data;

	if (opt != 'f' && opt != OPT_FORMAT)
		return -1;
	if (strcmp(arg, "json") == 0)
		*json = true;
	else if (strcmp(arg, "text") != 0)
		return cli_errorf("inspect: --format must be text or json, not \"%s\"", arg) ? -1
											     : -1;
	return 0;
}

static int run_inspect(const struct hk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, OPT_FORMAT}, {0}};
	struct hk_inspect in;
	struct hk_err err = {0};
	bool json = false;
	int status;

	if (cli_getopt(&cmd_inspect, argc, argv, "f:", opts, on_opt, &json, &status))
		return status;
	const char *id = cli_one_id(&cmd_inspect, argc, argv, &status);
	if (!id)
		return status;
	const char *net_dir = getenv("HUSK_NET_DIR");
	if (container_inspect(g->root, id, net_dir && *net_dir ? net_dir : NULL, &in, &err) < 0)
		return cli_error(&err);
	if (json)
		cli_inspect_json(&in);
	else
		cli_inspect_text(&in);
	container_inspect_free(&in);
	return 0;
}

const struct hk_command cmd_inspect = {
	.prints = true,
	.name = "inspect",
	.run = run_inspect,
	.args = "[options] <container-id>",
	.summary = "show what isolates a container: namespaces, ids, cgroup, privileges, "
		   "mounts, network",
	.options = "   --format, -f FORMAT   text (default) or json\n",
};
