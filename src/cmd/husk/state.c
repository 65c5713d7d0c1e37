/* husk state: the OCI state of a container, as JSON (runtime.md "State"). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "runtime/container.h"
#include "spec/json.h"
#include "spec/spec.h"

/* Shared with list --format json. */
hk_json *cli_info_json(const struct hk_container_info *info);
hk_json *cli_info_json(const struct hk_container_info *info)
{
	hk_json *j = hk_json_new_obj();
	hk_json_set_str(j, "ociVersion", HK_OCI_VERSION);
	hk_json_set_str(j, "id", info->id);
	hk_json_set_int(j, "pid", info->pid);
	hk_json_set_str(j, "status", info->status);
	hk_json_set_str(j, "bundle", info->bundle ? info->bundle : "");
	hk_json_set_str(j, "rootfs", info->rootfs ? info->rootfs : "");
	hk_json_set_str(j, "created", info->created ? info->created : "");
	hk_json_set_str(j, "owner", info->owner ? info->owner : "");
	if (info->n_annotations) {
		hk_json *a = hk_json_new_obj();
		for (size_t i = 0; i < info->n_annotations; i++)
			hk_json_set_str(a, info->annotations[i].key, info->annotations[i].value);
		hk_json_set(j, "annotations", a);
	}
	return j;
}

static int run_state(const struct hk_globals *g, int argc, char **argv)
{
	struct hk_container_info info;
	struct hk_err err = {0};
	int status;

	if (cli_getopt(&cmd_state, argc, argv, "", NULL, cli_no_opts, NULL, &status))
		return status;
	const char *id = cli_one_id(&cmd_state, argc, argv, &status);
	if (!id)
		return status;
	if (container_info(g->root, id, &info, &err) < 0)
		return cli_error(&err);
	hk_json *j = cli_info_json(&info);
	cli_print_json(j, 1);
	hk_json_put(j);
	container_info_free(&info);
	return 0;
}

const struct hk_command cmd_state = {
	.prints = true,
	.name = "state",
	.run = run_state,
	.args = "<container-id>",
	.summary = "print the state of a container as JSON",
	.options = "",
};
