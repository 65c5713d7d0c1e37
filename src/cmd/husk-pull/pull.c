/* husk pull (in husk-pull): IMAGE from its registry into the image cache
 * and the store of images by name (registry/registry.h, image/store.h). Like
 * podman pull: the image's id on stdout, what is downloaded on stderr,
 * 125 when the pull failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-pull/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "cmd/husk-pull/progress.h"
#include "image/image.h"
#include "image/ref.h"
#include "registry/registry.h"
#include "launch/launch.h"
#include "launch/user.h"

enum { OPT_CACHE = 1000, OPT_AUTHFILE, OPT_CREDS, OPT_TLS_VERIFY, OPT_CERT_DIR, OPT_MAX_RATIO };

static const struct option longopts[] = {
	{"cache-dir", required_argument, NULL, OPT_CACHE},
	{"authfile", required_argument, NULL, OPT_AUTHFILE},
	{"creds", required_argument, NULL, OPT_CREDS},
	{"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
	{"cert-dir", required_argument, NULL, OPT_CERT_DIR},
	{"max-layer-ratio", required_argument, NULL, OPT_MAX_RATIO},
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
	case OPT_MAX_RATIO: {
		struct hk_err err = {0};
		if (img_parse_ratio(arg, &c->o.max_ratio, &err) < 0) {
			cli_errorf("pull: %s", err.msg);
			return -1;
		}
		return 0;
	}
	case 'q':
		c->quiet = true;
		return 0;
	default:
		return -1;
	}
}

/* A directory looked at (trusted.h) before the user namespace, so that
 * those of its parents that are root's are known as such in it, where root
 * shows as nobody; one that is not there, or not trusted, is told no more
 * (the walk in the namespace fails on it as it would here). */
static void look_at(const char *what, const char *path)
{
	struct hk_err ignored = {0};

	if (!path || !*path)
		return;
	int fd = hk_open_trusted_dir(what, path, false, 0700, &ignored);
	if (fd >= 0)
		close(fd);
}

/* An ordinary user's pull unpacks the layers in the user's namespace, as
 * the user's launch does (launch/user.h), so that their owners are the
 * namespace's ids: the same namespace launch makes (root the user, 1 and
 * up the subordinate ids), made here the same way. The cache and where
 * the credentials are are walked first. */
static int enter_user(const char *cache, const struct cli_pull *c, struct hk_err *err)
{
	bool ranged;

	hk_trusted_record_roots();
	int fd = hk_open_trusted_dir("--cache-dir", cache, true, 0700, err);
	if (fd < 0)
		return hk_err_prefix(err, "pull");
	close(fd);
	look_at("$XDG_RUNTIME_DIR", getenv("XDG_RUNTIME_DIR"));
	look_at("$HOME", getenv("HOME"));
	look_at("--cert-dir", c->o.cert_dir);
	const char *files[] = {c->o.authfile, getenv("REGISTRY_AUTH_FILE")};
	for (size_t i = 0; i < 2; i++) {
		if (!files[i])
			continue;
		_cleanup_free_ char *dir = xstrdup(files[i]);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			look_at("--authfile", dir);
		}
	}
	return launch_user_enter(false, &ranged, err);
}

/* The reference after the short-name aliases, and the TLS material for its
 * registry. */
static int resolve(const char *image, struct img_ref *ref, struct reg_opts *o, struct reg_tls *tls,
		   struct hk_err *err)
{
	if (img_ref_parse_alias(image, NULL, ref, err) < 0)
		return hk_err_prefix(err, "pull %s", image);
	if (reg_tls_load(ref->domain, o->cert_dir, tls, err) < 0)
		return hk_err_prefix(err, "pull %s", image);
	o->tls = tls;
	return 0;
}

static int run_pull(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_pull c = {.o = {.tls_verify = true, .max_ratio = IMG_RATIO_DEFAULT}};
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
	_cleanup_free_ char *dflt = c.cache_dir ? NULL : pull_default_cache(&err);
	struct img_ref ref = {0};
	struct reg_tls tls = {0};
	int r = -1;
	/* what configures the pull is read here, on the host, before an
	 * ordinary user's namespace */
	if ((c.cache_dir || dflt) && resolve(argv[optind], &ref, &c.o, &tls, &err) == 0 &&
	    (!launch_by_user() || enter_user(c.cache_dir ? c.cache_dir : dflt, &c, &err) == 0)) {
		struct progress pg;
		progress_init(&pg, c.quiet);
		struct reg_progress shown = {
			.layer = progress_add, .waiting = progress_wait, .data = &pg};
		c.o.progress = &shown;
		r = reg_pull(argv[optind], &ref, c.cache_dir ? c.cache_dir : dflt, &c.o, id, &err);
		progress_finish(&pg);
	}
	img_ref_clear(&ref);
	reg_tls_clear(&tls);
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
		"   --cert-dir DIR        CA certificates (*.crt), a client's (*.cert, *.key)\n"
		"                         (default: certs.d/HOST:PORT of ~/.config/containers,\n"
		"                         /etc/containers, /etc/docker)\n"
		"   --max-layer-ratio N   a layer may unpack to N times its size (64 MiB at "
		"least;\n"
		"                         default 100, 0: no bound)\n"
		"   -q, --quiet           no line per layer\n",
};
