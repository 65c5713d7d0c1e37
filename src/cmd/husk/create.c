/* husk create, and the flags it shares with run. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "cmd/husk/create.h"
#include "common/err.h"
#include "runtime/container.h"

enum {
	OPT_PID_FILE = 1000,
	OPT_CONSOLE,
	OPT_NO_PIVOT,
	OPT_PRESERVE,
	OPT_NO_NEW_KEYRING,
	OPT_KEEP,
	OPT_IGNORED
};

static const struct option create_opts[] = {
	{"bundle", required_argument, NULL, 'b'},
	{"pid-file", required_argument, NULL, OPT_PID_FILE},
	{"console-socket", required_argument, NULL, OPT_CONSOLE},
	{"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
	{"preserve-fds", required_argument, NULL, OPT_PRESERVE},
	{"no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING},
	{"detach", no_argument, NULL, 'd'},
	{"keep", no_argument, NULL, OPT_KEEP},
	{"no-subreaper", no_argument, NULL, OPT_IGNORED},
	{0},
};

const char cli_create_options[] =
	"   --bundle, -b DIR      the bundle (default: the current directory)\n"
	"   --pid-file FILE       write the container process's pid to FILE\n"
	"   --console-socket SOCK send the terminal's master to this unix socket\n"
	"   --no-pivot            chroot instead of pivot_root (for ramdisk roots)\n"
	"   --preserve-fds N      pass N extra fds (3 .. 3+N-1) to the container\n"
	"   --no-new-keyring      keep the caller's session keyring (default: one of the\n"
	"                         container's own, _ses.<id>)\n";

static int on_opt(int opt, const char *arg, void *data)
{
	struct cli_create *c = data;
	switch (opt) {
	case 'b':
		c->opts.bundle = arg;
		return 0;
	case OPT_PID_FILE:
		c->opts.pid_file = arg;
		return 0;
	case OPT_CONSOLE:
		c->opts.console_socket = arg;
		return 0;
	case OPT_NO_PIVOT:
		c->opts.no_pivot = true;
		return 0;
	case OPT_PRESERVE:
		return cli_parse_int("--preserve-fds", arg, 0, 1 << 20, &c->opts.preserve_fds);
	case 'd':
		if (!c->allow_detach)
			return cli_errorf("create: unknown option --detach");
		c->detach = true;
		return 0;
	case OPT_KEEP:
		/* runc 1.1's run --keep: the stopped container stays, for
		 * state and delete; create has no such flag in runc */
		if (!c->allow_detach)
			return cli_errorf("create: unknown option --keep");
		c->opts.keep_stopped = true;
		return 0;
	case OPT_NO_NEW_KEYRING:
		c->opts.no_new_keyring = true;
		return 0;
	case OPT_IGNORED:
		return 0;
	default:
		return cli_errorf("unhandled option %d", opt);
	}
}

int cli_parse_create(const struct hk_command *cmd, const struct hk_globals *g, int argc,
		     char **argv, struct cli_create *c, int *exit_status)
{
	c->opts.root = g->root;
	c->opts.bundle = ".";
	c->opts.systemd_cgroup = g->systemd_cgroup;
	if (cli_getopt(cmd, argc, argv, c->allow_detach ? "b:d" : "b:", create_opts, on_opt, c,
		       exit_status))
		return 1;
	c->opts.id = cli_one_id(cmd, argc, argv, exit_status);
	return c->opts.id ? 0 : 1;
}

static int run_create(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_create c = {0};
	struct hk_err err = {0};
	int status;

	if (cli_parse_create(&cmd_create, g, argc, argv, &c, &status))
		return status;
	if (container_create(&c.opts, NULL, &err) < 0)
		return cli_error(&err);
	return 0;
}

const struct hk_command cmd_create = {
	.protect_exe = true,
	.name = "create",
	.run = run_create,
	.args = "[options] <container-id>",
	.summary = "create a container: its process waits, in all its namespaces, for start",
	.options = cli_create_options,
};
