/* husk inspect --format json: the report's facts for machines, raw numbers
 * (bytes, inode numbers, capability names) with nothing rounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "cmd/husk/inspect.h"
#include "runtime/inspect.h"
#include "spec/json.h"

/* The processes that left the namespace husk made (the first
 * INSPECT_MOVED_MAX; movedCount counts them all). */
static hk_json *json_moved(const struct hk_inspect_ns *ns)
{
	hk_json *o = hk_json_new_obj(), *a = hk_json_new_arr();

	for (size_t i = 0; i < ns->n_moved; i++) {
		hk_json *m = hk_json_new_obj();
		hk_json_set_int(m, "pid", ns->moved[i].pid);
		hk_json_set_u64(m, "namespace", ns->moved[i].ino);
		hk_json_append(a, m);
	}
	hk_json_set(o, "processes", a);
	hk_json_set_u64(o, "count", ns->n_moved_all);
	return o;
}

static hk_json *json_namespaces(const struct hk_inspect *in)
{
	hk_json *a = hk_json_new_arr();

	for (int t = 0; t < HK_NS_COUNT; t++) {
		const struct hk_inspect_ns *ns = &in->ns[t];
		if (!ns->known)
			continue;
		hk_json *o = hk_json_new_obj();
		hk_json_set_str(o, "type", spec_ns_name((enum hk_ns_type)t));
		hk_json_set_u64(o, "container", ns->ino);
		hk_json_set_u64(o, "host", ns->host_ino);
		hk_json_set_bool(o, "isolated", inspect_ns_isolated(ns));
		hk_json_set_bool(o, "recorded", ns->recorded);
		if (ns->n_moved_all)
			hk_json_set(o, "moved", json_moved(ns));
		hk_json_append(a, o);
	}
	return a;
}

static hk_json *json_map(const struct hk_idmap *m, size_t n)
{
	hk_json *a = hk_json_new_arr();

	for (size_t i = 0; i < n; i++) {
		hk_json *o = hk_json_new_obj();
		hk_json_set_u64(o, "containerID", m[i].container_id);
		hk_json_set_u64(o, "hostID", m[i].host_id);
		hk_json_set_u64(o, "size", m[i].size);
		hk_json_append(a, o);
	}
	return a;
}

static void set_limit(hk_json *o, const char *key, uint64_t v, bool none)
{
	if (none)
		hk_json_set(o, key, NULL);
	else
		hk_json_set_u64(o, key, v);
}

static hk_json *json_cgroup(const struct hk_inspect_cgroup *c)
{
	const struct hk_cg_stats *s = &c->stats;
	hk_json *o = hk_json_new_obj(), *paths = hk_json_new_obj();

	hk_json_set_int(o, "version", c->version);
	hk_json_set_str(o, "manager", c->unit ? "systemd" : "cgroupfs");
	if (c->unit)
		hk_json_set_str(o, "unit", c->unit);
	for (size_t i = 0; i < c->n_dirs; i++)
		hk_json_set_str(paths, c->dirs[i].name, c->dirs[i].dir);
	hk_json_set(o, "paths", paths);
	if (c->has_stats && s->mem.present) {
		hk_json *m = hk_json_new_obj();
		hk_json_set_u64(m, "usage", s->mem.usage);
		set_limit(m, "limit", s->mem.limit,
			  s->mem.limit == 0 || s->mem.limit >= (UINT64_C(1) << 62));
		hk_json_set(o, "memory", m);
	}
	if (c->has_stats) {
		hk_json *p = hk_json_new_obj();
		hk_json_set_u64(p, "current", s->pids_current);
		set_limit(p, "limit", s->pids_limit, s->pids_limit == 0);
		hk_json_set(o, "pids", p);
	}
	if (c->has_cpu) {
		hk_json *p = hk_json_new_obj();
		set_limit(p, "quota", (uint64_t)c->cpu_quota, c->cpu_quota < 0);
		hk_json_set_u64(p, "period", c->cpu_period);
		hk_json_set(o, "cpu", p);
	}
	return o;
}

static hk_json *json_capset(uint64_t mask)
{
	hk_json *a = hk_json_new_arr();
	char buf[16];

	for (int c = 0; c < 64; c++)
		if (mask >> c & 1)
			hk_json_append(a, hk_json_new_str(cli_cap_name(c, buf)));
	return a;
}

static hk_json *json_caps(const struct hk_inspect *in)
{
	hk_json *o = hk_json_new_obj();

	hk_json_set(o, "effective", json_capset(in->caps.effective));
	hk_json_set(o, "permitted", json_capset(in->caps.permitted));
	hk_json_set(o, "inheritable", json_capset(in->caps.inheritable));
	hk_json_set(o, "bounding", json_capset(in->caps.bounding));
	hk_json_set(o, "ambient", json_capset(in->caps.ambient));
	hk_json_set_int(o, "known", in->cap_last + 1);
	/* pid 1's own user namespace, which the sets count in: not the one
	 * husk made when the process left it. */
	hk_json_set_u64(o, "userNamespace", in->caps_userns);
	return o;
}

static hk_json *json_seccomp(const struct hk_inspect *in)
{
	hk_json *o = hk_json_new_obj();

	if (in->live) {
		hk_json_set_str(o, "mode", cli_seccomp_mode(in->seccomp_mode));
		hk_json_set_u64(o, "filters", in->seccomp_filters);
	}
	/* From the bundle's config.json: the kernel does not show rules. */
	if (in->config_read && in->config_seccomp) {
		hk_json_set_u64(o, "configRules", in->config_rules);
		hk_json_set_u64(o, "configSyscalls", in->config_syscalls);
	}
	return o;
}

static void set_str_if(hk_json *o, const char *key, const char *s)
{
	if (s)
		hk_json_set_str(o, key, s);
}

static hk_json *json_rootfs(const struct hk_inspect_rootfs *r)
{
	hk_json *o = hk_json_new_obj();

	hk_json_set_str(o, "path", r->path ? r->path : "");
	set_str_if(o, "type", r->fstype);
	set_str_if(o, "source", r->source);
	set_str_if(o, "root", r->root);
	if (r->n_lowers) {
		hk_json *a = hk_json_new_arr();
		for (size_t i = 0; i < r->n_lowers; i++)
			hk_json_append(a, hk_json_new_str(r->lowers[i]));
		hk_json_set(o, "lowerdir", a);
	}
	set_str_if(o, "upperdir", r->upper);
	set_str_if(o, "workdir", r->work);
	return o;
}

static hk_json *json_mounts(const struct hk_inspect *in)
{
	hk_json *a = hk_json_new_arr();

	for (size_t i = 0; i < in->n_mounts; i++) {
		const struct hk_mountinfo *m = &in->mounts[i];
		hk_json *o = hk_json_new_obj();
		hk_json_set_str(o, "destination", m->target);
		hk_json_set_str(o, "type", m->fstype);
		hk_json_set_str(o, "source", m->source);
		hk_json_set_str(o, "options", m->mount_opts);
		hk_json_set_str(o, "superOptions", m->super_opts);
		hk_json_append(a, o);
	}
	return a;
}

static hk_json *json_ports(const struct hk_inspect *in)
{
	hk_json *a = hk_json_new_arr();
	char ip[NET_ADDR_STRLEN];

	for (size_t i = 0; i < in->n_ports; i++) {
		const struct net_port *p = &in->ports[i];
		hk_json *o = hk_json_new_obj();
		net_addr_fmt(p->host_ip, ip);
		hk_json_set_str(o, "hostIP", p->host_ip ? ip : "");
		hk_json_set_int(o, "hostPort", p->host_port);
		hk_json_set_int(o, "containerPort", p->cont_port);
		hk_json_set_str(o, "protocol", net_proto_name(p->proto));
		hk_json_append(a, o);
	}
	return a;
}

static hk_json *json_network(const struct hk_inspect *in)
{
	hk_json *o = hk_json_new_obj(), *a = hk_json_new_arr();

	hk_json_set_bool(o, "isolated", inspect_ns_isolated(&in->ns[HK_NS_NET]));
	for (size_t i = 0; i < in->n_addrs; i++) {
		hk_json *e = hk_json_new_obj();
		hk_json_set_str(e, "interface", in->addrs[i].ifname);
		hk_json_set_str(e, "family", in->addrs[i].family == AF_INET ? "inet" : "inet6");
		hk_json_set_str(e, "address", in->addrs[i].addr);
		hk_json_set_int(e, "prefixLength", in->addrs[i].prefix);
		hk_json_append(a, e);
	}
	hk_json_set(o, "addresses", a);
	if (in->net_error)
		hk_json_set_str(o, "error", in->net_error);
	if (in->has_lease) {
		hk_json_set_str(o, "bridge", in->bridge);
		hk_json_set(o, "ports", json_ports(in));
	}
	return o;
}

static void json_live(hk_json *j, const struct hk_inspect *in)
{
	hk_json_set_str(j, "host", in->host);
	hk_json_set(j, "namespaces", json_namespaces(in));
	/* null: no process is left in the user namespace husk made. */
	hk_json_set(j, "uidMappings", in->maps_known ? json_map(in->uid_map, in->n_uid_map) : NULL);
	hk_json_set(j, "gidMappings", in->maps_known ? json_map(in->gid_map, in->n_gid_map) : NULL);
	hk_json_set(j, "capabilities", json_caps(in));
	hk_json_set_bool(j, "noNewPrivileges", in->nnp != 0);
	hk_json_set(j, "mounts", json_mounts(in));
	if (in->mounts_error)
		hk_json_set_str(j, "mountsError", in->mounts_error);
	hk_json_set(j, "network", json_network(in));
}

void cli_inspect_json(const struct hk_inspect *in)
{
	hk_json *j = hk_json_new_obj();

	hk_json_set_str(j, "id", in->id);
	hk_json_set_int(j, "pid", in->pid);
	hk_json_set_str(j, "status", in->status);
	hk_json_set_bool(j, "started", in->started);
	hk_json_set_str(j, "bundle", in->bundle ? in->bundle : "");
	if (in->live)
		json_live(j, in);
	if (in->cgroup.present)
		hk_json_set(j, "cgroup", json_cgroup(&in->cgroup));
	hk_json_set(j, "seccomp", json_seccomp(in));
	hk_json_set(j, "rootfs", json_rootfs(&in->rootfs));
	cli_print_json(j, 1);
	hk_json_put(j);
}
