/* husk launch (in husk-launch): parse docker-like options into
 * launch_opts, run the launch, print what happened. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
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
	{"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
	{"cache-dir", required_argument, NULL, OPT_CACHE},
	{"data-dir", required_argument, NULL, OPT_DATA},
	{"cleanup", required_argument, NULL, OPT_CLEANUP},
	{0},
};

struct cli_launch {
	struct launch_opts o;
	const char *cleanup;
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
	case OPT_PIDS: {
		int v;
		if (cli_parse_int("--pids-limit", arg, 1, 1 << 22, &v) < 0)
			return hk_fail(err, 0, "%s", "--pids-limit");
		o->pids = v;
		return 0;
	}
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
	default:
		return hk_fail(err, 0, "unexpected option");
	}
}

static int on_opt(int opt, const char *arg, void *data)
{
	struct cli_launch *c = data;
	struct launch_opts *o = &c->o;

	switch (opt) {
	case OPT_NAME:
		o->name = arg;
		break;
	case OPT_RM:
		o->rm = true;
		break;
	case 'd':
		o->detach = true;
		break;
	case 'i':
		o->interactive = true;
		break;
	case 't':
		o->tty = true;
		break;
	case 'e':
		add(&o->env, &o->n_env, arg);
		break;
	case 'w':
		o->workdir = arg;
		break;
	case 'u':
		o->user = arg;
		break;
	case OPT_HOSTNAME:
		o->hostname = arg;
		break;
	case 'p':
		add(&o->publish, &o->n_publish, arg);
		break;
	case 'P':
		o->publish_all = true;
		break;
	case OPT_BRIDGE:
		o->bridge = arg;
		break;
	case OPT_SUBNET:
		o->subnet = arg;
		break;
	case OPT_CAP_ADD:
		add(&o->cap_add, &o->n_cap_add, arg);
		break;
	case OPT_CAP_DROP:
		add(&o->cap_drop, &o->n_cap_drop, arg);
		break;
	case OPT_INIT:
		o->init = true;
		break;
	case OPT_NO_INIT:
		o->init = false;
		break;
	case OPT_KEEP:
		o->keep = true;
		break;
	case OPT_READ_ONLY:
		o->read_only = true;
		break;
	case OPT_ENTRYPOINT:
		o->entrypoint = arg;
		break;
	case OPT_CACHE:
		o->cache_dir = arg;
		break;
	case OPT_DATA:
		o->data_dir = arg;
		break;
	case OPT_CLEANUP:
		c->cleanup = arg;
		break;
	default:
		if (on_value(c, opt, arg) < 0)
			return cli_error(&c->err) ? -1 : -1;
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
	if (launch_cleanup(c->cleanup, c->o.keep, &err) < 0)
		return cli_error(&err);
	return 0;
}

static int run_launch(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_launch c = {.o = {.root = g->root, .init = true}};
	struct launch_opts *o = &c.o;
	int status = 1;

	if (cli_getopt(&cmd_launch, argc, argv, "dite:w:u:v:p:Pm:", longopts, on_opt, &c, &status))
		goto out;
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
	o->name = o->name ? xstrdup(o->name) : launch_new_id();
	o->cache_dir = o->cache_dir ? o->cache_dir : env_or("HUSK_CACHE", LAUNCH_CACHE_DIR);
	o->data_dir = o->data_dir ? o->data_dir : env_or("HUSK_DATA", LAUNCH_DATA_DIR);
	o->self = cli_companion_path(LAUNCH_BINARY);
	o->husk = cli_companion_path("husk");
	o->init_path = xstrdup(env_or("HUSK_INIT", ""));
	if (!*o->init_path) {
		free((char *)(uintptr_t)o->init_path);
		o->init_path = cli_companion_path("husk-init");
	}
	/* docker's default: no -i, no stdin */
	int null = o->interactive ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	if (launch_run(o, &status, &c.err) < 0)
		status = cli_error(&c.err) == 1 ? 125 : 125;
	else if (o->detach)
		printf("%s\n", o->name);
out:
	free_opts(o);
	return status;
}

const struct hk_command cmd_launch = {
	.name = "launch",
	.run = run_launch,
	.args = LAUNCH_ARGS,
	.summary = LAUNCH_SUMMARY,
	.options =
		"   --name NAME           the container's id (default: hk + 12 random hex digits)\n"
		"   --rm                  delete the container (and its writable layer) when it "
		"exits\n"
		"   -d, --detach          run in the background; print the id\n"
		"   -i, --interactive     keep stdin (otherwise /dev/null)\n"
		"   -t, --tty             a terminal for the program\n"
		"   -e, --env KEY[=VAL]   set an environment variable\n"
		"   -w, --workdir DIR     working directory\n"
		"   -u, --user UID[:GID]  user (numbers, or names from the container's "
		"/etc/passwd)\n"
		"   -v, --volume HOST:CTR[:ro]  bind a host path in\n"
		"   --hostname NAME       hostname (default: the id)\n"
		"   --net bridge|none|host|container:NAME  network (default bridge)\n"
		"   -p, --publish [IP:]HOST:CTR[/tcp|udp]  publish a port (bridge)\n"
		"   -P, --publish-all     publish the image's exposed ports on the same host "
		"ports\n"
		"   --bridge B, --subnet S  the bridge network to attach to\n"
		"   -m, --memory SIZE     memory limit (512m, 2g)\n"
		"   --cpus N              CPU limit (1.5)\n"
		"   --pids-limit N        process limit\n"
		"   --userns auto|host    auto: root in the container is an unused host range\n"
		"   --cap-add CAP, --cap-drop CAP  change the default capability set (ALL)\n"
		"   --security-opt seccomp=unconfined|FILE  seccomp profile (default: husk's)\n"
		"   --init, --no-init     husk-init as PID 1 (default) or not\n"
		"   --share NS,...        namespaces to leave shared with the host "
		"(pid,net,ipc,uts,cgroup)\n"
		"   --read-only           no writable layer\n"
		"   --keep                keep the writable layer when the container is deleted\n"
		"   --entrypoint CMD      replace the image's Entrypoint\n"
		"   --cache-dir DIR       unpacked layers (default $HUSK_CACHE, " LAUNCH_CACHE_DIR
		")\n"
		"   --data-dir DIR        containers' layers (default $HUSK_DATA, " LAUNCH_DATA_DIR
		")\n",
};
