/* husk: global flags, then a table of commands; each command's file parses
 * its own flags, calls the runtime and picks the exit code. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fds.h"
#include "common/log.h"
#include "common/rootless.h"
#include "common/xalloc.h"
#include "linux/selfexe.h"

#define HUSK_SPEC_VERSION "1.2.0"

static const struct hk_command *const commands[] = {
	&cmd_create,  &cmd_delete, &cmd_events, &cmd_exec,  &cmd_features, &cmd_images,
	&cmd_inspect, &cmd_kill,   &cmd_launch, &cmd_list,  &cmd_login,    &cmd_logout,
	&cmd_net,     &cmd_pause,  &cmd_ps,     &cmd_pull,  &cmd_resume,   &cmd_rmi,
	&cmd_run,     &cmd_spec,   &cmd_start,  &cmd_state, &cmd_update,
};

int cli_error(const struct hk_err *err)
{
	hk_log(HK_LOG_ERROR, "%s", err->msg);
	return 1;
}

int cli_errorf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hk_log(HK_LOG_ERROR, "%s", msg);
	return 1;
}

void cli_usage(const struct hk_command *cmd, bool to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	fprintf(f, "Usage: husk %s%s%s\n\n%s\n", cmd->name, cmd->args[0] ? " " : "", cmd->args,
		cmd->summary);
	if (cmd->options && cmd->options[0])
		fprintf(f, "\nOptions:\n%s", cmd->options);
	fprintf(f, "   --help, -h            show this help\n");
}

int cli_getopt(const struct hk_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, int (*on_opt)(int opt, const char *arg, void *data),
	       void *data, int *exit_status)
{
	char shorts[64];
	struct option longs[48];
	size_t n = 0;
	int opt;

	snprintf(shorts, sizeof(shorts), "+h%s", shortopts);
	for (; longopts && longopts[n].name && n < 46; n++)
		longs[n] = longopts[n];
	longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longs[n] = (struct option){0};
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (opt == 'h') {
			cli_usage(cmd, false);
			*exit_status = 0;
			return 1;
		}
		if (opt == '?' || opt == ':') {
			cli_errorf("%s: unknown or incomplete option \"%s\"", cmd->name,
				   argv[optind - 1]);
			*exit_status = 1;
			return 1;
		}
		/* failure is any non-zero: cli_errorf() returns 1 */
		if (on_opt(opt, optarg, data) != 0) {
			*exit_status = 1;
			return 1;
		}
	}
	return 0;
}

int cli_no_opts(int opt, const char *arg, void *data)
{
	(void)opt;
	(void)arg;
	(void)data;
	return -1;
}

int cli_set_flag(int opt, const char *arg, void *data)
{
	(void)opt;
	(void)arg;
	*(bool *)data = true;
	return 0;
}

const char *cli_one_id(const struct hk_command *cmd, int argc, char **argv, int *exit_status)
{
	if (argc - optind != 1) {
		cli_errorf("%s: expected exactly one container id, got %d argument%s", cmd->name,
			   argc - optind, argc - optind == 1 ? "" : "s");
		*exit_status = 1;
		return NULL;
	}
	return argv[optind];
}

int cli_parse_int(const char *flag, const char *s, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return cli_errorf("%s: \"%s\" is not a number in [%d, %d]", flag, s, min, max) ? -1
											       : -1;
	*out = (int)v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: husk [global options] COMMAND [options] [arguments]\n\n"
		   "husk runs OCI containers; its command line is runc's.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nGlobal options:\n"
		   "   --root DIR            state directory (default /run/husk; rootless,\n"
		   "                         $XDG_RUNTIME_DIR/husk)\n"
		   "   --log FILE            also write errors and debug output to FILE\n"
		   "   --log-format FORMAT   text (default) or json\n"
		   "   --debug               log debug output\n"
		   "   --systemd-cgroup      use systemd for cgroups (not supported yet)\n"
		   "   --rootless VALUE      skip cgroups husk cannot make or join: true,\n"
		   "                         false or auto (default: when rootless)\n"
		   "   --version, -v         print the version\n"
		   "   --help, -h            show this help\n");
}

static void version(void)
{
	printf("husk version %s\nspec: %s\n", HUSK_VERSION, HUSK_SPEC_VERSION);
}

/* runc's defaults: $XDG_RUNTIME_DIR/husk for an ordinary user (NULL when
 * it is not set), and for root inside a user namespace (a rootless
 * engine's runtime) unless $USER is root; /run/husk otherwise. */
static char *default_root(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *user = getenv("USER");
	bool use_xdg =
		xdg && *xdg &&
		(geteuid() != 0 || (!hk_initial_userns() && (!user || strcmp(user, "root") != 0)));

	if (use_xdg)
		return xasprintf("%s/husk", xdg);
	return geteuid() == 0 ? xstrdup("/run/husk") : NULL;
}

enum {
	OPT_ROOT = 1000,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_DEBUG,
	OPT_SYSTEMD,
	OPT_ROOTLESS,
	OPT_IGNORED
};

static const struct option global_opts[] = {
	{"root", required_argument, NULL, OPT_ROOT},
	{"log", required_argument, NULL, OPT_LOG},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"debug", no_argument, NULL, OPT_DEBUG},
	{"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
	{"rootless", required_argument, NULL, OPT_ROOTLESS},
	/* runc's flags that change nothing here: accepted for drop-in use. */
	{"criu", required_argument, NULL, OPT_IGNORED},
	{"version", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{0},
};

static bool one_of(const char *v, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(v, *words) == 0)
			return true;
	return false;
}

/* runc's --rootless: whether cgroups husk cannot make or join are skipped
 * (true) or an error (false); auto (or empty) decides by
 * common/rootless.h. Go's boolean spellings, as runc parses them. */
static int parse_rootless(const char *v)
{
	static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True", NULL};
	static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False", NULL};

	if (one_of(v, yes))
		hk_set_rootless_cgroups(HK_CG_BEST_EFFORT);
	else if (one_of(v, no))
		hk_set_rootless_cgroups(HK_CG_STRICT);
	else if (!*v || strcmp(v, "auto") == 0)
		hk_set_rootless_cgroups(HK_CG_AUTO);
	else
		return -1;
	return 0;
}

/* Returns -1 to go on with a command, or an exit status. */
static int parse_globals(int argc, char **argv, struct hk_globals *g)
{
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+vh", global_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_ROOT:
			g->root = optarg;
			break;
		case OPT_LOG:
			g->log = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0)
				return cli_errorf("--log-format: \"%s\" is not text or json",
						  optarg);
			g->log_format = optarg;
			break;
		case OPT_DEBUG:
			g->debug = true;
			break;
		case OPT_SYSTEMD:
			g->systemd_cgroup = true;
			break;
		case OPT_ROOTLESS:
			if (parse_rootless(optarg) < 0)
				return cli_errorf("--rootless: \"%s\" is not true, false or auto",
						  optarg);
			break;
		case OPT_IGNORED:
			break;
		case 'v':
			version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_errorf("unknown or incomplete global option \"%s\"",
					  argv[optind - 1]);
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct hk_globals g = {.log_format = "text"};
	_cleanup_free_ char *xdg_root = NULL;
	struct hk_err err = {0};

	/* Before husk opens anything: which fds --preserve-fds may pass. */
	hk_fds_record();
	/* Before any namespace is joined or made: husk's own. */
	hk_initial_userns();
	selfexe_init();
	int r = parse_globals(argc, argv, &g);
	if (r >= 0)
		return r;
	if (hk_log_init(g.log, strcmp(g.log_format, "json") == 0,
			g.debug ? HK_LOG_DEBUG : HK_LOG_WARN, &err) < 0)
		return cli_error(&err);
	if (g.systemd_cgroup)
		return cli_errorf(
			"--systemd-cgroup: the systemd cgroup driver is not supported yet by husk");
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *name = argv[optind];
	if (!g.root) {
		xdg_root = default_root();
		g.root = xdg_root;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i]->name, name) != 0)
			continue;
		if (!g.root && commands[i] != &cmd_spec)
			return cli_errorf(
				"no state directory: husk runs as uid %u, so it keeps state "
				"in $XDG_RUNTIME_DIR/husk; set XDG_RUNTIME_DIR or pass --root",
				(unsigned)geteuid());
		/* Before the command parses anything: argv is still as given. */
		if (commands[i]->protect_exe && selfexe_protect(argv, &err) < 0)
			return cli_error(&err);
		int status = commands[i]->run(&g, argc - optind, argv + optind);
		cli_esc_release();
		return status;
	}
	if (strcmp(name, "help") == 0) {
		usage(stdout);
		return 0;
	}
	return cli_errorf("unknown command \"%s\" (see husk --help)", name);
}
