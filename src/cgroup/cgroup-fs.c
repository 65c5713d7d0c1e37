/* The cgroupfs manager: husk makes, enters and removes the container's
 * cgroup directories itself, in the hierarchies mounted on the host (as
 * runc's and crun's cgroupfs managers). What goes into the directories
 * (limits, devices, freezer, stats) is the v1/v2 file backends'. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/mountinfo.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* husk's own cgroup in the hierarchy whose /proc/self/cgroup entry has these
 * controllers ("" for cgroup2). */
static char *own_cgroup(const char *own, const char *controllers)
{
	const char *line = own;

	while (line && *line) {
		const char *c1 = strchr(line, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *end = strchr(line, '\n');
		if (!c2)
			break;
		size_t clen = (size_t)(c2 - c1 - 1);
		if (clen == strlen(controllers) && strncmp(c1 + 1, controllers, clen) == 0)
			return end ? strndup(c2 + 1, (size_t)(end - c2 - 1)) : xstrdup(c2 + 1);
		line = end ? end + 1 : NULL;
	}
	return xstrdup("/");
}

/* The controllers named in a v1 mount's super options: "rw,cpu,cpuacct" ->
 * "cpu,cpuacct" (the form /proc/self/cgroup uses). */
static char *v1_controllers(const char *superopts)
{
	_cleanup_free_ char *copy = xstrdup(superopts);
	char *out = xzalloc(strlen(superopts) + 1);
	char *save = NULL;

	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "rw") || !strcmp(o, "ro") || !strncmp(o, "release_agent", 13) ||
		    !strcmp(o, "clone_children") || !strcmp(o, "noprefix") || !strcmp(o, "xattr") ||
		    !strcmp(o, "nsdelegate") || !strncmp(o, "memory_", 7))
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, o);
	}
	return out;
}

static char *join_path(const char *mnt, const char *base, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s/%s", mnt, base, rel);
	char *o = p, *out = xmalloc(strlen(p) + 1), *w = out;
	/* squeeze "//" and drop a trailing "/" */
	for (; *o; o++)
		if (!(*o == '/' && (w > out && w[-1] == '/')))
			*w++ = *o;
	if (w > out + 1 && w[-1] == '/')
		w--;
	*w = '\0';
	return out;
}

static void add_hierarchy(struct hk_cgroup *cg, const struct hk_mountinfo *f, const char *own,
			  const char *rel, bool absolute)
{
	_cleanup_free_ char *ctrl =
		strcmp(f->fstype, "cgroup2") == 0 ? xstrdup("") : v1_controllers(f->super_opts);
	_cleanup_free_ char *mine = own_cgroup(own, ctrl);
	/* cgroup v2 (as runc): relative to the parent of husk's cgroup, which
	 * holds husk's own process and so cannot hand controllers down (the
	 * no-internal-processes rule); its parent can. */
	char *slash = strrchr(mine, '/');
	if (!absolute && !*ctrl && slash && slash != mine)
		*slash = '\0';
	else if (!absolute && !*ctrl && slash)
		slash[1] = '\0';
	/* Paths in /proc/self/cgroup are from the hierarchy's root; the mount
	 * may show only a subtree of it (field 4 of mountinfo). */
	const char *base = absolute ? "/" : mine;
	size_t rootlen = strlen(f->root);
	if (strcmp(f->root, "/") != 0 && strncmp(base, f->root, rootlen) == 0)
		base += rootlen;
	_cleanup_free_ char *dir = join_path(f->target, base, rel);
	const char *mslash = strrchr(f->target, '/');
	cg_add_dir(cg, cg->version == 2 ? "" : (mslash ? mslash + 1 : f->target), dir);
}

/* Known before anything is made, so that even the first state written (and
 * a delete --force after a crash) knows which cgroups are not husk's. */
static void mark_shared(struct hk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		cg->dirs[i].shared = access(cg->dirs[i].dir, F_OK) == 0;
}

/* "cgroup2", or a v1 hierarchy's controllers: one key per hierarchy. */
static char *hierarchy_key(const struct hk_mountinfo *f)
{
	if (strcmp(f->fstype, "cgroup2") == 0)
		return xstrdup("cgroup2");
	_cleanup_free_ char *ctrl = v1_controllers(f->super_opts);
	return xasprintf("cgroup:%s", ctrl);
}

/* Each hierarchy once, from its first mount of the whole hierarchy (root
 * "/") in mountinfo's order, else its first mount at all: a bind of a
 * hierarchy, or of a subtree of it, mounted elsewhere (by a container
 * tool, another runtime's rootfs left mounted) must not become one more
 * place to put containers, nor, read-only, fail every create. */
static void add_hierarchies(struct hk_cgroup *cg, struct hk_cgroup *v2,
			    const struct hk_mountinfo *mounts, size_t n, const char *own,
			    const char *path, bool absolute)
{
	char **seen = xcalloc(n + 1, sizeof(char *));
	size_t n_seen = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct hk_mountinfo *f = &mounts[i];
			if ((strcmp(f->fstype, "cgroup") != 0 &&
			     strcmp(f->fstype, "cgroup2") != 0) ||
			    (pass == 0) != (strcmp(f->root, "/") == 0))
				continue;
			char *key = hierarchy_key(f);
			bool dup = false;
			for (size_t k = 0; k < n_seen && !dup; k++)
				dup = strcmp(seen[k], key) == 0;
			if (dup) {
				free(key);
				continue;
			}
			seen[n_seen++] = key;
			add_hierarchy(strcmp(f->fstype, "cgroup2") == 0 ? v2 : cg, f, own, path,
				      absolute);
		}
	}
	hk_strv_free(seen, n_seen);
}

struct hk_cgroup *cg_fs_resolve(const char *cgroups_path, const char *id, struct hk_err *err)
{
	_cleanup_free_ char *own = hk_read_file("/proc/self/cgroup", 1 << 20, NULL, err);
	const char *path = cgroups_path && *cgroups_path ? cgroups_path : id;
	bool absolute = path[0] == '/';
	struct hk_mountinfo *mounts;
	size_t n;

	if (!own || mountinfo_read(0, &mounts, &n, err) < 0)
		return NULL;
	struct hk_cgroup *cg = cg_new(1, NULL);
	struct hk_cgroup *v2 = cg_new(2, NULL);
	add_hierarchies(cg, v2, mounts, n, own, path, absolute);
	mountinfo_free_all(mounts, n);
	if (cg->n_dirs == 0 && v2->n_dirs > 0) {
		cg_free(cg);
		v2->n_dirs = 1; /* one unified hierarchy; ignore extra mounts of it */
		mark_shared(v2);
		return v2;
	}
	/* Hybrid: the cgroup2 hierarchy is one more place to put the process. */
	for (size_t i = 0; i < v2->n_dirs && i < 1; i++)
		cg_add_dir(cg, "unified", v2->dirs[i].dir);
	cg_free(v2);
	if (cg->n_dirs == 0) {
		cg_free(cg);
		hk_fail(err, 0, "no cgroup hierarchy is mounted");
		return NULL;
	}
	mark_shared(cg);
	return cg;
}

/* A new cpuset cgroup has no cpus and no mems, and refuses tasks until they
 * are set (cgroups(7) v1 cpuset): copy them down from the parent. */
static int cpuset_inherit(const char *dir, struct hk_err *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *mine = xasprintf("%s/%s", dir, files[i]);
		_cleanup_free_ char *cur = hk_read_file(mine, 65536, NULL, NULL);
		if (cur && cur[0] != '\n' && cur[0] != '\0')
			continue;
		_cleanup_free_ char *parent = xasprintf("%s/../%s", dir, files[i]);
		_cleanup_free_ char *val = hk_read_file(parent, 65536, NULL, err);
		if (!val || hk_write_str(mine, val, err) < 0)
			return -1;
	}
	return 0;
}

static int mkdir_hierarchy(const struct hk_cg_dir *d, struct hk_err *err)
{
	bool cpuset = strcmp(d->name, "cpuset") == 0;

	/* The usual case first, its parent there: one mkdir, not one per
	 * component of the path (nine hierarchies, a start's critical path). */
	if (mkdir(d->dir, 0755) == 0)
		return cpuset ? cpuset_inherit(d->dir, err) : 0;
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return hk_fail(err, errno, "create cgroup %s", d->dir);
	_cleanup_free_ char *p = xstrdup(d->dir);

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) == 0) {
			if (cpuset && cpuset_inherit(p, err) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return hk_fail(err, errno, "create cgroup %s", p);
		}
		*s = c;
		if (c == '\0')
			return 0;
	}
}

/* Hand every controller a directory has down to its children, so that the
 * container's cgroup has them all. One by one: a controller the kernel
 * will not delegate here (say, cpuset in a threaded subtree) must not cost
 * the others; a resource that needs it then fails, naming the file. */
static void enable_controllers(const char *dir)
{
	_cleanup_free_ char *cpath = xasprintf("%s/cgroup.controllers", dir);
	_cleanup_free_ char *spath = xasprintf("%s/cgroup.subtree_control", dir);
	_cleanup_free_ char *have = hk_read_file(cpath, 4096, NULL, NULL);
	_cleanup_free_ char *on = hk_read_file(spath, 4096, NULL, NULL);
	char *save = NULL, word[64];

	if (!have || !on)
		return;
	for (char *c = strtok_r(have, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		snprintf(word, sizeof(word), " %s ", c);
		_cleanup_free_ char *padded = xasprintf(" %s ", on);
		for (char *p = padded; *p; p++)
			if (*p == '\n')
				*p = ' ';
		if (strstr(padded, word))
			continue;
		snprintf(word, sizeof(word), "+%s", c);
		if (hk_write_str(spath, word, NULL) < 0)
			hk_debug("cgroup: cannot enable %s in %s", c, dir);
	}
}

/* mkdir -p, enabling the controllers in each parent on the way down. */
static int make_dirs(const char *dir, struct hk_err *err)
{
	/* the usual case first: the parent is there */
	if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
		_cleanup_free_ char *parent = xstrdup(dir);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			enable_controllers(parent);
		}
		return 0;
	}
	if (errno != ENOENT)
		return hk_fail(err, errno, "create cgroup %s", dir);
	_cleanup_free_ char *p = xstrdup(dir);
	bool parent_known = false;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		bool made = mkdir(p, 0755) == 0;
		if (!made && errno != EEXIST)
			return hk_fail(err, errno, "create cgroup %s", p);
		if (made || c == '\0') {
			/* the parent of the first directory made, then each
			 * one made that gets children */
			char *slash = strrchr(p, '/');
			if (!parent_known && slash && slash != p) {
				*slash = '\0';
				enable_controllers(p);
				*slash = '/';
				parent_known = true;
			}
			if (made && c != '\0')
				enable_controllers(p);
		}
		*s = c;
		if (c == '\0')
			return 0;
	}
}

/* v1: each hierarchy's directory; one the kernel refuses rootless is left
 * out (cg_refusal). */
static int v1_make(struct hk_cgroup *cg, struct hk_err *err)
{
	for (size_t i = 0; i < cg->n_dirs;) {
		if (mkdir_hierarchy(&cg->dirs[i], err) < 0) {
			if (!cg_refusal(cg, err->errnum))
				return -1;
			cg_drop_dir(cg, i, err->msg);
			hk_err_clear(err);
			continue;
		}
		hk_debug("cgroup: made %s", cg->dirs[i].dir);
		i++;
	}
	return 0;
}

static int v2_make(struct hk_cgroup *cg, struct hk_err *err)
{
	if (cg->n_dirs == 0)
		return 0;
	if (make_dirs(cg->dirs[0].dir, err) < 0) {
		if (!cg_refusal(cg, err->errnum))
			return -1;
		cg_drop_dir(cg, 0, err->msg);
		hk_err_clear(err);
	}
	return 0;
}

static int fs_create(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err)
{
	(void)spec;
	return cg->version == 2 ? v2_make(cg, err) : v1_make(cg, err);
}

/* The hierarchy clone3 can place the process in: v2's cgroup (made by
 * cg_create already), or a hybrid host's unified one (made here). */
static int fs_clone_fd(struct hk_cgroup *cg, int *fd, struct hk_err *err)
{
	size_t i = 0;

	if (cg->version != 2)
		while (i < cg->n_dirs && strcmp(cg->dirs[i].name, "unified") != 0)
			i++;
	if (i >= cg->n_dirs)
		return 0;
	/* exec: the container's is there already */
	*fd = open(cg->dirs[i].dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd >= 0 || cg->version == 2 || errno != ENOENT)
		goto opened;
	if (make_dirs(cg->dirs[i].dir, err) < 0) {
		if (!cg_refusal(cg, err->errnum))
			return -1;
		cg_drop_dir(cg, i, err->msg);
		hk_err_clear(err);
		return 0;
	}
	*fd = open(cg->dirs[i].dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
opened:
	if (*fd < 0)
		return hk_fail(err, errno, "open cgroup %s", cg->dirs[i].dir);
	cg->dirs[i].placed = true;
	return 0;
}

static int enter_by_pid(struct hk_cgroup *cg, size_t i, pid_t pid, struct hk_err *err)
{
	char buf[24];
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", cg->dirs[i].dir);

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return hk_write_str(procs, buf, err);
}

static int open_tasks(struct hk_cgroup *cg, size_t i, struct hk_err *err)
{
	_cleanup_free_ char *tasks = xasprintf("%s/tasks", cg->dirs[i].dir);
	int fd = open(tasks, O_WRONLY | O_CLOEXEC);

	return fd < 0 ? hk_fail(err, errno, "open %s", tasks) : fd;
}

static int close_fds(int *fds, size_t *n)
{
	while (*n > 0)
		close(fds[--*n]);
	return -1;
}

/* v1: the tasks files, for the process to enter by itself; a v2 hierarchy
 * (hybrid's unified) clone3 did not place it in: its pid, written here. */
static int fs_enter_fds(struct hk_cgroup *cg, pid_t pid, int *fds, size_t max, size_t *n,
			struct hk_err *err)
{
	*n = 0;
	for (size_t i = 0; i < cg->n_dirs;) {
		struct hk_cg_dir *d = &cg->dirs[i];
		bool v2 = cg->version == 2 || strcmp(d->name, "unified") == 0;
		int fd = -1;
		if (d->placed) {
			i++;
			continue;
		}
		if (!v2 && *n >= max) {
			hk_fail(err, E2BIG, "enter cgroup: more than %zu hierarchies", max);
			return close_fds(fds, n);
		}
		int r = v2 ? enter_by_pid(cg, i, pid, err) : (fd = open_tasks(cg, i, err));
		if (r < 0) {
			if (!cg_refusal(cg, err->errnum))
				return close_fds(fds, n);
			cg_drop_dir(cg, i, err->msg);
			hk_err_clear(err);
			continue;
		}
		if (fd >= 0)
			fds[(*n)++] = fd;
		i++;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* A cgroup the container made below its own: thawed (v1's frozen tasks die
 * only once thawed, a container may freeze a child of its own), its
 * processes killed, then removed; children come first, and what is still
 * busy (dying tasks) goes on the next attempt. */
static void kill_and_remove(int parentfd, const char *name, int fd, void *data)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	(void)data;
	(void)hk_write_strat(fd, "freezer.state", "THAWED", NULL);
	if (cg_read_pids_at(fd, name, &pids, &n, NULL) == 0)
		for (size_t k = 0; k < n; k++)
			kill(pids[k], SIGKILL);
	unlinkat(parentfd, name, AT_REMOVEDIR);
}

/* One hierarchy's directory: 0 removed, 1 still busy, -1 error. */
static int destroy_dir(const struct hk_cg_dir *d, struct hk_err *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	if (rmdir(d->dir) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY)
		return hk_fail(err, errno, "remove cgroup %s", d->dir);
	if (cg_walk_below(d->dir, kill_and_remove, NULL, err) < 0)
		return hk_err_prefix(err, "remove cgroup %s", d->dir);
	if (cg_read_pids(d->dir, &pids, &n, NULL) == 0)
		for (size_t k = 0; k < n; k++)
			kill(pids[k], SIGKILL);
	return 1;
}

/* rmdir fails with EBUSY while dying tasks are still listed, or while the
 * container's own cgroups below are there (outside attack, F8): kill,
 * remove them, and retry for up to ~2 s. */
static int fs_destroy(struct hk_cgroup *cg, struct hk_err *err)
{
	const char *busy = NULL;

	for (int attempt = 0; attempt < 200; attempt++) {
		busy = NULL;
		for (size_t i = 0; i < cg->n_dirs; i++) {
			if (cg->dirs[i].shared)
				continue;
			int r = destroy_dir(&cg->dirs[i], err);
			if (r < 0)
				return -1;
			if (r > 0 && !busy)
				busy = cg->dirs[i].dir;
		}
		/* v1 frozen tasks die only once thawed */
		if (busy && attempt == 0 && cg_frozen(cg) == 1)
			cg_backend(cg)->freeze(cg, false, NULL);
		if (!busy)
			return 0;
		sleep_ms(attempt < 20 ? 1 : 10);
	}
	return hk_fail(err, EBUSY, "remove cgroup %s", busy);
}

const struct cg_manager cg_fs_manager = {
	.name = "cgroupfs",
	.resolve = cg_fs_resolve,
	.create = fs_create,
	.clone_fd = fs_clone_fd,
	.enter_fds = fs_enter_fds,
	.destroy = fs_destroy,
};
