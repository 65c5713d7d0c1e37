/* husk exec: run a new process inside a running container. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "runtime/exec.h"

enum {
	OPT_CONSOLE = 1000,
	OPT_CWD,
	OPT_PID_FILE,
	OPT_NNP,
	OPT_PRESERVE,
	OPT_LABEL,
	OPT_APPARMOR,
	OPT_CGROUP,
	OPT_IGNORED,
};

static const struct option exec_opts[] = {
	{"console-socket", required_argument, NULL, OPT_CONSOLE},
	{"cwd", required_argument, NULL, OPT_CWD},
	{"env", required_argument, NULL, 'e'},
	{"tty", no_argument, NULL, 't'},
	{"user", required_argument, NULL, 'u'},
	{"additional-gids", required_argument, NULL, 'g'},
	{"process", required_argument, NULL, 'p'},
	{"detach", no_argument, NULL, 'd'},
	{"pid-file", required_argument, NULL, OPT_PID_FILE},
	{"process-label", required_argument, NULL, OPT_LABEL},
	{"apparmor", required_argument, NULL, OPT_APPARMOR},
	{"no-new-privs", no_argument, NULL, OPT_NNP},
	{"cap", required_argument, NULL, 'c'},
	{"preserve-fds", required_argument, NULL, OPT_PRESERVE},
	{"cgroup", required_argument, NULL, OPT_CGROUP},
	{"ignore-paused", no_argument, NULL, OPT_IGNORED},
	{0},
};

static void push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = (char *)(uintptr_t)s;
}

static int parse_user(const char *arg, struct hk_exec_opts *o)
{
	char *colon = strchr(arg, ':');
	int id;

	if (colon) {
		*colon = '\0';
		if (cli_parse_int("--user", colon + 1, 0, INT32_MAX, &id) < 0)
			return -1;
		o->has_group = true;
		o->gid = (gid_t)id;
	}
	if (cli_parse_int("--user", arg, 0, INT32_MAX, &id) < 0)
		return -1;
	o->has_user = true;
	o->uid = (uid_t)id;
	return 0;
}

static int on_opt(int opt, const char *arg, void *data)
{
	struct hk_exec_opts *o = data;
	int id;

	switch (opt) {
	case OPT_CONSOLE:
		o->console_socket = arg;
		return 0;
	case OPT_CWD:
		o->cwd = arg;
		return 0;
	case 'e':
		push(&o->env, &o->n_env, arg);
		return 0;
	case 't':
		o->tty = true;
		return 0;
	case 'u':
		return parse_user(optarg, o);
	case 'g':
		if (cli_parse_int("--additional-gids", arg, 0, INT32_MAX, &id) < 0)
			return -1;
		o->additional_gids =
			xrealloc(o->additional_gids, (o->n_additional_gids + 1) * sizeof(gid_t));
		o->additional_gids[o->n_additional_gids++] = (gid_t)id;
		return 0;
	case 'p':
		o->process_file = arg;
		return 0;
	case 'd':
		o->detach = true;
		return 0;
	case OPT_PID_FILE:
		o->pid_file = arg;
		return 0;
	case OPT_NNP:
		o->no_new_privs = true;
		return 0;
	case 'c':
		push(&o->caps, &o->n_caps, arg);
		return 0;
	case OPT_PRESERVE:
		return cli_parse_int("--preserve-fds", arg, 0, 1 << 20, &o->preserve_fds);
	case OPT_LABEL:
		o->process_label = arg;
		return 0;
	case OPT_APPARMOR:
		o->apparmor = arg;
		return 0;
	case OPT_CGROUP:
		return cli_errorf("exec: --cgroup is not supported yet by husk") ? -1 : -1;
	case OPT_IGNORED:
		return 0;
	default:
		return -1;
	}
}

static int run_exec(const struct hk_globals *g, int argc, char **argv)
{
	struct hk_exec_opts o = {.root = g->root};
	struct hk_err err = {0};
	int status = 0;

	if (cli_getopt(&cmd_exec, argc, argv, "e:tu:g:p:dc:", exec_opts, on_opt, &o, &status))
		goto out;
	if (optind >= argc) {
		status = cli_errorf("exec: expected <container-id> [command...]");
		goto out;
	}
	o.id = argv[optind];
	o.args = argv + optind + 1;
	o.n_args = (size_t)(argc - optind - 1);
	if (o.process_file && o.n_args) {
		status = cli_errorf("exec: give the command either after the id or in --process");
		goto out;
	}
	/* An exec that never ran its process exits 255, as runc's does, so
	 * that it cannot be taken for the process's own status. */
	if (container_exec(&o, &status, &err) < 0) {
		cli_error(&err);
		status = 255;
	}
out:
	free(o.env);
	free(o.caps);
	free(o.additional_gids);
	return status;
}

const struct hk_command cmd_exec = {
	.protect_exe = true,
	.name = "exec",
	.run = run_exec,
	.args = "[options] <container-id> <command> [args...]",
	.summary = "run a new process inside a running container",
	.options =
		"   --process, -p FILE    the process as OCI process JSON (instead of a command)\n"
		"   --env, -e NAME=VALUE  set an environment variable (repeatable)\n"
		"   --cwd DIR             working directory inside the container\n"
		"   --user, -u UID[:GID]  run as this user\n"
		"   --additional-gids, -g GID  add a supplementary group (repeatable)\n"
		"   --cap, -c CAP         add a capability (repeatable)\n"
		"   --no-new-privs        set no_new_privs\n"
		"   --apparmor PROFILE    run under this AppArmor profile\n"
		"   --process-label LABEL run with this SELinux label\n"
		"   --detach, -d          return once the process has started\n"
		"   --pid-file FILE       write the process's pid to FILE\n"
		"   --preserve-fds N      pass N extra fds (3 .. 3+N-1)\n"
		"   --tty, -t             give the process a terminal\n"
		"   --console-socket SOCK send the terminal's master to this unix socket\n",
};
