/* husk-net as a CNI plugin (the CNI specification, 1.0.0): run with
 * CNI_COMMAND in its environment, as containerd's CRI, podman or any CNI
 * runtime runs the plugins of a network's configuration, it gives the
 * container husk's bridge network, as `husk net attach --netns` does:
 *
 *   ADD      a veth pair on the bridge (made when missing), a lease, NAT,
 *            the runtime's portMappings published; the result on stdout
 *   DEL      all of it removed; nothing there is no error
 *   CHECK    the lease is there, for this namespace, which still exists
 *   VERSION  the versions this plugin speaks
 *
 * With "type": "loopback" (husk-net installed as `loopback` too, which
 * containerd's CRI runs for every pod), ADD sets lo up in the namespace and
 * DEL and CHECK have nothing to do.
 *
 * The network configuration (stdin) may set "bridge", "subnet", "mtu" and
 * "stateDir" (the leases; default husk-net's own); anything else of the
 * plugin's is refused, as the spec wants unknown fields to be. The
 * container id names the lease. Errors go to stdout as the spec's error
 * object, with exit status 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd/husk-net/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "net/net.h"
#include "netinfo/ipam.h"
#include "netinfo/lease.h"
#include "netinfo/ports.h"
#include "runtime/state.h"
#include "spec/json.h"

#define CONF_MAX (1 << 20)

/* The spec's error codes. */
enum {
	CNI_ERR_VERSION = 1,
	CNI_ERR_FIELD = 2,
	CNI_ERR_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_PLUGIN = 100,
};

static const char *const versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

struct cni {
	const char *command, *id, *netns, *ifname;
	char *version; /* the configuration's cniVersion */
	char *type;
	char *bridge, *subnet, *dir;
	int64_t mtu;
	struct net_port *ports;
	size_t n_ports;
	hk_json *conf;
};

/* j on stdout, one line; j is put. -1 when stdout failed. */
static int print_json(hk_json *j)
{
	char *text = hk_json_dump(j, 0);

	printf("%s\n", text);
	free(text);
	hk_json_put(j);
	return fflush(stdout) == 0 ? 0 : -1;
}

static int fail(int code, const char *version, const char *msg, const char *details)
{
	hk_json *j = hk_json_new_obj();

	hk_json_set_str(j, "cniVersion", version ? version : "1.0.0");
	hk_json_set_int(j, "code", code);
	hk_json_set_str(j, "msg", msg);
	if (details && *details)
		hk_json_set_str(j, "details", details);
	print_json(j);
	return 1;
}

static int fail_err(int code, const struct cni *c, const char *msg, const struct hk_err *err)
{
	return fail(code, c->version, msg, err->msg);
}

static bool known_version(const char *v)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (strcmp(v, versions[i]) == 0)
			return true;
	return false;
}

static int version_answer(void)
{
	hk_json *j = hk_json_new_obj(), *a = hk_json_new_arr();

	hk_json_set_str(j, "cniVersion", "1.0.0");
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		hk_json_append(a, hk_json_new_str(versions[i]));
	hk_json_set(j, "supportedVersions", a);
	return print_json(j) == 0 ? 0 : 1;
}

struct key_find {
	const char *want;
	const char *found;
};

static int find_key(const char *key, hk_json *val, void *data)
{
	struct key_find *k = data;

	(void)val;
	if (!k->found && strcasecmp(key, k->want) == 0)
		k->found = key;
	return 0;
}

/* The key of m that is name, whatever its case: the portmap plugin's
 * decoder takes any (Go's), and containerd 1.6 writes "HostPort". */
static const char *key_of(hk_json *m, const char *name)
{
	struct key_find k = {.want = name};

	hk_json_foreach(m, find_key, &k);
	return k.found ? k.found : name;
}

/* One of runtimeConfig.portMappings: {"hostPort", "containerPort",
 * "protocol", "hostIP"}, as the portmap plugin takes them. */
static int add_mapping(struct cni *c, hk_json *m, size_t i, struct hk_err *err)
{
	char path[64], spec[96];
	int64_t host, cont;
	char *proto = NULL, *ip = NULL;

	snprintf(path, sizeof(path), "runtimeConfig.portMappings[%zu]", i);
	if (c->n_ports >= NET_PORTS_MAX)
		return hk_fail(err, 0, "runtimeConfig.portMappings: %d at most", NET_PORTS_MAX);
	if (hk_json_as_obj(m, path, err) < 0 ||
	    hk_json_get_i64(m, path, key_of(m, "hostPort"), 1, 65535, &host, err) != 1 ||
	    hk_json_get_i64(m, path, key_of(m, "containerPort"), 1, 65535, &cont, err) != 1 ||
	    hk_json_get_str(m, path, key_of(m, "protocol"), &proto, err) < 0 ||
	    hk_json_get_str(m, path, key_of(m, "hostIP"), &ip, err) < 0) {
		free(proto);
		free(ip);
		if (!err->msg[0])
			hk_fail(err, 0, "%s: hostPort and containerPort are required", path);
		return -1;
	}
	snprintf(spec, sizeof(spec), "%s%s%lld:%lld/%s", ip && *ip ? ip : "", ip && *ip ? ":" : "",
		 (long long)host, (long long)cont, proto && *proto ? proto : "tcp");
	for (char *p = strrchr(spec, '/'); p && *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	free(proto);
	free(ip);
	c->ports = xrealloc(c->ports, (c->n_ports + 1) * sizeof(*c->ports));
	if (net_port_parse(spec, &c->ports[c->n_ports], err) < 0)
		return hk_err_prefix(err, "%s", path);
	c->n_ports++;
	return 0;
}

static int read_ports(struct cni *c, struct hk_err *err)
{
	hk_json *rc = NULL, *maps = NULL;
	size_t n = 0;

	int r = hk_json_get_obj(c->conf, "", "runtimeConfig", &rc, err);
	if (r <= 0)
		return r;
	if (hk_json_get_arr(rc, "runtimeConfig", "portMappings", &maps, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (add_mapping(c, hk_json_at(maps, i), i, err) < 0)
			return -1;
	return 0;
}

/* The fields a network configuration has (the spec's, and husk-net's).
 * What husk-net does not do is refused, never ignored: "ipam" (husk-net
 * leases addresses itself: set "subnet"), "dns" (nothing of it would reach
 * the pod), "ipMasq" false (husk-net always masquerades). */
static int check_field(const char *key, hk_json *val, void *data)
{
	static const char *const known[] = {
		"cniVersion",   "name",   "type",   "args", "prevResult", "runtimeConfig",
		"capabilities", "bridge", "subnet", "mtu",  "stateDir",   "ipMasq"};
	struct hk_err *err = data;

	(void)val;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(key, known[i]) == 0)
			return 0;
	if (strcmp(key, "ipam") == 0 || strcmp(key, "dns") == 0)
		hk_fail(err, 0,
			"\"%s\" is not supported by husk-net (it leases addresses from its "
			"\"subnet\" itself, and sets no DNS)",
			key);
	else
		hk_fail(err, 0, "unknown field \"%.64s\" in husk-net's network configuration", key);
	return -1;
}

static int read_conf(struct cni *c, int *code, struct hk_err *err)
{
	_cleanup_free_ char *text =
		hk_read_fd(STDIN_FILENO, "the network configuration", CONF_MAX, NULL, err);
	*code = CNI_ERR_DECODE;
	if (!text || !(c->conf = hk_json_parse(text, strlen(text), "network configuration", err)))
		return -1;
	*code = CNI_ERR_CONFIG;
	if (hk_json_as_obj(c->conf, "network configuration", err) < 0)
		return -1;
	if (hk_json_get_str(c->conf, "", "cniVersion", &c->version, err) != 1)
		return err->msg[0] ? -1 : hk_fail(err, 0, "cniVersion is missing");
	if (!known_version(c->version)) {
		*code = CNI_ERR_VERSION;
		return hk_fail(err, 0, "cniVersion %.32s: this plugin speaks 0.3.0 to 1.0.0",
			       c->version);
	}
	*code = CNI_ERR_FIELD;
	if (hk_json_foreach(c->conf, check_field, err) != 0)
		return -1;
	bool masq = true;
	if (hk_json_get_bool(c->conf, "", "ipMasq", &masq, err) < 0)
		return -1;
	if (!masq)
		return hk_fail(err, 0, "ipMasq: husk-net always masquerades (only true is taken)");
	*code = CNI_ERR_CONFIG;
	if (hk_json_get_str(c->conf, "", "type", &c->type, err) < 0 ||
	    hk_json_get_str(c->conf, "", "bridge", &c->bridge, err) < 0 ||
	    hk_json_get_str(c->conf, "", "subnet", &c->subnet, err) < 0 ||
	    hk_json_get_str(c->conf, "", "stateDir", &c->dir, err) < 0 ||
	    hk_json_get_i64(c->conf, "", "mtu", 68, 65535, &c->mtu, err) < 0)
		return -1;
	/* the leases name interfaces to delete and processes to signal: only
	 * a directory nobody but root can change (trusted.h), as --root */
	if (c->dir) {
		if (c->dir[0] != '/')
			return hk_fail(err, 0, "stateDir \"%.64s\": must be an absolute path",
				       c->dir);
		int fd = hk_open_trusted_dir("stateDir", c->dir, true, 0700, err);
		if (fd < 0)
			return -1;
		close(fd);
	}
	/* only ADD publishes; DEL must get through whatever they say */
	if (strcmp(c->command, "ADD") == 0 && read_ports(c, err) < 0)
		return -1;
	return 0;
}

static hk_json *iface(const char *name, const char *sandbox)
{
	hk_json *j = hk_json_new_obj();

	hk_json_set_str(j, "name", name);
	if (sandbox)
		hk_json_set_str(j, "sandbox", sandbox);
	return j;
}

/* The spec's result: the bridge, the host's end, the container's
 * interface (index 2), its address and route. */
static int print_result(const struct cni *c, const struct net_lease *l)
{
	char a[NET_ADDR_STRLEN], g[NET_ADDR_STRLEN], cidr[NET_ADDR_STRLEN + 4];
	hk_json *j = hk_json_new_obj(), *ifs = hk_json_new_arr(), *ips = hk_json_new_arr();
	hk_json *routes = hk_json_new_arr(), *ip = hk_json_new_obj(), *rt = hk_json_new_obj();

	net_addr_fmt(l->addr, a);
	net_addr_fmt(net_subnet_gateway(&l->subnet), g);
	snprintf(cidr, sizeof(cidr), "%s/%u", a, (unsigned)l->subnet.prefix);
	hk_json_set_str(j, "cniVersion", c->version);
	hk_json_append(ifs, iface(l->bridge, NULL));
	hk_json_append(ifs, iface(l->veth, NULL));
	hk_json_append(ifs, iface(c->ifname, c->netns));
	hk_json_set(j, "interfaces", ifs);
	if (strcmp(c->version, "1.0.0") != 0)
		hk_json_set_str(ip, "version", "4");
	hk_json_set_str(ip, "address", cidr);
	hk_json_set_str(ip, "gateway", g);
	hk_json_set_int(ip, "interface", 2);
	hk_json_append(ips, ip);
	hk_json_set(j, "ips", ips);
	hk_json_set_str(rt, "dst", "0.0.0.0/0");
	hk_json_set_str(rt, "gw", g);
	hk_json_append(routes, rt);
	hk_json_set(j, "routes", routes);
	hk_json_set(j, "dns", hk_json_new_obj());
	return print_json(j) == 0 ? 0 : 1;
}

/* type "loopback": lo up, the result names it. */
static int cni_loopback(const struct cni *c)
{
	struct hk_err err = {0};

	if (strcmp(c->command, "DEL") == 0 || strcmp(c->command, "CHECK") == 0)
		return 0;
	if (strcmp(c->command, "ADD") != 0)
		return fail(CNI_ERR_ENV, c->version,
			    "CNI_COMMAND: expected ADD, DEL, CHECK or VERSION", c->command);
	if (!c->netns || !*c->netns)
		return fail(CNI_ERR_ENV, c->version, "CNI_NETNS is not set", NULL);
	if (net_loopback_up(c->netns, &err) < 0)
		return fail_err(CNI_ERR_PLUGIN, c, "husk-net: loopback", &err);
	hk_json *j = hk_json_new_obj(), *ifs = hk_json_new_arr(), *ips = hk_json_new_arr();
	hk_json *ip = hk_json_new_obj();
	hk_json_set_str(j, "cniVersion", c->version);
	hk_json_append(ifs, iface("lo", c->netns));
	hk_json_set(j, "interfaces", ifs);
	if (strcmp(c->version, "1.0.0") != 0)
		hk_json_set_str(ip, "version", "4");
	hk_json_set_str(ip, "address", "127.0.0.1/8");
	hk_json_set_int(ip, "interface", 0);
	hk_json_append(ips, ip);
	hk_json_set(j, "ips", ips);
	return print_json(j) == 0 ? 0 : 1;
}

static struct net_config config_of(const struct cni *c)
{
	const char *d = getenv("HUSK_NET_DIR");

	return (struct net_config){
		.dir = c->dir ? c->dir : (d && *d ? d : NET_DIR_DEFAULT),
		.bridge = c->bridge ? c->bridge : NET_BRIDGE_DEFAULT,
		.subnet = c->subnet ? c->subnet : NET_SUBNET_DEFAULT,
		.mtu = c->mtu ? (unsigned)c->mtu : NET_MTU_DEFAULT,
		.ports = c->ports,
		.n_ports = c->n_ports,
		.ifname = c->ifname,
	};
}

static int cni_add(struct cni *c)
{
	struct net_config cfg = config_of(c);
	struct net_target t = {.id = c->id, .netns = c->netns};
	struct net_lease l;
	struct hk_err err = {0};

	if (!c->netns || !*c->netns)
		return fail(CNI_ERR_ENV, c->version, "CNI_NETNS is not set", NULL);
	if (net_attach(&cfg, &t, &l, &err) < 0)
		return fail_err(CNI_ERR_PLUGIN, c, "husk-net: attach failed", &err);
	int r = print_result(c, &l);
	net_lease_free(&l);
	return r;
}

static int cni_del(struct cni *c)
{
	struct net_config cfg = config_of(c);
	struct net_caller who = {.id = c->id};
	struct hk_err err = {0};

	/* an id no lease can have was never attached: nothing to remove */
	if (net_id_check(c->id, &err) < 0)
		return 0;
	if (net_detach(cfg.dir, &who, &err) < 0)
		return fail_err(CNI_ERR_PLUGIN, c, "husk-net: detach failed", &err);
	return 0;
}

/* The lease is there, for this namespace, and the namespace is still the
 * one it was made for (the interface inside is not looked at). One error
 * object at most on stdout. */
static int cni_check(struct cni *c)
{
	struct net_config cfg = config_of(c);
	struct net_lease *v = NULL;
	struct hk_err err = {0};
	size_t n = 0;
	const char *why = "husk-net: no lease for this container", *what = c->id;

	if (net_list(cfg.dir, &v, &n, &err) < 0)
		return fail_err(CNI_ERR_IO, c, "husk-net: the leases cannot be read", &err);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].id, c->id) != 0)
			continue;
		if (!v[i].netns || !c->netns || strcmp(v[i].netns, c->netns) != 0) {
			why = "husk-net: the lease is another namespace's";
			what = v[i].netns;
		} else if (!net_lease_alive(&v[i])) {
			why = "husk-net: the namespace is gone";
			what = c->netns;
		} else {
			why = NULL;
		}
	}
	int r = why ? fail(CNI_ERR_PLUGIN, c->version, why, what) : 0;
	for (size_t i = 0; i < n; i++)
		net_lease_free(&v[i]);
	free(v);
	return r;
}

int cni_main(void)
{
	struct cni c = {.command = getenv("CNI_COMMAND"),
			.id = getenv("CNI_CONTAINERID"),
			.netns = getenv("CNI_NETNS"),
			.ifname = getenv("CNI_IFNAME")};
	struct hk_err err = {0};
	int code, r;

	if (strcmp(c.command, "VERSION") == 0)
		return version_answer();
	if (read_conf(&c, &code, &err) < 0) {
		r = fail(code, c.version, "husk-net: the network configuration", err.msg);
		goto out;
	}
	if (!c.id || state_validate_id(c.id, &err) < 0) {
		r = fail(CNI_ERR_ENV, c.version, "CNI_CONTAINERID: not a container id",
			 c.id ? err.msg : "not set");
		goto out;
	}
	if (!c.ifname || !*c.ifname)
		c.ifname = "eth0";
	if (c.type && strcmp(c.type, "loopback") == 0)
		r = cni_loopback(&c);
	else if (strcmp(c.command, "ADD") == 0)
		r = cni_add(&c);
	else if (strcmp(c.command, "DEL") == 0)
		r = cni_del(&c);
	else if (strcmp(c.command, "CHECK") == 0)
		r = cni_check(&c);
	else
		r = fail(CNI_ERR_ENV, c.version, "CNI_COMMAND: expected ADD, DEL, CHECK or VERSION",
			 c.command);
out:
	free(c.version);
	free(c.type);
	free(c.bridge);
	free(c.subnet);
	free(c.dir);
	free(c.ports);
	if (c.conf)
		hk_json_put(c.conf);
	return r;
}
