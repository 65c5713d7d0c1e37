/* husk list: the containers under --root, as runc's table or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "runtime/container.h"
#include "spec/spec.h"

struct list_opts {
	bool quiet;
	bool json;
};

enum { OPT_FORMAT = 1000 };

static int on_opt(int opt, const char *arg, void *data)
{
	struct list_opts *o = data;
	switch (opt) {
	case 'q':
		o->quiet = true;
		return 0;
	case 'f':
	case OPT_FORMAT:
		if (strcmp(arg, "json") == 0)
			o->json = true;
		else if (strcmp(arg, "table") != 0)
			return cli_errorf("list: --format must be table or json, not \"%s\"", arg)
				       ? -1
				       : -1;
		return 0;
	default:
		return -1;
	}
}

/* Columns as Go's tabwriter lays out runc's: width of the widest cell plus
 * 3, at least 12; the last column unpadded. Cells are escaped (cli_esc):
 * runc prints a bundle path with an ESC in it raw, husk does not. */
static void row_cells(const struct hk_container_info *v, char pid[16], const char *cells[6])
{
	snprintf(pid, 16, "%d", (int)v->pid);
	cells[0] = cli_esc(v->id);
	cells[1] = pid;
	cells[2] = cli_esc(v->status);
	cells[3] = cli_esc(v->bundle);
	cells[4] = cli_esc(v->created);
	cells[5] = cli_esc(v->owner);
}

static void print_table(const struct hk_container_info *v, size_t n)
{
	static const char *const head[] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
	const char *cells[6];
	char pid[16];
	size_t w[5];

	for (int c = 0; c < 5; c++)
		w[c] = strlen(head[c]);
	for (size_t i = 0; i < n; i++) {
		row_cells(&v[i], pid, cells);
		for (int c = 0; c < 5; c++)
			if (strlen(cells[c]) > w[c])
				w[c] = strlen(cells[c]);
	}
	for (int c = 0; c < 5; c++)
		w[c] = w[c] + 3 < 12 ? 12 : w[c] + 3;
	for (int c = 0; c < 5; c++)
		printf("%-*s", (int)w[c], head[c]);
	printf("%s\n", head[5]);
	for (size_t i = 0; i < n; i++) {
		row_cells(&v[i], pid, cells);
		for (int c = 0; c < 5; c++)
			printf("%-*s", (int)w[c], cells[c]);
		printf("%s\n", cells[5]);
	}
}

/* As `state` prints one (cli_info_json), plain, in an array; streamed: a
 * tree of a thousand containers cost more than reading their states. */
static void print_json(const struct hk_container_info *v, size_t n)
{
	static const char *const keys[] = {"id", "status", "bundle", "rootfs", "created", "owner"};

	putchar('[');
	for (size_t i = 0; i < n; i++) {
		const char *vals[] = {v[i].id,     v[i].status,  v[i].bundle,
				      v[i].rootfs, v[i].created, v[i].owner};
		printf("%s{\"ociVersion\":\"" HK_OCI_VERSION "\"", i ? "," : "");
		for (size_t k = 0; k < 6; k++) {
			printf(",\"%s\":", keys[k]);
			cli_json_str(stdout, vals[k]);
			if (k == 0)
				printf(",\"pid\":%d", (int)v[i].pid);
		}
		if (v[i].n_annotations) {
			fputs(",\"annotations\":{", stdout);
			for (size_t a = 0; a < v[i].n_annotations; a++) {
				if (a)
					putchar(',');
				cli_json_str(stdout, v[i].annotations[a].key);
				putchar(':');
				cli_json_str(stdout, v[i].annotations[a].value);
			}
			putchar('}');
		}
		putchar('}');
	}
	puts("]");
}

static int run_list(const struct hk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
					     {"format", required_argument, NULL, OPT_FORMAT},
					     {0}};
	struct list_opts o = {0};
	struct hk_container_info *v;
	struct hk_err err = {0};
	size_t n;
	int status;

	if (cli_getopt(&cmd_list, argc, argv, "qf:", opts, on_opt, &o, &status))
		return status;
	if (optind != argc)
		return cli_errorf("list: takes no arguments");
	if (container_list(g->root, &v, &n, &err) < 0)
		return cli_error(&err);
	if (o.quiet)
		for (size_t i = 0; i < n; i++)
			printf("%s\n", cli_esc(v[i].id));
	else if (o.json)
		print_json(v, n);
	else
		print_table(v, n);
	for (size_t i = 0; i < n; i++)
		container_info_free(&v[i]);
	free(v);
	return 0;
}

const struct hk_command cmd_list = {
	.prints = true,
	.name = "list",
	.run = run_list,
	.args = "[options]",
	.summary = "list the containers",
	.options = "   --format, -f FORMAT   table (default) or json\n"
		   "   --quiet, -q           print only the ids\n",
};
