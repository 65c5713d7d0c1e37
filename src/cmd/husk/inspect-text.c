/* husk inspect's report for people: one fact a line, the container's value
 * next to the host's where there is one, in words that say what it means.
 * Every string the container, its bundle or its state chose (mount targets,
 * interface names, paths) is escaped (cli_esc): the report goes to a
 * terminal. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "cmd/husk/inspect.h"
#include "runtime/inspect.h"

#define LABEL "%-22s"

const char *cli_cap_name(int cap, char buf[16])
{
	const char *name = spec_cap_name(cap);

	if (name)
		return name;
	snprintf(buf, 16, "CAP_%d", cap);
	return buf;
}

const char *cli_seccomp_mode(uint64_t mode)
{
	switch (mode) {
	case 0:
		return "disabled";
	case 1:
		return "strict";
	case 2:
		return "filter";
	default:
		return "unknown";
	}
}

/* The processes that left the namespace husk made: what they unshared or
 * joined is theirs, not husk's isolation. */
static void print_moved(const struct hk_inspect_ns *ns)
{
	for (size_t i = 0; i < ns->n_moved; i++)
		printf(LABEL "pid %d has left it: now in %llu\n", "", (int)ns->moved[i].pid,
		       ns->moved[i].ino);
	if (ns->n_moved_all > ns->n_moved)
		printf(LABEL "and %zu more processes have left it\n", "",
		       ns->n_moved_all - ns->n_moved);
}

static void print_namespaces(const struct hk_inspect *in)
{
	bool pid1 = strcmp(in->host, "/proc/1") == 0;

	printf(LABEL "%-14s%-14s\n", "namespaces", "container",
	       pid1 ? "host (pid 1)" : "host (husk's)");
	/* The container's column is what create made and recorded; a state
	 * written by an older husk has no record. */
	if (!in->ns[HK_NS_PID].recorded)
		printf(LABEL "(not recorded at create: pid %d's namespaces now)\n", "",
		       (int)in->pid);
	for (int t = 0; t < HK_NS_COUNT; t++) {
		const struct hk_inspect_ns *ns = &in->ns[t];
		char label[24];
		snprintf(label, sizeof(label), "  %s", spec_ns_name((enum hk_ns_type)t));
		if (!ns->known) {
			printf(LABEL "%-14s%-14s%s\n", label, "-", "-", "not in this kernel");
			continue;
		}
		printf(LABEL "%-14llu%-14llu%s\n", label, ns->ino, ns->host_ino,
		       inspect_ns_isolated(ns) ? "isolated" : "shared with the host");
		print_moved(ns);
	}
}

static void print_map(const char *label, const struct hk_inspect *in, bool uid)
{
	const struct hk_idmap *m = uid ? in->uid_map : in->gid_map;
	size_t n = uid ? in->n_uid_map : in->n_gid_map;
	bool isolated = inspect_ns_isolated(&in->ns[HK_NS_USER]);

	if (!in->maps_known)
		printf(LABEL "unknown: no process of the container is left in the user namespace "
			     "husk made\n",
		       label);
	else if (n == 0)
		printf(LABEL "none mapped: every id inside is nobody outside\n", label);
	for (size_t i = 0; i < n; i++) {
		uint64_t last_in = (uint64_t)m[i].container_id + m[i].size - 1;
		uint64_t last_out = (uint64_t)m[i].host_id + m[i].size - 1;
		printf(LABEL "%" PRIu32 "-%" PRIu64 " inside = %" PRIu32 "-%" PRIu64 " outside%s\n",
		       i == 0 ? label : "", m[i].container_id, last_in, m[i].host_id, last_out,
		       isolated ? "" : " (the host's own: no user namespace)");
	}
}

static void print_size(uint64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		printf("%" PRIu64 " B", bytes);
	else
		printf("%.1f %s", v, units[u]);
}

/* v1 reports "no limit" as the largest page-aligned counter, v2 as "max". */
static bool unlimited(uint64_t limit)
{
	return limit == 0 || limit >= (UINT64_C(1) << 62);
}

static const char *cgroup_main_dir(const struct hk_inspect_cgroup *c)
{
	for (size_t i = 0; i < c->n_dirs; i++)
		if (strcmp(c->dirs[i].name, "memory") == 0)
			return c->dirs[i].dir;
	return c->dirs[0].dir;
}

static void print_cgroup(const struct hk_inspect_cgroup *c)
{
	const struct hk_cg_stats *s = &c->stats;

	if (!c->present) {
		printf(LABEL "none (husk could not make one: no limits apply)\n", "cgroup");
		return;
	}
	printf(LABEL "%s (v%d)\n", "cgroup", cli_esc(cgroup_main_dir(c)), c->version);
	if (c->unit)
		printf(LABEL "%s (systemd)\n", "  unit", cli_esc(c->unit));
	if (c->has_stats && s->mem.present) {
		printf(LABEL, "  memory");
		print_size(s->mem.usage);
		printf(" used");
		if (unlimited(s->mem.limit)) {
			printf(", no limit\n");
		} else {
			printf(" of ");
			print_size(s->mem.limit);
			printf(" limit\n");
		}
	}
	if (c->has_stats && s->pids_limit)
		printf(LABEL "%" PRIu64 " of %" PRIu64 "\n", "  pids", s->pids_current,
		       s->pids_limit);
	else if (c->has_stats)
		printf(LABEL "%" PRIu64 ", no limit\n", "  pids", s->pids_current);
	if (c->has_cpu && c->cpu_quota >= 0 && c->cpu_period)
		printf(LABEL "%" PRId64 " us every %" PRIu64 " us (%.2f CPUs)\n", "  cpu",
		       c->cpu_quota, c->cpu_period, (double)c->cpu_quota / (double)c->cpu_period);
	else if (c->has_cpu)
		printf(LABEL "no limit\n", "  cpu");
}

static void print_capset(const char *label, const char *set, uint64_t mask, int last)
{
	uint64_t all = last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
	int count = 0;
	char buf[16];

	printf(LABEL "%s: ", label, set);
	if (mask == 0) {
		printf("none\n");
		return;
	}
	if ((mask & all) == all) {
		printf("all (%d of %d)\n", last + 1, last + 1);
		return;
	}
	for (int c = 0; c < 64; c++) {
		if (!(mask >> c & 1))
			continue;
		printf("%s%s", count ? ", " : "", cli_cap_name(c, buf));
		count++;
	}
	printf("  (%d of %d)\n", count, last + 1);
}

static void print_caps(const struct hk_inspect *in)
{
	const struct hk_capsets *c = &in->caps;

	print_capset("capabilities", "effective", c->effective, in->cap_last);
	print_capset("", "permitted", c->permitted, in->cap_last);
	print_capset("", "inheritable", c->inheritable, in->cap_last);
	print_capset("", "bounding", c->bounding, in->cap_last);
	print_capset("", "ambient", c->ambient, in->cap_last);
	/* After `unshare -U` a process has every capability, counted in the
	 * user namespace it made: they act only on what that one owns. */
	if (in->caps_userns != in->ns[HK_NS_USER].ino)
		printf(LABEL "(counted in user namespace %llu, which pid %d made or joined itself: "
			     "they act only on what that namespace owns)\n",
		       "", in->caps_userns, (int)in->pid);
}

static void print_config_rules(const struct hk_inspect *in)
{
	if (!in->config_read)
		printf(" (config.json: not readable)");
	else if (!in->config_seccomp)
		printf(" (config.json: no seccomp profile)");
	else
		printf(" (config.json: %zu syscall rule%s naming %zu syscall%s)", in->config_rules,
		       in->config_rules == 1 ? "" : "s", in->config_syscalls,
		       in->config_syscalls == 1 ? "" : "s");
}

static void print_seccomp(const struct hk_inspect *in)
{
	printf(LABEL "%s mode", "seccomp", cli_seccomp_mode(in->seccomp_mode));
	if (in->seccomp_mode == 2)
		printf(", %" PRIu64 " filter%s", in->seccomp_filters,
		       in->seccomp_filters == 1 ? "" : "s");
	print_config_rules(in);
	printf("\n");
	printf(LABEL "%s\n", "no_new_privs", in->nnp ? "yes" : "no");
}

static void print_rootfs(const struct hk_inspect *in)
{
	const struct hk_inspect_rootfs *r = &in->rootfs;

	printf(LABEL "%s", "root filesystem", r->path ? cli_esc(r->path) : "?");
	if (!r->fstype) {
		printf("\n");
		return;
	}
	printf(" (%s", cli_esc(r->fstype));
	if (strcmp(r->fstype, "overlay") != 0 && r->source && r->root)
		printf(" %s, directory %s", cli_esc(r->source), cli_esc(r->root));
	printf(")\n");
	for (size_t i = 0; i < r->n_lowers; i++)
		printf(LABEL "%s\n", i == 0 ? "  lower layers" : "", cli_esc(r->lowers[i]));
	if (r->upper)
		printf(LABEL "%s\n", "  upper (writable)", cli_esc(r->upper));
	if (r->work)
		printf(LABEL "%s\n", "  work", cli_esc(r->work));
}

#define MOUNT_COL_MAX 64

static void print_mounts(const struct hk_inspect *in)
{
	if (in->mounts_error)
		printf(LABEL "unknown: %s\n", "mounts", cli_esc(in->mounts_error));
	else if (in->n_mounts == 0)
		printf(LABEL "none but the root\n", "mounts");
	/* columns as wide as the longest target (up to MOUNT_COL_MAX: a
	 * longer one pushes only its own line) */
	int tw = 20, fw = 10;
	for (size_t i = 0; i < in->n_mounts; i++) {
		int t = (int)strlen(cli_esc(in->mounts[i].target));
		int f = (int)strlen(cli_esc(in->mounts[i].fstype));
		tw = t > tw && t <= MOUNT_COL_MAX ? t : tw;
		fw = f > fw && f <= MOUNT_COL_MAX ? f : fw;
	}
	for (size_t i = 0; i < in->n_mounts; i++) {
		const struct hk_mountinfo *m = &in->mounts[i];
		printf(LABEL "%-*s %-*s %s\n", i == 0 ? "mounts" : "", tw, cli_esc(m->target), fw,
		       cli_esc(m->fstype), cli_esc(m->mount_opts));
	}
}

static void print_ports(const struct hk_inspect *in)
{
	char buf[NET_PORT_STRLEN];

	if (!in->has_lease)
		return;
	printf(LABEL "bridge %s\n", "  husk net", cli_esc(in->bridge));
	if (in->n_ports == 0)
		printf(LABEL "none\n", "  published ports");
	for (size_t i = 0; i < in->n_ports; i++) {
		net_port_fmt(&in->ports[i], buf);
		printf(LABEL "%s\n", i == 0 ? "  published ports" : "", buf);
	}
}

static void print_network(const struct hk_inspect *in)
{
	if (!inspect_ns_isolated(&in->ns[HK_NS_NET])) {
		printf(LABEL "the host's (no network namespace of its own)\n", "network");
		return;
	}
	if (in->net_error)
		printf(LABEL "addresses unknown: %s\n", "network", cli_esc(in->net_error));
	else if (in->n_addrs == 0)
		printf(LABEL "no addresses: no way in or out\n", "network");
	for (size_t i = 0; i < in->n_addrs; i++)
		printf(LABEL "%-10s %s/%u\n", i == 0 ? "network" : "", cli_esc(in->addrs[i].ifname),
		       cli_esc(in->addrs[i].addr), in->addrs[i].prefix);
	print_ports(in);
}

static void print_gone(const struct hk_inspect *in)
{
	printf("container %s (%s)\n", cli_esc(in->id), in->status);
	printf("its process is gone, and its namespaces, ids, capabilities, seccomp filter "
	       "and mounts with it; what is left:\n");
	printf(LABEL "%s\n", "bundle", in->bundle ? cli_esc(in->bundle) : "?");
	printf(LABEL "%s\n", "root filesystem", in->rootfs.path ? cli_esc(in->rootfs.path) : "?");
	print_cgroup(&in->cgroup);
	printf(LABEL "%s", "seccomp", "-");
	print_config_rules(in);
	printf("\n");
}

void cli_inspect_text(const struct hk_inspect *in)
{
	if (!in->live) {
		print_gone(in);
		return;
	}
	printf("container %s (pid %d, %s)\n", cli_esc(in->id), (int)in->pid, in->status);
	if (!in->started)
		printf("not started yet: the program's capabilities, seccomp filter and "
		       "no_new_privs are set at start\n");
	printf(LABEL "%s\n", "bundle", in->bundle ? cli_esc(in->bundle) : "?");
	print_namespaces(in);
	print_map("user ids", in, true);
	print_map("group ids", in, false);
	print_cgroup(&in->cgroup);
	print_caps(in);
	print_seccomp(in);
	print_rootfs(in);
	print_mounts(in);
	print_network(in);
}
