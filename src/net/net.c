/* attach / detach / gc: the checklists, each step in the file of its
 * concern. Order matters for crashes: the lease record is written before
 * anything is made and removed after everything is gone, so a record
 * always names whatever may be left (net_gc). The one exception, the
 * holder of the published ports, is started just before the record is
 * written and stays only once committed, after it (hold.h). */
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/pidns.h"
#include "common/procstat.h"
#include "common/syscalls.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "net/addr.h"
#include "net/hold.h"
#include "netinfo/ipam.h"
#include "net/bridge-gc.h"
#include "net/link.h"
#include "net/nat.h"
#include "net/netlink.h"

#define PEER_NAME "eth0"

struct lease_list {
	struct net_lease *v;
	size_t n;
};

static void lease_list_free(struct lease_list *ll)
{
	net_leases_free(ll->v, ll->n);
	*ll = (struct lease_list){0};
}

static int check_link_name(const char *what, const char *name, struct hk_err *err)
{
	size_t len = strlen(name);

	if (len == 0)
		return hk_fail(err, 0, "%s: must not be empty", what);
	if (len >= IF_NAMESIZE)
		return hk_fail(err, 0,
			       "%s \"%.64s\" is %zu characters long; the kernel allows at "
			       "most %d",
			       what, name, len, IF_NAMESIZE - 1);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return hk_fail(err, 0, "%s \"%s\": not allowed", what, name);
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("_.-", *c)))
			return hk_fail(err, 0, "%s \"%s\": invalid character '%c'", what, name,
				       *c >= 0x20 && *c < 0x7f ? *c : '?');
	return 0;
}

int net_config_check(const struct net_config *cfg, struct hk_err *err)
{
	struct net_subnet s;
	char a[NET_PORT_STRLEN], b[NET_PORT_STRLEN];
	size_t first;

	if (check_link_name("bridge name", cfg->bridge, err) < 0 ||
	    (cfg->ifname && check_link_name("interface name", cfg->ifname, err) < 0) ||
	    net_subnet_parse(cfg->subnet, &s, err) < 0)
		return -1;
	if (cfg->mtu < 68 || cfg->mtu > 65535)
		return hk_fail(err, 0, "mtu %u: must be 68 to 65535", cfg->mtu);
	if (cfg->n_ports > NET_PORTS_MAX)
		return hk_fail(err, 0, "%zu published ports: %d at most", cfg->n_ports,
			       NET_PORTS_MAX);
	int i = net_ports_self_clash(cfg->ports, cfg->n_ports, &first);
	if (i >= 0) {
		net_port_fmt(&cfg->ports[first], a);
		net_port_fmt(&cfg->ports[i], b);
		return hk_fail(err, 0, "publish %s and %s: the same host port twice", a, b);
	}
	return 0;
}

/* The network namespace of the container's process: the pidfd is taken
 * first, so the start time read next and the namespace opened after are
 * the ones of the process the pidfd holds, which must still be alive once
 * the namespace is open (hk_pidfd_open_ns): a pid that died and was given
 * to another process in between is caught, not attached. */
static int open_pid_netns(const struct net_target *t, struct net_lease *l, struct hk_err *err)
{
	_cleanup_close_ int pidfd = t->pid > 0 ? hk_pidfd_open(t->pid, 0) : -1;

	if (pidfd < 0)
		return hk_fail(err, t->pid > 0 ? errno : ESRCH, "container %s: pid %d", t->id,
			       (int)t->pid);
	l->pid = t->pid;
	l->start_time = hk_proc_start_time(t->pid);
	if (!l->start_time)
		return hk_fail(err, ESRCH, "container %s: pid %d", t->id, (int)t->pid);
	return hk_pidfd_open_ns(pidfd, t->pid, "net", err);
}

/* The container's network namespace as an fd, and what tells later that
 * it is still the same container (pid start time, namespace inode). */
static int open_target(const struct net_target *t, struct net_lease *l, struct hk_err *err)
{
	struct stat sb, self;
	const char *p = t->netns ? t->netns : "of the container's process";
	int fd;

	if (t->netns) {
		/* It goes into the lease record, one field per line. */
		for (const char *c = t->netns; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return hk_fail(err, 0, "--netns: a control character in the path");
		l->netns = xstrdup(t->netns);
		fd = open(t->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return hk_fail(err, errno, "open network namespace %s", t->netns);
		/* a hook's state pid, kept to know the container's record from
		 * another one's with the same id (net_lease_is_callers) */
		if (t->pid > 0 && (l->start_time = hk_proc_start_time(t->pid)))
			l->pid = t->pid;
	} else if ((fd = open_pid_netns(t, l, err)) < 0) {
		return -1;
	}
	if (fstat(fd, &sb) < 0 || stat("/proc/thread-self/ns/net", &self) < 0) {
		hk_fail(err, errno, "stat network namespace %s", p);
		close(fd);
		return -1;
	}
	/* A container without a network namespace of its own would get the
	 * host's default route replaced and an eth0 added to the host. */
	if (sb.st_ino == self.st_ino && sb.st_dev == self.st_dev) {
		close(fd);
		return hk_fail(err, 0,
			       "container %s shares husk's network namespace: give it one of its "
			       "own (\"network\" in linux.namespaces)",
			       t->id);
	}
	l->netns_ino = (unsigned long long)sb.st_ino;
	return fd;
}

/* hk + 8 hex digits of a hash of the id (and a salt, should two ids'
 * hashes meet): short enough for IFNAMSIZ, stable for the id. */
static void veth_name(const char *id, unsigned salt, char out[IF_NAMESIZE])
{
	uint32_t h = 2166136261u;
	for (const char *c = id; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	h = (h ^ salt) * 16777619u;
	snprintf(out, IF_NAMESIZE, "hk%08x", h);
}

static int check_clash(const struct net_config *cfg, const struct net_lease *o, struct hk_err *err)
{
	char a[NET_PORT_STRLEN], b[NET_PORT_STRLEN];

	for (size_t i = 0; i < cfg->n_ports; i++)
		for (size_t j = 0; j < o->n_ports; j++) {
			if (!net_port_clash(&cfg->ports[i], &o->ports[j]))
				continue;
			net_port_fmt(&cfg->ports[i], a);
			net_port_fmt(&o->ports[j], b);
			return hk_fail(err, 0,
				       "publish %s: host port %u/%s is already published by "
				       "container %s (%s)",
				       a, cfg->ports[i].host_port,
				       net_proto_name(cfg->ports[i].proto), o->id, b);
		}
	return 0;
}

static bool veth_taken(const struct net_lease *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].veth, name) == 0)
			return true;
	return false;
}

/* Everything the other records decide: the id is free, no port clashes,
 * the bridge keeps its subnet; then the address and the veth's name. */
static int plan(const struct net_config *cfg, const struct net_lease *v, size_t n,
		struct net_lease *l, struct hk_err *err)
{
	_cleanup_free_ uint32_t *used = xcalloc(n ? n : 1, sizeof(*used));
	char sub[NET_SUBNET_STRLEN];
	size_t n_used = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].id, l->id) == 0)
			return hk_fail(err, EEXIST, "container %s is attached already", l->id);
		if (check_clash(cfg, &v[i], err) < 0)
			return -1;
		if (strcmp(v[i].bridge, l->bridge) != 0)
			continue;
		if (v[i].subnet.net != l->subnet.net || v[i].subnet.prefix != l->subnet.prefix) {
			net_subnet_fmt(&v[i].subnet, sub);
			return hk_fail(err, 0, "bridge %s has subnet %s (container %s), not %s",
				       l->bridge, sub, v[i].id, cfg->subnet);
		}
		used[n_used++] = v[i].addr;
	}
	if (net_ipam_pick(&l->subnet, used, n_used, &l->addr, err) < 0)
		return -1;
	for (unsigned salt = 0; salt < 16; salt++) {
		veth_name(l->id, salt, l->veth);
		if (!veth_taken(v, n, l->veth))
			return 0;
	}
	return hk_fail(err, EEXIST, "no free veth name for container %s", l->id);
}

static int create_bridge(struct net_nl *nl, const char *name, const struct net_subnet *s,
			 struct hk_err *err)
{
	struct net_link br;
	char desc[64], sub[NET_SUBNET_STRLEN];

	int r = net_route_overlap(nl, s, desc, sizeof(desc), err);
	if (r < 0)
		return -1;
	if (r > 0) {
		net_subnet_fmt(s, sub);
		return hk_fail(err, 0, "subnet %s overlaps the route %s already present", sub,
			       desc);
	}
	if (net_link_add_bridge(nl, name, err) < 0)
		return -1;
	if (net_link_get(nl, name, &br, err) <= 0 ||
	    net_addr_add(nl, br.index, name, net_subnet_gateway(s), s->prefix, err) < 0 ||
	    net_link_set_up(nl, br.index, name, err) < 0) {
		if (err && !err->msg[0])
			hk_fail(err, ENODEV, "bridge %s vanished", name);
		net_link_del(nl, name, NULL);
		return -1;
	}
	return br.index;
}

/* IPv6 off on a device: husk's networks are IPv4 only, and a device with
 * IPv6 on takes router advertisements from whoever sends them on its link
 * (CVE-2020-13401): a container with CAP_NET_RAW would become the host's
 * IPv6 router, or another container's. A kernel without IPv6 has no such
 * file: nothing to do. */
static int ipv6_off(int fd, const char *dev, struct hk_err *err)
{
	if (fd < 0) {
		if (err->errnum != ENOENT)
			return -1;
		hk_err_clear(err);
		return 0;
	}
	int r = hk_write_all(fd, "1", 1) < 0 ? hk_fail(err, errno, "disable IPv6 on %s", dev) : 0;
	close(fd);
	return r;
}

/* The bridge with the gateway address, up; forwarding on in this
 * namespace, 127.0.0.1 routable to the bridge (route_localnet) so the
 * host's own connections to 127.0.0.1:hostport reach a container (nat.c
 * drops what else that would let in), and no IPv6 on the bridge.
 * Returns the bridge's ifindex. */
static int ensure_bridge(struct net_nl *nl, struct net_store *st, const char *name,
			 const struct net_subnet *s, struct hk_err *err)
{
	struct net_link br;
	char sub[NET_SUBNET_STRLEN], path[96];
	int index;

	int r = net_link_get(nl, name, &br, err);
	if (r < 0)
		return -1;
	if (r == 0) {
		index = create_bridge(nl, name, s, err);
		if (index < 0)
			return -1;
		/* husk's to remove once idle (net gc) */
		if (net_bridge_record(st, name, index, s, err) < 0) {
			net_link_del(nl, name, NULL);
			return -1;
		}
	} else {
		if (strcmp(br.kind, "bridge") != 0)
			return hk_fail(err, 0, "%s exists and is not a bridge (%s)", name,
				       br.kind[0] ? br.kind : "no kind");
		net_subnet_fmt(s, sub);
		r = net_addr_has(nl, br.index, net_subnet_gateway(s), s->prefix, err);
		if (r <= 0)
			return r < 0 ? -1
				     : hk_fail(err, 0,
					       "bridge %s exists without the gateway address of "
					       "%s: another subnet, or not husk's",
					       name, sub);
		index = br.index;
	}
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", name);
	if (hk_write_str("/proc/sys/net/ipv4/ip_forward", "1", err) < 0 ||
	    hk_write_str(path, "1", err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		hk_fail(err, errno, "open %s", path);
	if (ipv6_off(fd, name, err) < 0)
		return -1;
	return index;
}

/* Inside the container: lo and eth0 (or the name asked for) up, the
 * address, the default route. */
static int configure_inside(int nsfd, const char *ifname, const struct net_lease *l,
			    struct hk_err *err)
{
	struct net_nl nl = {0};
	struct net_link eth;
	char path[96], what[64];
	int r = -1;

	if (net_nl_open_in(&nl, nsfd, err) < 0)
		return -1;
	if (net_link_set_up(&nl, 1, "lo", err) < 0)
		goto out;
	if (net_link_get(&nl, ifname, &eth, err) <= 0) {
		if (!err->msg[0])
			hk_fail(err, ENODEV, "%s in the container", ifname);
		goto out;
	}
	/* before it is up: no link-local address, no router solicitation */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	snprintf(what, sizeof(what), "%s in the container", ifname);
	if (ipv6_off(net_open_in(nsfd, path, O_WRONLY, err), what, err) < 0)
		goto out;
	if (net_link_set_up(&nl, eth.index, ifname, err) < 0 ||
	    net_addr_add(&nl, eth.index, ifname, l->addr, l->subnet.prefix, err) < 0 ||
	    net_route_add_default(&nl, eth.index, net_subnet_gateway(&l->subnet), err) < 0)
		goto out;
	r = 0;
out:
	net_nl_close(&nl);
	return r;
}

static int add_veth(struct net_nl *nl, int master, int nsfd, const struct net_config *cfg,
		    const struct net_lease *l, struct hk_err *err)
{
	struct net_veth v = {
		.host = l->veth,
		.master = master,
		.peer = cfg->ifname ? cfg->ifname : PEER_NAME,
		.ns_fd = nsfd,
		.mtu = cfg->mtu,
	};
	net_mac_from_addr(l->addr, v.mac);
	return net_link_add_veth(nl, &v, err);
}

/* NAT and ports, the veth pair, the inside: what teardown() undoes. */
static int connect_container(struct net_nl *nl, int master, int nsfd, const struct net_config *cfg,
			     const struct net_lease *l, struct hk_err *err)
{
	if (net_nat_attach(l->bridge, &l->subnet, l->ports, l->n_ports, l->addr, err) < 0)
		return -1;
	hk_debug("net attach %s: nftables done", l->id);
	if (add_veth(nl, master, nsfd, cfg, l, err) < 0)
		return -1;
	hk_debug("net attach %s: veth made", l->id);
	if (configure_inside(nsfd, cfg->ifname ? cfg->ifname : PEER_NAME, l, err) < 0)
		return -1;
	hk_debug("net attach %s: eth0 configured", l->id);
	return 0;
}

static void lease_init(const struct net_config *cfg, const struct net_target *t,
		       struct net_lease *l)
{
	l->id = xstrdup(t->id);
	snprintf(l->bridge, sizeof(l->bridge), "%s", cfg->bridge);
	net_subnet_parse(cfg->subnet, &l->subnet, NULL);
	if (cfg->n_ports) {
		l->ports = xcalloc(cfg->n_ports, sizeof(*l->ports));
		memcpy(l->ports, cfg->ports, cfg->n_ports * sizeof(*l->ports));
	}
	l->n_ports = cfg->n_ports;
}

/* What attach made for l, removed in reverse; used by a failed attach and
 * by detach alike. Errors: the first one. */
static int teardown(struct net_nl *nl, struct net_store *st, const struct net_lease *l,
		    struct hk_err *err)
{
	struct hk_err e2 = {0};
	int r = 0;

	if (net_nat_unpublish(l->ports, l->n_ports, &e2) < 0)
		r = r ? r : (*err = e2, -1);
	hk_debug("net teardown %s: ports unpublished", l->id);
	if (net_holder_stop(l->holder_pid, l->holder_start, &e2) < 0)
		r = r ? r : (*err = e2, -1);
	hk_debug("net teardown %s: host ports released", l->id);
	if (net_link_del(nl, l->veth, &e2) < 0)
		r = r ? r : (*err = e2, -1);
	hk_debug("net teardown %s: veth gone", l->id);
	if (r == 0 && net_store_del(st, l->id, err) < 0)
		r = -1;
	return r;
}

/* The bound host ports to a holder process, named in the lease. */
static int hold_ports(struct net_bound *b, struct net_lease *l, struct net_holder *h,
		      struct hk_err *err)
{
	if (!b->n)
		return 0;
	/* attached by --netns, it lives until detach (the namespace may
	 * outlive the process) */
	pid_t watch = l->netns ? 0 : l->pid;
	if (net_holder_start(b, l->id, watch, l->start_time, h, err) < 0)
		return -1;
	l->holder_pid = h->pid;
	l->holder_start = h->start;
	return 0;
}

/* A host port just picked that a record maps still (net_ports_bind). */
static bool mapped_by_record(const struct net_port *p, void *data)
{
	const struct lease_list *ll = data;

	for (size_t i = 0; i < ll->n; i++)
		for (size_t j = 0; j < ll->v[i].n_ports; j++)
			if (net_port_clash(p, &ll->v[i].ports[j]))
				return true;
	return false;
}

static int attach_locked(const struct net_config *cfg, struct net_store *st, int nsfd,
			 struct net_lease *l, struct hk_err *err)
{
	_cleanup_(lease_list_free) struct lease_list ll = {0};
	_cleanup_(net_bound_close) struct net_bound bound = {0};
	_cleanup_(net_holder_abandon) struct net_holder holder = {.ctl = -1};
	struct net_nl nl = {0};
	int r = -1;

	if (net_store_load(st, &ll.v, &ll.n, err) < 0 || plan(cfg, ll.v, ll.n, l, err) < 0 ||
	    net_ports_bind(l->ports, l->n_ports, mapped_by_record, &ll, &bound, err) < 0)
		return -1;
	hk_debug("net attach %s: planned, host ports bound", l->id);
	if (net_nl_open(&nl, err) < 0)
		return -1;
	int master = ensure_bridge(&nl, st, l->bridge, &l->subnet, err);
	if (master < 0)
		goto out;
	hk_debug("net attach %s: bridge ready", l->id);
	/* The host end's name is made from the id: one there already is not
	 * ours (another network's of the same pod, a device someone made),
	 * and a rollback would delete it (outside attack on the CNI plugin) */
	struct net_link existing;
	int there = net_link_get(&nl, l->veth, &existing, err);
	if (there != 0) {
		if (there > 0)
			hk_fail(err, EEXIST,
				"interface %s exists already (another network's attachment of "
				"this container, or not husk's): refused",
				l->veth);
		goto out;
	}
	if (hold_ports(&bound, l, &holder, err) < 0 || net_store_put(st, l, err) < 0)
		goto out;
	hk_debug("net attach %s: ports held, lease written", l->id);
	if (connect_container(&nl, master, nsfd, cfg, l, err) < 0 ||
	    net_holder_commit(&holder, err) < 0) {
		struct hk_err ignored = {0};
		teardown(&nl, st, l, &ignored);
		goto out;
	}
	r = 0;
out:
	net_nl_close(&nl);
	return r;
}

int net_attach(const struct net_config *cfg, const struct net_target *t, struct net_lease *out,
	       struct hk_err *err)
{
	struct net_lease l = {0};
	struct net_store st;

	if (net_config_check(cfg, err) < 0 || net_id_check(t->id, err) < 0)
		return -1;
	lease_init(cfg, t, &l);
	_cleanup_close_ int nsfd = open_target(t, &l, err);
	if (nsfd < 0 || net_store_open(&st, cfg->dir, true, err) < 0) {
		net_lease_free(&l);
		return -1;
	}
	int r = attach_locked(cfg, &st, nsfd, &l, err);
	net_store_close(&st);
	if (r < 0) {
		net_lease_free(&l);
		return hk_err_prefix(err, "attach %s", t->id);
	}
	*out = l;
	return 0;
}

static int detach_locked(struct net_store *st, const struct net_caller *c, struct hk_err *err)
{
	_cleanup_(lease_list_free) struct lease_list ll = {0};
	struct net_nl nl = {0};

	if (net_store_load(st, &ll.v, &ll.n, err) < 0)
		return -1;
	for (size_t i = 0; i < ll.n; i++) {
		if (strcmp(ll.v[i].id, c->id) != 0)
			continue;
		if (c->hook && !net_lease_is_callers(&ll.v[i], c->pid)) {
			hk_debug(
				"net detach %s: the record is another container's (pid %d, not %d)",
				c->id, (int)ll.v[i].pid, (int)c->pid);
			return 0;
		}
		if (net_nl_open(&nl, err) < 0)
			return -1;
		int r = teardown(&nl, st, &ll.v[i], err);
		net_nl_close(&nl);
		return r < 0 ? -1 : 1;
	}
	return 0;
}

int net_detach(const char *dir, const struct net_caller *c, struct hk_err *err)
{
	struct net_store st;

	if (net_id_check(c->id, err) < 0 || net_store_open(&st, dir, true, err) < 0)
		return -1;
	int r = detach_locked(&st, c, err);
	net_store_close(&st);
	return r < 0 ? hk_err_prefix(err, "detach %s", c->id) : r;
}

static int gc_locked(struct net_store *st, struct net_gc *out, struct hk_err *err)
{
	_cleanup_(lease_list_free) struct lease_list ll = {0}, left = {0};
	struct net_nl nl = {0};
	int r = 0;

	if (net_store_load(st, &ll.v, &ll.n, err) < 0 || net_nl_open(&nl, err) < 0)
		return -1;
	for (size_t i = 0; i < ll.n && r == 0; i++) {
		if (net_lease_alive(&ll.v[i]))
			continue;
		if (teardown(&nl, st, &ll.v[i], err) < 0) {
			r = hk_err_prefix(err, "gc %s", ll.v[i].id);
			break;
		}
		out->ids = xrealloc(out->ids, (out->n_ids + 1) * sizeof(*out->ids));
		out->ids[out->n_ids++] = xstrdup(ll.v[i].id);
	}
	/* then the bridges the records left name no more */
	if (r == 0 && (r = net_store_load(st, &left.v, &left.n, err)) == 0)
		r = net_bridges_gc(&nl, st, left.v, left.n, &out->bridges, &out->n_bridges,
				   &out->table, err);
	net_nl_close(&nl);
	return r;
}

int net_gc(const char *dir, struct net_gc *out, struct hk_err *err)
{
	struct net_store st;

	*out = (struct net_gc){0};
	if (net_store_open(&st, dir, true, err) < 0)
		return -1;
	int r = gc_locked(&st, out, err);
	net_store_close(&st);
	return r;
}

void net_gc_clear(struct net_gc *g)
{
	for (size_t i = 0; i < g->n_ids; i++)
		free(g->ids[i]);
	for (size_t i = 0; i < g->n_bridges; i++)
		free(g->bridges[i]);
	free(g->ids);
	free(g->bridges);
	*g = (struct net_gc){0};
}

int net_list(const char *dir, struct net_lease **out, size_t *n, struct hk_err *err)
{
	struct net_store st;

	if (net_store_open(&st, dir, false, err) < 0)
		return -1;
	int r = net_store_load(&st, out, n, err);
	net_store_close(&st);
	return r;
}

int net_loopback_up(const char *netns, struct hk_err *err)
{
	_cleanup_close_ int fd = open(netns, O_RDONLY | O_CLOEXEC);
	struct net_nl nl = {0};

	if (fd < 0)
		return hk_fail(err, errno, "open network namespace %s", netns);
	if (net_nl_open_in(&nl, fd, err) < 0)
		return hk_err_prefix(err, "network namespace %s", netns);
	int r = net_link_set_up(&nl, 1, "lo", err);
	net_nl_close(&nl);
	return r;
}
