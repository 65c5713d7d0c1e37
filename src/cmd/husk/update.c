/* husk update: change a running container's resource limits, with runc's
 * flags or a LinuxResources JSON (-r FILE, or - for stdin). The flags are
 * turned into that same JSON, so both go through the spec's checks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/size.h"
#include "runtime/control.h"
#include "spec/json.h"
#include "spec/resources.h"

enum kind { SIZE, INT, STR, REFUSED };

/* runc's update flags and where each goes in LinuxResources. */
static const struct flag {
	const char *name;
	const char *section, *key;
	enum kind kind;
} flags[] = {
	{"blkio-weight", "blockIO", "weight", INT},
	{"cpu-period", "cpu", "period", INT},
	{"cpu-quota", "cpu", "quota", INT},
	{"cpu-share", "cpu", "shares", INT},
	{"cpu-rt-period", "cpu", "realtimePeriod", INT},
	{"cpu-rt-runtime", "cpu", "realtimeRuntime", INT},
	{"cpu-idle", "cpu", "idle", INT},
	{"cpuset-cpus", "cpu", "cpus", STR},
	{"cpuset-mems", "cpu", "mems", STR},
	{"memory", "memory", "limit", SIZE},
	{"memory-reservation", "memory", "reservation", SIZE},
	{"memory-swap", "memory", "swap", SIZE},
	{"kernel-memory-tcp", "memory", "kernelTCP", SIZE},
	{"pids-limit", "pids", "limit", INT},
	{"kernel-memory", NULL, "kernel memory limits are deprecated and not enforced", REFUSED},
	{"l3-cache-schema", NULL, "Intel RDT is not supported by husk", REFUSED},
	{"mem-bw-schema", NULL, "Intel RDT is not supported by husk", REFUSED},
};
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

/* "512m", "1G", "100000" (common/size.h), and "-1": no limit. */
static int parse_size(const char *flag, const char *s, int64_t *out)
{
	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	switch (hk_parse_size(s, out)) {
	case HK_SIZE_OK:
		return 0;
	case HK_SIZE_UNIT:
		return cli_errorf("update: --%s: \"%s\" has an unknown unit", flag, s) ? -1 : -1;
	case HK_SIZE_LARGE:
		return cli_errorf("update: --%s: \"%s\" is too large", flag, s) ? -1 : -1;
	case HK_SIZE_BAD:
	default:
		return cli_errorf("update: --%s: \"%s\" is not a size", flag, s) ? -1 : -1;
	}
}

struct update_args {
	hk_json *res; /* LinuxResources built from the flags */
	const char *file;
	bool any_flag;
};

static int add_flag(struct update_args *a, const struct flag *f, const char *arg)
{
	int64_t v;
	char *end;

	if (f->kind == REFUSED)
		return cli_errorf("update: --%s: %s", f->name, f->key) ? -1 : -1;
	hk_json *sec = NULL;
	if (hk_json_get_obj(a->res, "", f->section, &sec, NULL) <= 0) {
		sec = hk_json_new_obj();
		hk_json_set(a->res, f->section, sec);
	}
	a->any_flag = true;
	if (f->kind == STR) {
		hk_json_set_str(sec, f->key, arg);
		return 0;
	}
	if (f->kind == SIZE) {
		if (parse_size(f->name, arg, &v) < 0)
			return -1;
	} else {
		errno = 0;
		v = strtoll(arg, &end, 10);
		if (errno || end == arg || *end)
			return cli_errorf("update: --%s: \"%s\" is not a number", f->name, arg)
				       ? -1
				       : -1;
	}
	hk_json_set_int(sec, f->key, v);
	return 0;
}

static int on_opt(int opt, const char *arg, void *data)
{
	struct update_args *a = data;
	if (opt == 'r') {
		a->file = arg;
		return 0;
	}
	if (opt >= 1000 && opt < 1000 + (int)N_FLAGS)
		return add_flag(a, &flags[opt - 1000], arg);
	return -1;
}

static struct hk_resources *read_resources(const char *file, struct hk_err *err)
{
	size_t len;
	_cleanup_free_ char *text =
		strcmp(file, "-") == 0
			? hk_read_fd(STDIN_FILENO, "standard input", 1 << 20, &len, err)
			: hk_read_file(file, 1 << 20, &len, err);
	if (!text)
		return NULL;
	return spec_parse_resources(text, len, err);
}

static int run_update(const struct hk_globals *g, int argc, char **argv)
{
	struct option opts[N_FLAGS + 2];
	struct update_args a = {.res = hk_json_new_obj()};
	struct hk_err err = {0};
	int status;

	opts[0] = (struct option){"resources", required_argument, NULL, 'r'};
	for (size_t i = 0; i < N_FLAGS; i++)
		opts[i + 1] =
			(struct option){flags[i].name, required_argument, NULL, 1000 + (int)i};
	opts[N_FLAGS + 1] = (struct option){0};
	int stop = cli_getopt(&cmd_update, argc, argv, "r:", opts, on_opt, &a, &status);
	if (stop) {
		hk_json_put(a.res);
		return status;
	}
	const char *id = cli_one_id(&cmd_update, argc, argv, &status);
	_cleanup_free_ char *text = hk_json_dump(a.res, 0);
	hk_json_put(a.res);
	if (!id)
		return status;
	if (a.file && a.any_flag)
		return cli_errorf("update: --resources cannot be combined with other flags");
	struct hk_resources *r = a.file ? read_resources(a.file, &err)
					: spec_parse_resources(text, strlen(text), &err);
	if (!r)
		return cli_error(&err);
	if (r->devices_given)
		hk_log(HK_LOG_INFO,
		       "update %s: devices: not applied (the container keeps the "
		       "device rules it was created with, as with runc)",
		       id);
	int rc = container_update(g->root, id, r, &err);
	spec_resources_free(r);
	return rc < 0 ? cli_error(&err) : 0;
}

const struct hk_command cmd_update = {
	.name = "update",
	.run = run_update,
	.args = "[options] <container-id>",
	.summary = "change the resource limits of a running container",
	.options =
		"   --resources, -r FILE   a LinuxResources JSON (config.json's linux.resources);\n"
		"                          - reads it from standard input\n"
		"   --memory SIZE          memory limit (bytes, or with k/m/g)\n"
		"   --memory-reservation SIZE\n"
		"   --memory-swap SIZE     memory plus swap; -1 for unlimited swap\n"
		"   --kernel-memory-tcp SIZE\n"
		"   --cpu-share N, --cpu-period US, --cpu-quota US, --cpu-idle 0|1\n"
		"   --cpu-rt-period US, --cpu-rt-runtime US\n"
		"   --cpuset-cpus LIST, --cpuset-mems LIST\n"
		"   --blkio-weight N       10 to 1000\n"
		"   --pids-limit N         -1 for no limit\n",
};
