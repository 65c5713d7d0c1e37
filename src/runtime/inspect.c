/* husk inspect: the container's isolation, read from the host side. Each
 * fact comes from the kernel (/proc/<pid>/..., the cgroup files) or from
 * husk's own records (state.json, the bundle's config.json, husk net's
 * lease), never from inside the container's root. */
#include "runtime/inspect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/procstat.h"
#include "common/strv.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/ns.h"
#include "linux/procfs.h"
#include "linux/userns.h"
#include "netinfo/lease.h"
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

/* A process unshares a time namespace for its children and its next
 * execve, not for itself: the container's first process is still in the
 * host's until start execs the program. time_for_children is where it and
 * its children run. */
static int proc_ns_ino(const char *proc, enum hk_ns_type t, unsigned long long *ino)
{
	char path[96];
	struct stat sb;

	if (t != HK_NS_TIME)
		return ns_ino(proc, t, ino);
	snprintf(path, sizeof(path), "%s/ns/time_for_children", proc);
	if (stat(path, &sb) < 0)
		return -1;
	*ino = (unsigned long long)sb.st_ino;
	return 0;
}

static int pid_ns_ino(pid_t pid, enum hk_ns_type t, unsigned long long *ino)
{
	char proc[32];

	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	return proc_ns_ino(proc, t, ino);
}

void inspect_record_ns(pid_t pid, unsigned long long ns[HK_NS_COUNT])
{
	for (int t = 0; t < HK_NS_COUNT; t++)
		if (pid_ns_ino(pid, (enum hk_ns_type)t, &ns[t]) < 0)
			ns[t] = 0;
}

/* What husk made (recorded at create), next to the host's. A state of an
 * older husk has no record: pid 1's namespaces stand in. */
static void read_namespaces(struct hk_inspect *in, const struct hk_state *st)
{
	in->host = host_proc();
	for (int t = 0; t < HK_NS_COUNT; t++) {
		struct hk_inspect_ns *ns = &in->ns[t];
		ns->known = proc_ns_ino(in->host, (enum hk_ns_type)t, &ns->host_ino) == 0;
		ns->recorded = st->ns[t] != 0;
		if (ns->recorded)
			ns->ino = st->ns[t];
		else if (pid_ns_ino(st->pid, (enum hk_ns_type)t, &ns->ino) < 0)
			ns->known = false;
	}
}

/* Every process of the container (its cgroup's), the first one first. */
static pid_t *container_procs(const struct hk_state *st, size_t *n)
{
	_cleanup_free_ pid_t *cg = NULL;
	size_t n_cg = 0;
	struct hk_err err = {0};

	if (st->cgroup && cg_pids(st->cgroup, &cg, &n_cg, &err) < 0)
		n_cg = 0;
	pid_t *v = xcalloc(n_cg + 1, sizeof(*v));
	v[0] = st->pid;
	*n = 1;
	for (size_t i = 0; i < n_cg; i++)
		if (cg[i] != st->pid)
			v[(*n)++] = cg[i];
	return v;
}

/* Which processes hold another namespace than the one husk made. */
static void find_moved(struct hk_inspect *in, const pid_t *pids, size_t n)
{
	for (int t = 0; t < HK_NS_COUNT; t++) {
		struct hk_inspect_ns *ns = &in->ns[t];
		for (size_t i = 0; ns->known && i < n; i++) {
			unsigned long long ino;
			if (pid_ns_ino(pids[i], (enum hk_ns_type)t, &ino) < 0 || ino == ns->ino)
				continue;
			if (ns->n_moved < INSPECT_MOVED_MAX)
				ns->moved[ns->n_moved++] = (struct hk_inspect_moved){pids[i], ino};
			ns->n_moved_all++;
		}
	}
}

/* A process of the container still in the namespace of type t that husk
 * made, to read that namespace's facts through (id maps, mounts,
 * addresses). The pidfd proves afterwards that the pid stayed that
 * process's while they were read (witness_held). */
struct witness {
	pid_t pid;
	int pidfd;
};

static bool find_witness(const struct hk_inspect *in, enum hk_ns_type t, const pid_t *pids,
			 size_t n, struct witness *w)
{
	for (size_t i = 0; in->ns[t].known && i < n; i++) {
		unsigned long long ino;
		int fd = hk_pidfd_open(pids[i], 0);
		if (fd < 0)
			continue;
		if (pid_ns_ino(pids[i], t, &ino) == 0 && ino == in->ns[t].ino) {
			*w = (struct witness){pids[i], fd};
			return true;
		}
		close(fd);
	}
	*w = (struct witness){0, -1};
	return false;
}

/* Still alive (so its pid was never anyone else's) and still there. */
static bool witness_held(const struct hk_inspect *in, enum hk_ns_type t, struct witness *w)
{
	unsigned long long ino;
	bool held = hk_pidfd_send_signal(w->pidfd, 0, NULL, 0) == 0 &&
		    pid_ns_ino(w->pid, t, &ino) == 0 && ino == in->ns[t].ino;

	close(w->pidfd);
	w->pidfd = -1;
	return held;
}

static char *read_proc(const char *proc, const char *file, struct hk_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", proc, file);
	return hk_read_file(path, PROC_FILE_MAX, NULL, err);
}

static int parse_maps(struct hk_inspect *in, const char *proc, struct hk_err *err)
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

static void clear_maps(struct hk_inspect *in)
{
	free(in->uid_map);
	free(in->gid_map);
	in->uid_map = in->gid_map = NULL;
	in->n_uid_map = in->n_gid_map = 0;
}

/* The id maps of the user namespace husk made, read through a process
 * still in it; when none is and husk made none, they are the host's. Not
 * pid 1's own: a process that made a user namespace of its own without
 * maps would pass for "nobody outside" while it is the host's root. */
static int read_maps(struct hk_inspect *in, const pid_t *pids, size_t n, struct hk_err *err)
{
	struct witness w;
	char proc[32];

	if (!find_witness(in, HK_NS_USER, pids, n, &w)) {
		if (in->ns[HK_NS_USER].known && inspect_ns_isolated(&in->ns[HK_NS_USER]))
			return 0;
		in->maps_known = parse_maps(in, in->host, err) == 0;
		return in->maps_known ? 0 : -1;
	}
	snprintf(proc, sizeof(proc), "/proc/%d", (int)w.pid);
	int r = parse_maps(in, proc, err);
	if (!witness_held(in, HK_NS_USER, &w)) {
		clear_maps(in);
		return 0;
	}
	in->maps_known = r == 0;
	return r;
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
	if (ns_ino(proc, HK_NS_USER, &in->caps_userns) < 0)
		in->caps_userns = in->ns[HK_NS_USER].ino;
	return 0;
}

static void take_root_mount(struct hk_inspect_rootfs *r, struct hk_mountinfo *m)
{
	r->fstype = TAKE_PTR(m->fstype);
	r->source = TAKE_PTR(m->source);
	r->root = TAKE_PTR(m->root);
	if (strcmp(r->fstype, "overlay") == 0) {
		r->lowers = mountinfo_overlay_lowers(m->super_raw, &r->n_lowers);
		r->upper = mountinfo_raw_opt(m->super_raw, "upperdir");
		r->work = mountinfo_raw_opt(m->super_raw, "workdir");
	}
	mountinfo_clear(m);
}

static const char no_witness[] = "no process of the container is left in the %s namespace "
				 "husk made";

/* The mounts of the mount namespace husk made. The container's "/" is the
 * last mount on "/" (pivot_root leaves the rootfs on top); every other
 * mount is listed as it is. */
static int read_mounts(struct hk_inspect *in, const pid_t *pids, size_t n, struct hk_err *err)
{
	struct hk_mountinfo *v;
	struct witness w;
	size_t n_v, root = SIZE_MAX;

	if (!find_witness(in, HK_NS_MNT, pids, n, &w)) {
		in->mounts_error = xasprintf(no_witness, "mount");
		return 0;
	}
	int r = mountinfo_read(w.pid, &v, &n_v, err);
	if (!witness_held(in, HK_NS_MNT, &w)) {
		if (r == 0)
			mountinfo_free_all(v, n_v);
		in->mounts_error = xasprintf(no_witness, "mount");
		return 0;
	}
	if (r < 0)
		return -1;
	for (size_t i = 0; i < n_v; i++)
		if (strcmp(v[i].target, "/") == 0)
			root = i;
	if (root != SIZE_MAX) {
		take_root_mount(&in->rootfs, &v[root]);
		memmove(&v[root], &v[root + 1], (n_v - root - 1) * sizeof(*v));
		n_v--;
	}
	in->mounts = v;
	in->n_mounts = n_v;
	return 0;
}

static void read_addresses(struct hk_inspect *in, const pid_t *pids, size_t n)
{
	struct hk_err err = {0};
	struct witness w;

	if (!in->ns[HK_NS_NET].known || !inspect_ns_isolated(&in->ns[HK_NS_NET]))
		return;
	if (!find_witness(in, HK_NS_NET, pids, n, &w)) {
		in->net_error = xasprintf(no_witness, "network");
		return;
	}
	int r = net_ifaddrs_of(w.pid, &in->addrs, &in->n_addrs, &err);
	if (!witness_held(in, HK_NS_NET, &w)) {
		free(in->addrs);
		in->addrs = NULL;
		in->n_addrs = 0;
		in->net_error = xasprintf(no_witness, "network");
	} else if (r < 0) {
		in->net_error = xstrdup(err.msg);
	}
}

static int read_proc_facts(struct hk_inspect *in, const struct hk_state *st, struct hk_err *err)
{
	char proc[32];
	size_t n;
	_cleanup_free_ pid_t *pids = container_procs(st, &n);

	snprintf(proc, sizeof(proc), "/proc/%d", (int)st->pid);
	read_namespaces(in, st);
	find_moved(in, pids, n);
	if (read_maps(in, pids, n, err) < 0 || read_status(in, proc, err) < 0 ||
	    read_mounts(in, pids, n, err) < 0)
		return -1;
	read_addresses(in, pids, n);
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
	c->unit = cg->unit ? xstrdup(cg->unit) : NULL;
	/* a scope systemd dropped, or one of the same name made since by
	 * another container: nothing there is this one's to report (eighth
	 * outside attack, F4) */
	if (cg->gone || cg->foreign)
		return;
	c->has_stats = cg_stats(cg, &c->stats, &err) == 0;
	c->has_cpu = cg_cpu_limit(cg, &c->cpu_quota, &c->cpu_period);
}

/* The seccomp rules the container was given: the kernel shows how many
 * filters a process has, never their rules. */
static void read_config(struct hk_inspect *in, struct hk_state_dir *sd, const struct hk_state *st)
{
	struct hk_err err = {0};
	_cleanup_spec_ struct hk_spec *spec = state_load_config(sd, st, &err);

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
	read_config(in, sd, st);
	read_cgroup(&in->cgroup, st->cgroup);
	if (status == HK_STOPPED || status == HK_CREATING || st->pid <= 0)
		return 0;
	in->pid = st->pid;
	in->live = true;
	if (read_proc_facts(in, st, err) < 0) {
		if (hk_proc_start_time(st->pid) == st->start_time)
			return -1;
		drop_proc_facts(in);
		return 0;
	}
	/* Read after the facts: if the start time still matches, they were
	 * the container's process's and not a reused pid's. */
	if (hk_proc_start_time(st->pid) != st->start_time) {
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
	free(in->cgroup.unit);
	cg_stats_clear(&in->cgroup.stats);
	free(in->rootfs.path);
	free(in->rootfs.fstype);
	free(in->rootfs.source);
	free(in->rootfs.root);
	hk_strv_free(in->rootfs.lowers, in->rootfs.n_lowers);
	free(in->rootfs.upper);
	free(in->rootfs.work);
	mountinfo_free_all(in->mounts, in->n_mounts);
	free(in->mounts_error);
	free(in->addrs);
	free(in->net_error);
	free(in->ports);
	*in = (struct hk_inspect){0};
}
