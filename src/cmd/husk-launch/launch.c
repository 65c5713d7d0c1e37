/* husk launch (husk-launch's command): parse docker-like options into
 * launch_opts, run the launch, print what happened. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-launch/commands.h"
#include "cmd/husk-launch/pull.h"
#include "common/log.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "launch/launch.h"

enum {
	OPT_NAME = 1000,
	OPT_RM,
	OPT_HOSTNAME,
	OPT_NET,
	OPT_BRIDGE,
	OPT_SUBNET,
	OPT_CPUS,
	OPT_PIDS,
	OPT_USERNS,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_SECURITY,
	OPT_INIT,
	OPT_NO_INIT,
	OPT_SHARE,
	OPT_KEEP,
	OPT_READ_ONLY,
	OPT_ENTRYPOINT,
	OPT_CACHE,
	OPT_DATA,
	OPT_CLEANUP,
	OPT_LOG_OPT,
	OPT_OWNER,
	OPT_PULL,
	OPT_AUTHFILE,
	OPT_CREDS,
	OPT_TLS_VERIFY,
	OPT_CERT_DIR,
	OPT_RO_TMPFS,
	OPT_MAX_RATIO,
};

static const struct option longopts[] = {
	{"name", required_argument, NULL, OPT_NAME},
	{"rm", no_argument, NULL, OPT_RM},
	{"detach", no_argument, NULL, 'd'},
	{"interactive", no_argument, NULL, 'i'},
	{"tty", no_argument, NULL, 't'},
	{"env", required_argument, NULL, 'e'},
	{"workdir", required_argument, NULL, 'w'},
	{"user", required_argument, NULL, 'u'},
	{"volume", required_argument, NULL, 'v'},
	{"hostname", required_argument, NULL, OPT_HOSTNAME},
	{"net", required_argument, NULL, OPT_NET},
	{"network", required_argument, NULL, OPT_NET},
	{"publish", required_argument, NULL, 'p'},
	{"publish-all", no_argument, NULL, 'P'},
	{"bridge", required_argument, NULL, OPT_BRIDGE},
	{"subnet", required_argument, NULL, OPT_SUBNET},
	{"memory", required_argument, NULL, 'm'},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"pids-limit", required_argument, NULL, OPT_PIDS},
	{"userns", required_argument, NULL, OPT_USERNS},
	{"cap-add", required_argument, NULL, OPT_CAP_ADD},
	{"cap-drop", required_argument, NULL, OPT_CAP_DROP},
	{"security-opt", required_argument, NULL, OPT_SECURITY},
	{"init", no_argument, NULL, OPT_INIT},
	{"no-init", no_argument, NULL, OPT_NO_INIT},
	{"share", required_argument, NULL, OPT_SHARE},
	{"keep", no_argument, NULL, OPT_KEEP},
	{"read-only", no_argument, NULL, OPT_READ_ONLY},
	{"read-only-tmpfs", optional_argument, NULL, OPT_RO_TMPFS},
	{"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
	{"cache-dir", required_argument, NULL, OPT_CACHE},
	{"data-dir", required_argument, NULL, OPT_DATA},
	{"cleanup", required_argument, NULL, OPT_CLEANUP},
	{"log-opt", required_argument, NULL, OPT_LOG_OPT},
	{"owner", required_argument, NULL, OPT_OWNER},
	{"pull", required_argument, NULL, OPT_PULL},
	{"authfile", required_argument, NULL, OPT_AUTHFILE},
	{"creds", required_argument, NULL, OPT_CREDS},
	{"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
	{"cert-dir", required_argument, NULL, OPT_CERT_DIR},
	{"max-layer-ratio", required_argument, NULL, OPT_MAX_RATIO},
	{0},
};

struct cli_launch {
	struct launch_opts o;
	const char *cleanup;
	const char *owner; /* --cleanup's --owner */
	struct cli_pull_opts pull;
	struct hk_err err;
};

static void add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = (char *)(uintptr_t)s;
	(*v)[*n] = NULL;
}

static int on_value(struct cli_launch *c, int opt, const char *arg)
{
	struct launch_opts *o = &c->o;
	struct hk_err *err = &c->err;

	switch (opt) {
	case 'v':
		o->volumes = xrealloc(o->volumes, (o->n_volumes + 1) * sizeof(*o->volumes));
		return launch_parse_volume(arg, &o->volumes[o->n_volumes++], err);
	case OPT_NET:
		return launch_parse_net(arg, o, err);
	case 'm':
		return launch_parse_size(arg, &o->memory, err);
	case OPT_CPUS:
		return launch_parse_cpus(arg, &o->cpu_quota, err);
	case OPT_USERNS:
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "host") != 0)
			return hk_fail(err, 0, "--userns: \"%s\" is not auto or host", arg);
		o->userns_auto = strcmp(arg, "auto") == 0;
		return 0;
	case OPT_SECURITY:
		if (strncmp(arg, "seccomp=", 8) != 0 || !arg[8])
			return hk_fail(err, 0,
				       "--security-opt: \"%s\" is not seccomp=unconfined|FILE",
				       arg);
		o->seccomp = arg + 8;
		return 0;
	case OPT_SHARE:
		return launch_parse_share(arg, &o->share, err);
	case OPT_LOG_OPT:
		return launch_parse_log_opt(arg, &o->log, err);
	case OPT_MAX_RATIO: /* husk-pull is told it too */
		c->pull.max_ratio = arg;
		return img_parse_ratio(arg, &o->max_ratio, err);
	default:
		return hk_fail(err, 0, "unexpected option");
	}
}

#define OFF(field) offsetof(struct launch_opts, field)

/* Options that set a string, a flag, or add to a list of launch_opts. */
static const struct {
	int opt;
	size_t off;
} str_opts[] = {
	{OPT_NAME, OFF(name)},
	{'w', OFF(workdir)},
	{'u', OFF(user)},
	{OPT_HOSTNAME, OFF(hostname)},
	{OPT_BRIDGE, OFF(bridge)},
	{OPT_SUBNET, OFF(subnet)},
	{OPT_ENTRYPOINT, OFF(entrypoint)},
	{OPT_CACHE, OFF(cache_dir)},
	{OPT_DATA, OFF(data_dir)},
};

static const struct {
	int opt;
	size_t off;
	bool value;
} flag_opts[] = {
	{OPT_RM, OFF(rm), true},
	{'d', OFF(detach), true},
	{'i', OFF(interactive), true},
	{'t', OFF(tty), true},
	{'P', OFF(publish_all), true},
	{OPT_INIT, OFF(init), true},
	{OPT_NO_INIT, OFF(init), false},
	{OPT_KEEP, OFF(keep), true},
	{OPT_READ_ONLY, OFF(read_only), true},
};

static const struct {
	int opt;
	size_t off, count;
} list_opts[] = {
	{'e', OFF(env), OFF(n_env)},
	{'p', OFF(publish), OFF(n_publish)},
	{OPT_CAP_ADD, OFF(cap_add), OFF(n_cap_add)},
	{OPT_CAP_DROP, OFF(cap_drop), OFF(n_cap_drop)},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int on_opt(int opt, const char *arg, void *data)
{
	struct cli_launch *c = data;
	char *base = (char *)&c->o;

	if (opt == OPT_RO_TMPFS) {
		if (arg && strcmp(arg, "true") != 0 && strcmp(arg, "false") != 0) {
			cli_errorf("launch: --read-only-tmpfs=%s: expected true or false",
				   cli_esc(arg));
			return -1;
		}
		c->o.no_ro_tmpfs = arg && strcmp(arg, "false") == 0;
		return 0;
	}
	if (opt == OPT_CLEANUP || opt == OPT_OWNER) {
		*(opt == OPT_CLEANUP ? &c->cleanup : &c->owner) = arg;
		return 0;
	}
	if (opt >= OPT_PULL && opt <= OPT_CERT_DIR) {
		const char **dst[] = {&c->pull.policy, &c->pull.authfile, &c->pull.creds,
				      &c->pull.tls_verify, &c->pull.cert_dir};
		*dst[opt - OPT_PULL] = arg ? arg : "true";
		return 0;
	}
	for (size_t i = 0; i < N(str_opts); i++)
		if (str_opts[i].opt == opt) {
			*(const char **)(base + str_opts[i].off) = arg;
			return 0;
		}
	for (size_t i = 0; i < N(flag_opts); i++)
		if (flag_opts[i].opt == opt) {
			*(bool *)(base + flag_opts[i].off) = flag_opts[i].value;
			return 0;
		}
	for (size_t i = 0; i < N(list_opts); i++)
		if (list_opts[i].opt == opt) {
			add((char ***)(base + list_opts[i].off),
			    (size_t *)(base + list_opts[i].count), arg);
			return 0;
		}
	if (opt == OPT_PIDS) {
		int v;
		/* -1 (and 0, as docker) for no limit */
		if (cli_parse_int("--pids-limit", arg, -1, 1 << 22, &v) < 0)
			return -1;
		c->o.pids = v > 0 ? v : 0;
		return 0;
	}
	if (on_value(c, opt, arg) < 0) {
		cli_error(&c->err);
		return -1;
	}
	return 0;
}

static void free_opts(struct launch_opts *o)
{
	for (size_t i = 0; i < o->n_volumes; i++)
		launch_volume_clear(&o->volumes[i]);
	free(o->volumes);
	free(o->env);
	free(o->publish);
	free(o->cap_add);
	free(o->cap_drop);
	free((char *)(uintptr_t)o->name);
	free((char *)(uintptr_t)o->self);
	free((char *)(uintptr_t)o->husk);
	free((char *)(uintptr_t)o->init_path);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

static int cleanup_hook(struct cli_launch *c)
{
	struct hk_err err = {0};
	if (launch_cleanup(c->cleanup, c->o.keep, c->owner, NULL, &err) < 0)
		return cli_error(&err);
	return 0;
}

static int run_launch(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_launch c = {.o = {.root = g->root,
				     .init = true,
				     .pids = LAUNCH_PIDS_DEFAULT,
				     .max_ratio = IMG_RATIO_DEFAULT,
				     .log = {LAUNCH_LOG_MAX_SIZE, LAUNCH_LOG_MAX_FILES}}};
	struct launch_opts *o = &c.o;
	int status = 1;
	_cleanup_free_ char *image = NULL;

	int bad = cli_getopt(&cmd_launch, argc, argv, "dite:w:u:v:p:Pm:", longopts, on_opt, &c,
			     &status);
	/* --name points into argv until here: free_opts frees a copy */
	o->name = o->name && !bad ? xstrdup(o->name) : NULL;
	if (bad) {
		/* docker run's 125 for a launch that failed, --help's 0 */
		status = status ? 125 : 0;
		goto out;
	}
	if (c.cleanup) {
		status = cleanup_hook(&c);
		goto out;
	}

	if (optind >= argc) {
		status = cli_errorf("launch: expected SOURCE (a root filesystem directory or an "
				    "OCI image)");
		goto out;
	}
	o->source = argv[optind];
	o->args = argv + optind + 1;
	o->n_args = (size_t)(argc - optind - 1);
	o->name = o->name ? o->name : launch_new_id();
	/* NULL: launch's default, root's or the user's */
	o->cache_dir = o->cache_dir ? o->cache_dir : env_or("HUSK_CACHE", NULL);
	o->data_dir = o->data_dir ? o->data_dir : env_or("HUSK_DATA", NULL);
	o->self = cli_companion_path(LAUNCH_BINARY);
	o->husk = cli_companion_path(HUSK_BINARY);
	o->init_path = xstrdup(env_or("HUSK_INIT", ""));
	if (!*o->init_path) {
		free((char *)(uintptr_t)o->init_path);
		o->init_path = cli_companion_path(INIT_BINARY);
	}
	if (cli_launch_image(g, &c.pull, o->source, o->cache_dir, &image) < 0) {
		status = 125;
		goto out;
	}
	o->source = image ? image : o->source;
	/* docker's default: no -i, no stdin (with fd 0 closed, open gives 0,
	 * to keep: closed, the after-care's socket took its place and the
	 * program ran without a stdin: outside attack, twelfth round, F2) */
	int null = o->interactive ? -1 : open("/dev/null", O_RDONLY);
	if (null > 0) {
		dup2(null, 0);
		close(null);
	}
	o->aftercare = aftercare_start();
	cleanup_serve_locally(o->self, o->aftercare);
	if (launch_run(o, &status, &c.err) < 0) {
		/* docker run's convention: 125 when the launch itself failed,
		 * so it cannot be taken for the program's own status */
		cli_error(&c.err);
		status = 125;
	} else if (o->detach && (printf("%s\n", o->name) < 0 || fflush(stdout) == EOF)) {
		/* the container runs all the same: say which (round 18, F1) */
		hk_log(HK_LOG_WARN,
		       "launch: container %s is running; its name could not be "
		       "written to standard output (%s)",
		       o->name, strerror(errno));
		clearerr(stdout);
		__fpurge(stdout);
	}
	aftercare_end(o->aftercare);
out:
	free_opts(o);
	return status;
}

const struct hk_command cmd_launch = {
	.protect_exe = true,
	.name = "launch",
	.run = run_launch,
	.args = LAUNCH_ARGS,
	.summary = LAUNCH_SUMMARY,
	.options =
		"   --name NAME           the container's id (default: hk + 12 random hex digits)\n"
		"   --rm                  delete the container (and its writable layer) when it "
		"exits\n"
		"   -d, --detach          run in the background; print the id\n"
		"   --log-opt max-size=SIZE|max-file=N  -d's output.log: rotated at SIZE "
		"(default 10m),\n"
		"                         N files kept (default 3)\n"
		"   -i, --interactive     keep stdin (otherwise /dev/null)\n"
		"   -t, --tty             a terminal for the program\n"
		"   -e, --env KEY[=VAL]   set an environment variable\n"
		"   -w, --workdir DIR     working directory\n"
		"   -u, --user UID[:GID]  user (numbers, or names from the container's "
		"/etc/passwd)\n"
		"   -v, --volume HOST:CTR[:ro]  bind a host path in\n"
		"   --hostname NAME       hostname (default: the id)\n"
		"   --net bridge|pasta|none|host|container:NAME  network (default bridge; "
		"pasta for\n"
		"                         an ordinary user, who cannot have bridge)\n"
		"   -p, --publish [IP:]HOST:CTR[/tcp|udp]  publish a port (bridge, pasta)\n"
		"   -P, --publish-all     publish the image's exposed ports on random host "
		"ports\n"
		"   --bridge B, --subnet S  the bridge network to attach to\n"
		"   -m, --memory SIZE     memory limit (512m, 2g)\n"
		"   --cpus N              CPU limit (1.5)\n"
		"   --pids-limit N        process limit (default 2048, as podman's, none for a "
		"user; -1: none)\n"
		"   --userns auto|host    auto: root in the container is an unused host range "
		"(a user:\n"
		"                         the user's own subordinate ids, required)\n"
		"   --cap-add CAP, --cap-drop CAP  change the default capability set (ALL)\n"
		"   --security-opt seccomp=unconfined|FILE  seccomp profile (default: husk's)\n"
		"   --init, --no-init     husk-init as PID 1 (default) or not\n"
		"   --share NS,...        namespaces to leave shared with the host "
		"(pid,net,ipc,uts,cgroup)\n"
		"   --read-only           no writable layer\n"
		"   --read-only-tmpfs[=BOOL]  with --read-only, tmpfs on /run, /tmp and /var/tmp\n"
		"                         (default true, as podman)\n"
		"   --keep                keep the writable layer when the container is deleted\n"
		"   --entrypoint CMD      replace the image's Entrypoint\n"
		"   --cache-dir DIR       unpacked layers (default $HUSK_CACHE, " LAUNCH_CACHE_DIR
		";\n                         a user's " LAUNCH_USER_CACHE_DIR ")\n"
		"   --data-dir DIR        containers' layers (default $HUSK_DATA, " LAUNCH_DATA_DIR
		";\n                         a user's " LAUNCH_USER_DATA_DIR ")\n"
		"   --pull always|missing|never  pull SOURCE, an image reference, from its "
		"registry\n"
		"                         (default missing; husk pull's options:)\n"
		"   --authfile FILE, --creds USER[:PASS], --tls-verify[=BOOL], --cert-dir DIR\n"
		"   --max-layer-ratio N   a layer may unpack to N times its size (64 MiB at "
		"least;\n"
		"                         default 100, 0: no bound)\n",
};
