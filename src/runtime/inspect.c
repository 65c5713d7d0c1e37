/* husk inspect: the container's isolation, read from the host side. Each
 * fact comes from the kernel (/proc/<pid>/..., the cgroup files) or from
 * husk's own records (state.json, the bundle's config.json, husk net's
 * lease), never from inside the container's root. */
#include "runtime/inspect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "linux/ns.h"
#include "linux/procfs.h"
#include "linux/userns.h"
#include "net/lease.h"
#include "runtime/state.h"

#define PROC_FILE_MAX (1 << 20)

/* "The host" is PID 1 of husk's pid namespace: husk itself may run in
 * namespaces of its own (a container in a container, `ip netns exec`),
 * and what a reader wants to know is whether the container shares the
 * machine's namespaces, not husk's. Where /proc/1 cannot be read (an
 * unprivileged husk), husk's own namespaces stand in. */
static const char *host_proc(void)
{
	unsigned long long ino;

	return ns_ino("/proc/1", HK_NS_MNT, &ino) == 0 ? "/proc/1" : "/proc/self";
}

static void read_namespaces(struct hk_inspect *in, const char *proc)
{
	in->host = host_proc();
	for (int t = 0; t < HK_NS_COUNT; t++) {
		struct hk_inspect_ns *ns = &in->ns[t];
		ns->known = ns_ino(proc, (enum hk_ns_type)t, &ns->ino) == 0 &&
			    ns_ino(in->host, (enum hk_ns_type)t, &ns->host_ino) == 0;
	}
}

static char *read_proc(const char *proc, const char *file, struct hk_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", proc, file);
	return hk_read_file(path, PROC_FILE_MAX, NULL, err);
}

static int read_maps(struct hk_inspect *in, const char *proc, struct hk_err *err)
{
	_cleanup_free_ char *uid = read_proc(proc, "uid_map", err);
	_cleanup_free_ char *gid = uid ? read_proc(proc, "gid_map", err) : NULL;

	if (!gid)
		return -1;
	if (userns_parse_map(uid, &in->uid_map, &in->n_uid_map) < 0 ||
	    userns_parse_map(gid, &in->gid_map, &in->n_gid_map) < 0)
		return hk_fail(err, 0, "%s/uid_map or gid_map: malformed", proc);
	return 0;
}

static int read_status(struct hk_inspect *in, const char *proc, struct hk_err *err)
{
	_cleanup_free_ char *text = read_proc(proc, "status", err);

	if (!text)
		return -1;
	if (caps_from_status(text, &in->caps) < 0 ||
	    !procfs_status_u64(text, "NoNewPrivs", 10, &in->nnp))
		return hk_fail(err, 0, "%s/status: no capability or NoNewPrivs lines", proc);
	/* Seccomp_filters came in Linux 5.9; a kernel without seccomp has
	 * neither line: both read as 0. */
	procfs_status_u64(text, "Seccomp", 10, &in->seccomp_mode);
	procfs_status_u64(text, "Seccomp_filters", 10, &in->seccomp_filters);
	in->cap_last = caps_kernel_last();
	return 0;
}

static void take_root_mount(struct hk_inspect_rootfs *r, struct hk_mountinfo *m)
{
	r->fstype = TAKE_PTR(m->fstype);
	r->source = TAKE_PTR(m->source);
	r->root = TAKE_PTR(m->root);
	if (strcmp(r->fstype, "overlay") == 0) {
		_cleanup_free_ char *lower = mountinfo_opt(m->super_opts, "lowerdir");
		if (lower)
			r->lowers = mountinfo_split_layers(lower, &r->n_lowers);
		r->upper = mountinfo_opt(m->super_opts, "upperdir");
		r->work = mountinfo_opt(m->super_opts, "workdir");
	}
	mountinfo_clear(m);
}

/* The container's "/" is the last mount on "/" (pivot_root leaves the
 * rootfs on top); every other mount is listed as it is. */
static int read_mounts(struct hk_inspect *in, pid_t pid, struct hk_err *err)
{
	struct hk_mountinfo *v;
	size_t n, root = SIZE_MAX;

	if (mountinfo_read(pid, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].target, "/") == 0)
			root = i;
	if (root != SIZE_MAX) {
		take_root_mount(&in->rootfs, &v[root]);
		memmove(&v[root], &v[root + 1], (n - root - 1) * sizeof(*v));
		n--;
	}
	in->mounts = v;
	in->n_mounts = n;
	return 0;
}

static void read_addresses(struct hk_inspect *in, pid_t pid)
{
	struct hk_err err = {0};

	if (!in->ns[HK_NS_NET].known || !inspect_ns_isolated(&in->ns[HK_NS_NET]))
		return;
	if (net_ifaddrs_of(pid, &in->addrs, &in->n_addrs, &err) < 0)
		in->net_error = xstrdup(err.msg);
}

static int read_proc_facts(struct hk_inspect *in, pid_t pid, struct hk_err *err)
{
	char proc[32];

	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	read_namespaces(in, proc);
	if (read_maps(in, proc, err) < 0 || read_status(in, proc, err) < 0 ||
	    read_mounts(in, pid, err) < 0)
		return -1;
	read_addresses(in, pid);
	return 0;
}

/* Limits and usage, where the cgroup is still there: a stopped container
 * keeps it until delete. */
static void read_cgroup(struct hk_inspect_cgroup *c, const struct hk_cgroup *cg)
{
	struct hk_err err = {0};

	if (!cg || cg->n_dirs == 0)
		return;
	c->present = true;
	c->version = cg->version;
	c->dirs = xcalloc(cg->n_dirs, sizeof(*c->dirs));
	for (size_t i = 0; i < cg->n_dirs; i++) {
		c->dirs[i].name = xstrdup(cg->dirs[i].name);
		c->dirs[i].dir = xstrdup(cg->dirs[i].dir);
		c->dirs[i].shared = cg->dirs[i].shared;
	}
	c->n_dirs = cg->n_dirs;
	c->has_stats = cg_stats(cg, &c->stats, &err) == 0;
	c->has_cpu = cg_cpu_limit(cg, &c->cpu_quota, &c->cpu_period);
}

/* The seccomp rules the container was given: the kernel shows how many
 * filters a process has, never their rules. */
static void read_config(struct hk_inspect *in)
{
	struct hk_err err = {0};
	_cleanup_spec_ struct hk_spec *spec = in->bundle ? spec_load(in->bundle, &err) : NULL;

	if (!spec)
		return;
	in->config_read = true;
	in->config_seccomp = spec->seccomp.present;
	in->config_rules = spec->seccomp.n_rules;
	for (size_t i = 0; i < spec->seccomp.n_rules; i++)
		in->config_syscalls += spec->seccomp.rules[i].n_names;
}

/* husk net's record of the container, if it is this container's: the same
 * process, or the same network namespace. */
static void read_lease(struct hk_inspect *in, const char *dir, const struct hk_state *st)
{
	struct net_lease l;
	struct hk_err err = {0};

	if (!in->live || net_lease_find(dir, st->id, &l, &err) <= 0)
		return;
	if ((l.pid == st->pid && l.start_time == st->start_time) ||
	    (l.netns_ino && l.netns_ino == in->ns[HK_NS_NET].ino)) {
		in->has_lease = true;
		memcpy(in->bridge, l.bridge, sizeof(in->bridge));
		in->ports = TAKE_PTR(l.ports);
		in->n_ports = l.n_ports;
	}
	net_lease_free(&l);
}

/* Forget what was read from /proc: the process went away meanwhile, and
 * its pid may already be someone else's. */
static void drop_proc_facts(struct hk_inspect *in)
{
	struct hk_inspect keep = *in;

	in->id = NULL;
	in->bundle = NULL;
	in->rootfs.path = NULL;
	in->cgroup = (struct hk_inspect_cgroup){0};
	container_inspect_free(in);
	*in = (struct hk_inspect){.id = keep.id,
				  .status = state_status_name(HK_STOPPED),
				  .bundle = keep.bundle,
				  .cgroup = keep.cgroup,
				  .config_read = keep.config_read,
				  .config_seccomp = keep.config_seccomp,
				  .config_rules = keep.config_rules,
				  .config_syscalls = keep.config_syscalls};
	in->rootfs.path = keep.rootfs.path;
}

struct inspect_ctx {
	struct hk_inspect *out;
	const char *net_dir;
};

static int inspect_locked(struct hk_state_dir *sd, struct hk_state *st, void *data,
			  struct hk_err *err)
{
	struct inspect_ctx *ctx = data;
	struct hk_inspect *in = ctx->out;
	enum hk_status status = state_status(sd, st);

	in->id = xstrdup(st->id);
	in->status = state_status_name(status);
	in->bundle = st->bundle ? xstrdup(st->bundle) : NULL;
	in->rootfs.path = st->rootfs ? xstrdup(st->rootfs) : NULL;
	in->started = status == HK_RUNNING || status == HK_PAUSED;
	read_config(in);
	read_cgroup(&in->cgroup, st->cgroup);
	if (status == HK_STOPPED || status == HK_CREATING || st->pid <= 0)
		return 0;
	in->pid = st->pid;
	in->live = true;
	if (read_proc_facts(in, st->pid, err) < 0) {
		if (state_proc_start_time(st->pid) == st->start_time)
			return -1;
		drop_proc_facts(in);
		return 0;
	}
	/* Read after the facts: if the start time still matches, they were
	 * the container's process's and not a reused pid's. */
	if (state_proc_start_time(st->pid) != st->start_time) {
		drop_proc_facts(in);
		return 0;
	}
	read_lease(in, ctx->net_dir ? ctx->net_dir : NET_DIR_DEFAULT, st);
	return 0;
}

int container_inspect(const char *root, const char *id, const char *net_dir, struct hk_inspect *out,
		      struct hk_err *err)
{
	struct inspect_ctx ctx = {out, net_dir};

	*out = (struct hk_inspect){0};
	if (state_with(root, id, false, inspect_locked, &ctx, err) < 0) {
		container_inspect_free(out);
		return -1;
	}
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void container_inspect_free(struct hk_inspect *in)
{
	free(in->id);
	free(in->bundle);
	free(in->uid_map);
	free(in->gid_map);
	for (size_t i = 0; i < in->cgroup.n_dirs; i++) {
		free(in->cgroup.dirs[i].name);
		free(in->cgroup.dirs[i].dir);
	}
	free(in->cgroup.dirs);
	cg_stats_clear(&in->cgroup.stats);
	free(in->rootfs.path);
	free(in->rootfs.fstype);
	free(in->rootfs.source);
	free(in->rootfs.root);
	free_strv(in->rootfs.lowers, in->rootfs.n_lowers);
	free(in->rootfs.upper);
	free(in->rootfs.work);
	mountinfo_free_all(in->mounts, in->n_mounts);
	free(in->addrs);
	free(in->net_error);
	free(in->ports);
	*in = (struct hk_inspect){0};
}
