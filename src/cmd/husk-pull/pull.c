/* husk pull (in husk-pull): IMAGE from its registry into the image cache
 * and the store of images by name (registry/registry.h, image/store.h). Like
 * podman pull: the image's id on stdout, what is downloaded on stderr,
 * 125 when the pull failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-pull/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "cmd/husk-pull/progress.h"
#include "registry/registry.h"
#include "launch/launch.h"
#include "launch/user.h"

enum { OPT_CACHE = 1000, OPT_AUTHFILE, OPT_CREDS, OPT_TLS_VERIFY, OPT_CERT_DIR };

static const struct option longopts[] = {
	{"cache-dir", required_argument, NULL, OPT_CACHE},
	{"authfile", required_argument, NULL, OPT_AUTHFILE},
	{"creds", required_argument, NULL, OPT_CREDS},
	{"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
	{"cert-dir", required_argument, NULL, OPT_CERT_DIR},
	{"quiet", no_argument, NULL, 'q'},
	{0},
};

struct cli_pull {
	struct reg_opts o;
	const char *cache_dir;
	bool quiet;
};

static int on_opt(int opt, const char *arg, void *data)
{
	struct cli_pull *c = data;

	switch (opt) {
	case OPT_CACHE:
		c->cache_dir = arg;
		return 0;
	case OPT_AUTHFILE:
		c->o.authfile = arg;
		return 0;
	case OPT_CREDS:
		c->o.creds = arg;
		return 0;
	case OPT_CERT_DIR:
		c->o.cert_dir = arg;
		return 0;
	case OPT_TLS_VERIFY:
		if (arg && strcmp(arg, "true") != 0 && strcmp(arg, "false") != 0) {
			cli_errorf("pull: --tls-verify=%s: expected true or false", arg);
			return -1;
		}
		c->o.tls_verify = !arg || strcmp(arg, "true") == 0;
		return 0;
	case 'q':
		c->quiet = true;
		return 0;
	default:
		return -1;
	}
}

static int run_pull(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_pull c = {.o = {.tls_verify = true}};
	struct hk_err err = {0};
	char id[65];
	int status = 125;

	(void)g;
	if (cli_getopt(&cmd_pull, argc, argv, "q", longopts, on_opt, &c, &status))
		return status ? 125 : 0;
	if (argc - optind != 1) {
		cli_errorf("pull: expected one IMAGE");
		return 125;
	}
	/* an ordinary user's launch unpacks layers in its user namespace,
	 * where their owners map; unpacked out here they would all be the
	 * user's */
	if (launch_by_user()) {
		cli_errorf("pull %s: not yet as an ordinary user (layers are unpacked in "
			   "launch's user namespace; pull as root, or launch an image archive)",
			   argv[optind]);
		return 125;
	}
	_cleanup_free_ char *dflt = c.cache_dir ? NULL : pull_default_cache(&err);
	if (!c.cache_dir && !dflt) {
		cli_error(&err);
		return 125;
	}
	struct progress pg;
	progress_init(&pg, c.quiet);
	struct reg_progress shown = {.layer = progress_add, .waiting = progress_wait, .data = &pg};
	c.o.progress = &shown;
	int r = reg_pull(argv[optind], c.cache_dir ? c.cache_dir : dflt, &c.o, id, &err);
	progress_finish(&pg);
	if (r < 0) {
		cli_error(&err);
		return 125;
	}
	printf("%s\n", id); /* podman pull: the image id, bare */
	return fflush(stdout) == 0 ? 0 : 125;
}

const struct hk_command cmd_pull = {
	.name = "pull",
	.no_state = true,
	.run = run_pull,
	.args = PULL_ARGS,
	.summary = PULL_SUMMARY,
	.options =
		"   --cache-dir DIR       the image cache (default $HUSK_CACHE, " LAUNCH_CACHE_DIR
		")\n"
		"   --authfile FILE       credentials (default: $REGISTRY_AUTH_FILE,\n"
		"                         $XDG_RUNTIME_DIR/containers/auth.json, "
		"~/.docker/config.json)\n"
		"   --creds USER[:PASS]   credentials on the command line\n"
		"   --tls-verify[=BOOL]   check the registry's certificate (default true; "
		"false\n"
		"                         also allows plain http)\n"
		"   -q, --quiet           no line per layer\n",
};
