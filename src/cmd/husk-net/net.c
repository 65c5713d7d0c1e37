/* husk net attach|detach|ls|gc: container networking, usable as OCI hooks
 * (createRuntime: attach; poststop: detach) by husk or any runtime. Built
 * into build/husk-net only: libmnl and libnftables have no static archives
 * in Debian, and the static husk execs husk-net for this command
 * (cmd/husk/companions.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cmd/husk-net/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "net/nat.h"
#include "net/net.h"
#include "runtime/state.h"
#include "spec/json.h"

#define STATE_MAX (1024 * 1024)
#define ANN_PREFIX "husk.net."

struct attach_opts {
	struct net_config cfg;
	struct net_port *ports;
	size_t n_ports;
	struct net_port *exposed; /* --publish-exposed: host ports to pick */
	size_t n_exposed;
	bool bridge_set, subnet_set;
	bool annotations; /* --annotations: read husk.net.* from the state */
	struct net_target t;
	char *id, *bridge, *subnet; /* owned: from the state's annotations */
};

enum {
	OPT_DIR = 1000,
	OPT_BRIDGE,
	OPT_SUBNET,
	OPT_MTU,
	OPT_ID,
	OPT_PID,
	OPT_NETNS,
	OPT_FORMAT,
	OPT_EXPOSED,
	OPT_ANNOTATIONS,
};

static const char *default_dir(void)
{
	const char *d = getenv("HUSK_NET_DIR");
	return d && *d ? d : NET_DIR_DEFAULT;
}

static int add_port(struct attach_opts *o, const char *spec)
{
	struct net_port p;
	struct hk_err err = {0};

	if (net_port_parse(spec, &p, &err) < 0)
		return cli_error(&err) ? -1 : -1;
	o->ports = xrealloc(o->ports, (o->n_ports + 1) * sizeof(*o->ports));
	o->ports[o->n_ports++] = p;
	return 0;
}

static int add_exposed(struct attach_opts *o, const char *key)
{
	struct net_port p;
	struct hk_err err = {0};

	if (net_exposed_parse(key, &p, &err) < 0)
		return cli_error(&err) ? -1 : -1;
	o->exposed = xrealloc(o->exposed, (o->n_exposed + 1) * sizeof(*o->exposed));
	o->exposed[o->n_exposed++] = p;
	return 0;
}

/* Several specs in one string, separated by commas or spaces. */
/* An annotation's ports, 64 at most (as -P's): an annotation may be an
 * image's (podman copies an image's into the spec), and each port is a
 * host port taken. */
#define ANN_PORTS_MAX 64

static int add_ports(struct attach_opts *o, const char *list)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	size_t n = 0;

	for (char *s = strtok_r(copy, ", \t\n", &save); s; s = strtok_r(NULL, ", \t\n", &save)) {
		if (++n > ANN_PORTS_MAX) {
			cli_errorf("more than %d ports", ANN_PORTS_MAX);
			return -1;
		}
		if (add_port(o, s) < 0)
			return -1;
	}
	return 0;
}

static int attach_opt(int opt, const char *arg, void *data)
{
	struct attach_opts *o = data;
	int v;

	switch (opt) {
	case OPT_DIR:
		o->cfg.dir = arg;
		return 0;
	case OPT_BRIDGE:
		o->cfg.bridge = arg;
		o->bridge_set = true;
		return 0;
	case OPT_SUBNET:
		o->cfg.subnet = arg;
		o->subnet_set = true;
		return 0;
	case OPT_MTU:
		if (cli_parse_int("--mtu", arg, 68, 65535, &v) < 0)
			return -1;
		o->cfg.mtu = (unsigned)v;
		return 0;
	case 'p':
		return add_port(o, arg);
	case OPT_EXPOSED:
		return add_exposed(o, arg);
	case OPT_ID:
		o->t.id = arg;
		return 0;
	case OPT_PID:
		if (cli_parse_int("--pid", arg, 1, 1 << 30, &v) < 0)
			return -1;
		o->t.pid = v;
		return 0;
	case OPT_NETNS:
		o->t.netns = arg;
		return 0;
	case OPT_ANNOTATIONS:
		o->annotations = true;
		return 0;
	default:
		return -1;
	}
}

static char *read_stdin(struct hk_err *err)
{
	if (isatty(STDIN_FILENO)) {
		hk_fail(err, 0,
			"no --id given and stdin is a terminal: expected the container's "
			"state JSON on stdin (as an OCI hook gets it)");
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 == cap)
			buf = xrealloc(buf, cap *= 2);
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || n + (size_t)r > STATE_MAX) {
			hk_fail(err, r < 0 ? errno : 0, "read the state on stdin%s",
				r > 0 ? ": too large" : "");
			if (r == 0)
				break;
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	hk_err_clear(err);
	return buf;
}

/* Options carried by the state's annotations: husk.net.bridge,
 * husk.net.subnet, husk.net.publish; the command line wins. Only with
 * --annotations: what an annotation says may be an image's (podman copies
 * an image's annotations into the spec), and an image must not pick its
 * network, another network's bridge or the host's ports (outside attack,
 * second round: F2). */
static int from_annotations(hk_json *root, struct attach_opts *o, struct hk_err *err)
{
	_cleanup_free_ char *publish = NULL;
	hk_json *ann = NULL;

	if (!o->annotations)
		return 0;
	if (hk_json_get_obj(root, "state", "annotations", &ann, err) <= 0)
		return err->msg[0] ? -1 : 0;
	if (hk_json_get_str(ann, "annotations", ANN_PREFIX "bridge", &o->bridge, err) < 0 ||
	    hk_json_get_str(ann, "annotations", ANN_PREFIX "subnet", &o->subnet, err) < 0 ||
	    hk_json_get_str(ann, "annotations", ANN_PREFIX "publish", &publish, err) < 0)
		return -1;
	if (o->bridge && !o->bridge_set)
		o->cfg.bridge = o->bridge;
	if (o->subnet && !o->subnet_set)
		o->cfg.subnet = o->subnet;
	if (publish && add_ports(o, publish) < 0)
		return hk_fail(err, 0, "annotation " ANN_PREFIX "publish");
	return 0;
}

/* The OCI state on stdin (runtime.md "State"): id; for attach also pid
 * (unless --netns names the namespace) and annotations. */
static int read_state(struct attach_opts *o, bool attach, struct hk_err *err)
{
	_cleanup_free_ char *text = read_stdin(err);
	int64_t pid = 0;
	int r = -1;

	if (!text)
		return -1;
	hk_json *root = hk_json_parse(text, strlen(text), "state on stdin", err);
	if (!root)
		return -1;
	if (hk_json_get_str(root, "state", "id", &o->id, err) <= 0) {
		if (!err->msg[0])
			hk_fail(err, 0, "state on stdin: no \"id\"");
		goto out;
	}
	o->t.id = o->id;
	/* attach by pid needs it; otherwise it tells the container from
	 * another one with the same id (net_lease_is_callers) */
	bool need_pid = attach && !o->t.netns;
	int got = hk_json_get_i64(root, "state", "pid", need_pid ? 1 : 0, 1 << 30, &pid, err);
	if (got < 0 || (need_pid && got == 0)) {
		if (!err->msg[0])
			hk_fail(err, 0,
				"state on stdin: no \"pid\" (the container must be created)");
		goto out;
	}
	o->t.pid = (pid_t)pid;
	r = attach ? from_annotations(root, o, err) : 0;
out:
	hk_json_put(root);
	return r;
}

static void attach_opts_free(struct attach_opts *o)
{
	free(o->ports);
	free(o->exposed);
	free(o->id);
	free(o->bridge);
	free(o->subnet);
}

static const struct option attach_longopts[] = {
	{"state-dir", required_argument, NULL, OPT_DIR},
	{"bridge", required_argument, NULL, OPT_BRIDGE},
	{"subnet", required_argument, NULL, OPT_SUBNET},
	{"mtu", required_argument, NULL, OPT_MTU},
	{"publish", required_argument, NULL, 'p'},
	{"publish-exposed", required_argument, NULL, OPT_EXPOSED},
	{"annotations", no_argument, NULL, OPT_ANNOTATIONS},
	{"id", required_argument, NULL, OPT_ID},
	{"pid", required_argument, NULL, OPT_PID},
	{"netns", required_argument, NULL, OPT_NETNS},
	{0},
};

extern const struct hk_command cmd_net_attach, cmd_net_detach, cmd_net_ls, cmd_net_gc;

static int attach_target(struct attach_opts *o, struct hk_err *err)
{
	if (!o->t.id)
		return read_state(o, true, err);
	if (state_validate_id(o->t.id, err) < 0)
		return -1;
	if (!o->t.pid && !o->t.netns)
		return hk_fail(err, 0, "--id needs --pid or --netns");
	return 0;
}

static int run_attach(const struct hk_globals *g, int argc, char **argv)
{
	struct attach_opts o = {.cfg = {.dir = default_dir(),
					.bridge = NET_BRIDGE_DEFAULT,
					.subnet = NET_SUBNET_DEFAULT,
					.mtu = NET_MTU_DEFAULT}};
	struct hk_err err = {0};
	struct net_lease l;
	int status = 1;

	(void)g;
	if (cli_getopt(&cmd_net_attach, argc, argv, "p:", attach_longopts, attach_opt, &o, &status))
		goto out;
	status = 1;
	if (optind != argc) {
		cli_errorf("net attach: unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (attach_target(&o, &err) < 0 ||
	    net_ports_add_exposed(&o.ports, &o.n_ports, o.exposed, o.n_exposed, &err) < 0) {
		cli_error(&err);
		goto out;
	}
	o.cfg.ports = o.ports;
	o.cfg.n_ports = o.n_ports;
	if (net_attach(&o.cfg, &o.t, &l, &err) < 0) {
		cli_error(&err);
		goto out;
	}
	net_lease_free(&l);
	status = 0;
out:
	attach_opts_free(&o);
	return status;
}

struct id_opts {
	const char *dir;
	const char *id;
	bool json, quiet;
};

static int id_opt(int opt, const char *arg, void *data)
{
	struct id_opts *o = data;

	switch (opt) {
	case OPT_DIR:
		o->dir = arg;
		return 0;
	case OPT_ID:
		o->id = arg;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case OPT_FORMAT:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "table") != 0)
			return cli_errorf("--format must be table or json, not \"%s\"", arg) ? -1
											     : -1;
		o->json = strcmp(arg, "json") == 0;
		return 0;
	default:
		return -1;
	}
}

static const struct option id_longopts[] = {
	{"state-dir", required_argument, NULL, OPT_DIR},
	{"id", required_argument, NULL, OPT_ID},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"quiet", no_argument, NULL, 'q'},
	{0},
};

static int parse_id_opts(const struct hk_command *cmd, int argc, char **argv, struct id_opts *o,
			 int *status)
{
	o->dir = default_dir();
	if (cli_getopt(cmd, argc, argv, "q", id_longopts, id_opt, o, status))
		return -1;
	if (optind != argc) {
		*status = cli_errorf("%s: unexpected argument \"%s\"", cmd->name, argv[optind]);
		return -1;
	}
	return 0;
}

static int run_detach(const struct hk_globals *g, int argc, char **argv)
{
	struct id_opts o = {0};
	struct attach_opts st = {0};
	struct hk_err err = {0};
	int status;

	(void)g;
	if (parse_id_opts(&cmd_net_detach, argc, argv, &o, &status) < 0)
		return status;
	if (!o.id) {
		if (read_state(&st, false, &err) < 0) {
			attach_opts_free(&st);
			return cli_error(&err);
		}
		o.id = st.id;
	}
	struct net_caller c = {.id = o.id, .hook = st.id != NULL, .pid = st.t.pid};
	int r = net_detach(o.dir, &c, &err);
	attach_opts_free(&st);
	return r < 0 ? cli_error(&err) : 0;
}

static void ports_str(const struct net_lease *l, char *buf, size_t size)
{
	char p[NET_PORT_STRLEN];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n_ports && len + NET_PORT_STRLEN + 1 < size; i++) {
		net_port_fmt(&l->ports[i], p);
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", p);
	}
}

static hk_json *lease_json(const struct net_lease *l)
{
	hk_json *j = hk_json_new_obj(), *ports = hk_json_new_arr();
	char a[NET_ADDR_STRLEN], s[NET_SUBNET_STRLEN], p[NET_PORT_STRLEN];

	net_addr_fmt(l->addr, a);
	net_subnet_fmt(&l->subnet, s);
	hk_json_set_str(j, "id", l->id);
	hk_json_set_str(j, "bridge", l->bridge);
	hk_json_set_str(j, "subnet", s);
	hk_json_set_str(j, "address", a);
	hk_json_set_str(j, "veth", l->veth);
	hk_json_set_int(j, "pid", l->pid);
	if (l->netns)
		hk_json_set_str(j, "netns", l->netns);
	hk_json_set_bool(j, "alive", net_lease_alive(l));
	for (size_t i = 0; i < l->n_ports; i++) {
		net_port_fmt(&l->ports[i], p);
		hk_json_append(ports, hk_json_new_str(p));
	}
	hk_json_set(j, "ports", ports);
	return j;
}

static void print_leases(const struct net_lease *v, size_t n, const struct id_opts *o)
{
	char a[NET_ADDR_STRLEN], ports[1024];

	if (o->json) {
		hk_json *arr = hk_json_new_arr();
		for (size_t i = 0; i < n; i++)
			hk_json_append(arr, lease_json(&v[i]));
		cli_print_json(arr, 0);
		hk_json_put(arr);
		return;
	}
	if (!o->quiet)
		printf("%-24s %-15s %-15s %-7s %s\n", "ID", "BRIDGE", "ADDRESS", "STATUS", "PORTS");
	for (size_t i = 0; i < n; i++) {
		if (o->quiet) {
			printf("%s\n", cli_esc(v[i].id));
			continue;
		}
		net_addr_fmt(v[i].addr, a);
		ports_str(&v[i], ports, sizeof(ports));
		printf("%-24s %-15s %-15s %-7s %s\n", cli_esc(v[i].id), cli_esc(v[i].bridge), a,
		       net_lease_alive(&v[i]) ? "alive" : "gone", ports);
	}
}

static int run_ls(const struct hk_globals *g, int argc, char **argv)
{
	struct id_opts o = {0};
	struct hk_err err = {0};
	struct net_lease *v;
	size_t n;
	int status;

	(void)g;
	if (parse_id_opts(&cmd_net_ls, argc, argv, &o, &status) < 0)
		return status;
	if (net_list(o.dir, &v, &n, &err) < 0)
		return cli_error(&err);
	print_leases(v, n, &o);
	net_leases_free(v, n);
	return 0;
}

static int run_gc(const struct hk_globals *g, int argc, char **argv)
{
	struct id_opts o = {0};
	struct hk_err err = {0};
	struct net_gc gone;
	int status;

	(void)g;
	if (parse_id_opts(&cmd_net_gc, argc, argv, &o, &status) < 0)
		return status;
	int r = net_gc(o.dir, &gone, &err);
	for (size_t i = 0; i < gone.n_ids; i++)
		printf("removed %s\n", cli_esc(gone.ids[i]));
	for (size_t i = 0; i < gone.n_bridges; i++)
		printf("removed bridge %s\n", cli_esc(gone.bridges[i]));
	if (gone.table)
		printf("removed nftables table ip %s\n", NET_NFT_TABLE);
	net_gc_clear(&gone);
	return r < 0 ? cli_error(&err) : 0;
}

#define DIR_HELP                                                                                 \
	"   --state-dir DIR       leases and lock (default $HUSK_NET_DIR, else " NET_DIR_DEFAULT \
	")\n"

const struct hk_command cmd_net_attach = {
	.name = "net attach",
	.run = run_attach,
	.args = "[options]",
	.summary = "attach a container (createRuntime hook: its state JSON on stdin)",
	.options = DIR_HELP
	"   --bridge NAME         bridge (default " NET_BRIDGE_DEFAULT "), made when missing\n"
	"   --subnet CIDR         the bridge's subnet (default " NET_SUBNET_DEFAULT ")\n"
	"   --mtu N               MTU of the veth pair (default 1500)\n"
	"   --publish, -p SPEC    [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp], repeatable\n"
	"   --publish-exposed P   PORT[/tcp|udp] on a host port the kernel picks (what\n"
	"                         launch -P does for each port the image exposes; at\n"
	"                         most 64, none a -p maps already), repeatable\n"
	"   --id ID               the container, instead of the state on stdin, with\n"
	"   --pid PID             a process in its network namespace, or\n"
	"   --netns PATH          its network namespace (e.g. /run/netns/NAME)\n"
	"   --annotations         take husk.net.bridge, husk.net.subnet and\n"
	"                         husk.net.publish (comma separated, 64 ports at most)\n"
	"                         from the state's annotations too; the command line\n"
	"                         wins. Only where no image can set them: podman copies\n"
	"                         an image's annotations into the container's\n"
	"                         config\n"
	"A host port in use on the host is refused; a published one stays bound by a\n"
	"husk-ports process until the container exits or detach.\n",
};

const struct hk_command cmd_net_detach = {
	.name = "net detach",
	.run = run_detach,
	.args = "[options]",
	.summary = "release everything of a container (poststop hook: state JSON on stdin)",
	.options = DIR_HELP
	"   --id ID               the container, by id alone, instead of the state on\n"
	"                         stdin (whose pid must be the record's, or, with none,\n"
	"                         the record's container gone: another container may\n"
	"                         have the same id)\n",
};

const struct hk_command cmd_net_ls = {
	.name = "net ls",
	.run = run_ls,
	.args = "[options]",
	.summary = "list attached containers, addresses and ports",
	.options = DIR_HELP "   --format FORMAT       table (default) or json\n"
			    "   --quiet, -q           print only the ids\n",
};

const struct hk_command cmd_net_gc = {
	.name = "net gc",
	.run = run_gc,
	.args = "[options]",
	.summary = "detach every container that no longer exists (after a crash); remove "
		   "the bridges husk made that no container uses, and husk's nftables table "
		   "when nothing uses it",
	.options = DIR_HELP,
};

static const struct hk_command *const subcommands[] = {
	&cmd_net_attach,
	&cmd_net_detach,
	&cmd_net_ls,
	&cmd_net_gc,
};

static void net_usage(FILE *f)
{
	fprintf(f, "Usage: husk net COMMAND [options]\n\nContainer networking: a bridge, veth "
		   "pairs, addresses, NAT and published ports.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "   %-8s %s\n", subcommands[i]->name + 4, subcommands[i]->summary);
}

static int run_net(const struct hk_globals *g, int argc, char **argv)
{
	if (argc < 2) {
		net_usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		net_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(subcommands[i]->name + 4, argv[1]) == 0)
			return subcommands[i]->run(g, argc - 1, argv + 1);
	return cli_errorf("net: unknown command \"%s\" (see husk net --help)", argv[1]);
}

const struct hk_command cmd_net = {
	.name = "net",
	.run = run_net,
	.args = "COMMAND [options]",
	.summary = "container networking (attach, detach, ls, gc)",
	.options = "",
};
