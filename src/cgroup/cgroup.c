#include "cgroup/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "spec/spec.h"

/* Devices every container gets after its rules, as runc grants them: mknod
 * of anything, and the standard /dev nodes (null, zero, full, random,
 * urandom, tty, ptmx, the pty slaves, tun). */
#define DEV_ALLOW(t, maj, min, acc)                                                 \
	{                                                                           \
		.allow = true, .type = t, .major = maj, .minor = min, .access = acc \
	}
const struct hk_dev_rule cg_default_allow[] = {
	DEV_ALLOW('c', -1, -1, "m"),    DEV_ALLOW('b', -1, -1, "m"),    DEV_ALLOW('c', 1, 3, "rwm"),
	DEV_ALLOW('c', 1, 5, "rwm"),    DEV_ALLOW('c', 1, 7, "rwm"),    DEV_ALLOW('c', 1, 8, "rwm"),
	DEV_ALLOW('c', 1, 9, "rwm"),    DEV_ALLOW('c', 5, 0, "rwm"),    DEV_ALLOW('c', 5, 2, "rwm"),
	DEV_ALLOW('c', 136, -1, "rwm"), DEV_ALLOW('c', 10, 200, "rwm"),
};
#undef DEV_ALLOW
const size_t cg_n_default_allow = sizeof(cg_default_allow) / sizeof(cg_default_allow[0]);
/* The node each default stands for, if one. */
static const char *const default_path[] = {
	NULL,           NULL,       "/dev/null", "/dev/zero", "/dev/full",    "/dev/random",
	"/dev/urandom", "/dev/tty", "/dev/ptmx", NULL,        "/dev/net/tun",
};

/* A default is the container's to decide when linux.devices lists the node
 * itself: the config's own rules then say what it may do (runc's rule). */
static bool listed(const struct hk_spec *s, const char *path)
{
	for (size_t i = 0; path && i < s->n_devices; i++)
		if (s->devices[i].path && strcmp(s->devices[i].path, path) == 0)
			return true;
	return false;
}

struct hk_dev_rule *cg_device_rules(const struct hk_spec *s, size_t *n)
{
	size_t max = s->n_dev_rules + cg_n_default_allow;
	struct hk_dev_rule *rules = xcalloc(max, sizeof(*rules));

	*n = 0;
	for (size_t i = 0; i < s->n_dev_rules; i++)
		rules[(*n)++] = s->dev_rules[i];
	/* No rules: nothing restricts the container, defaults add nothing. */
	if (s->n_dev_rules == 0)
		return rules;
	for (size_t i = 0; i < cg_n_default_allow; i++)
		if (!listed(s, default_path[i]))
			rules[(*n)++] = cg_default_allow[i];
	return rules;
}

static const struct cg_ops *ops_of(const struct hk_cgroup *cg)
{
	return cg->version == 2 ? &cg_v2_ops : &cg_v1_ops;
}

struct hk_cgroup *cg_new(int version)
{
	struct hk_cgroup *cg = xzalloc(sizeof(*cg));
	cg->version = version;
	return cg;
}

void cg_add_dir(struct hk_cgroup *cg, const char *name, const char *dir)
{
	cg->dirs = xrealloc(cg->dirs, (cg->n_dirs + 1) * sizeof(*cg->dirs));
	cg->dirs[cg->n_dirs].name = xstrdup(name);
	cg->dirs[cg->n_dirs].dir = xstrdup(dir);
	cg->dirs[cg->n_dirs].shared = false;
	cg->dirs[cg->n_dirs].index = (unsigned)cg->n_dirs;
	cg->n_dirs++;
}

void cg_free(struct hk_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_dirs; i++) {
		free(cg->dirs[i].name);
		free(cg->dirs[i].dir);
	}
	free(cg->dirs);
	free(cg);
}

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

struct mi_fields {
	char *mnt, *root, *fstype, *superopts;
};

/* Split one mountinfo line (proc(5)) into the fields needed. */
static int parse_mountinfo(char *line, struct mi_fields *f)
{
	char *save = NULL, *tok;
	int i = 0;

	memset(f, 0, sizeof(*f));
	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++) {
		if (i == 3)
			f->root = tok;
		else if (i == 4)
			f->mnt = tok;
		else if (i > 5 && strcmp(tok, "-") == 0)
			break;
	}
	if (!tok)
		return -1;
	f->fstype = strtok_r(NULL, " ", &save);
	strtok_r(NULL, " ", &save);
	f->superopts = strtok_r(NULL, " \n", &save);
	return f->fstype && f->superopts ? 0 : -1;
}

static void add_hierarchy(struct hk_cgroup *cg, const struct mi_fields *f, const char *own,
			  const char *rel, bool absolute)
{
	_cleanup_free_ char *ctrl =
		strcmp(f->fstype, "cgroup2") == 0 ? xstrdup("") : v1_controllers(f->superopts);
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
	_cleanup_free_ char *dir = join_path(f->mnt, base, rel);
	const char *mslash = strrchr(f->mnt, '/');
	cg_add_dir(cg, cg->version == 2 ? "" : (mslash ? mslash + 1 : f->mnt), dir);
}

/* Known before anything is made, so that even the first state written (and
 * a delete --force after a crash) knows which cgroups are not husk's. */
static void mark_shared(struct hk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		cg->dirs[i].shared = access(cg->dirs[i].dir, F_OK) == 0;
}

/* "cgroup2", or a v1 hierarchy's controllers: one key per hierarchy. */
static char *hierarchy_key(const struct mi_fields *f)
{
	if (strcmp(f->fstype, "cgroup2") == 0)
		return xstrdup("cgroup2");
	_cleanup_free_ char *ctrl = v1_controllers(f->superopts);
	return xasprintf("cgroup:%s", ctrl);
}

/* Each hierarchy once, from its first mount of the whole hierarchy (root
 * "/") in mountinfo's order, else its first mount at all: a bind of a
 * hierarchy, or of a subtree of it, mounted elsewhere (by a container
 * tool, another runtime's rootfs left mounted) must not become one more
 * place to put containers, nor, read-only, fail every create. */
static void add_hierarchies(struct hk_cgroup *cg, struct hk_cgroup *v2, char **lines, size_t n,
			    const char *own, const char *path, bool absolute)
{
	char **seen = xcalloc(n + 1, sizeof(char *));
	size_t n_seen = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			_cleanup_free_ char *copy = xstrdup(lines[i]);
			struct mi_fields f;
			if (parse_mountinfo(copy, &f) < 0 ||
			    (strcmp(f.fstype, "cgroup") != 0 && strcmp(f.fstype, "cgroup2") != 0) ||
			    (pass == 0) != (strcmp(f.root, "/") == 0))
				continue;
			char *key = hierarchy_key(&f);
			bool dup = false;
			for (size_t k = 0; k < n_seen && !dup; k++)
				dup = strcmp(seen[k], key) == 0;
			if (dup) {
				free(key);
				continue;
			}
			seen[n_seen++] = key;
			add_hierarchy(strcmp(f.fstype, "cgroup2") == 0 ? v2 : cg, &f, own, path,
				      absolute);
		}
	}
	for (size_t k = 0; k < n_seen; k++)
		free(seen[k]);
	free(seen);
}

struct hk_cgroup *cg_resolve(const char *cgroups_path, const char *id, struct hk_err *err)
{
	_cleanup_free_ char *own = hk_read_file("/proc/self/cgroup", 1 << 20, NULL, err);
	_cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
	const char *path = cgroups_path && *cgroups_path ? cgroups_path : id;
	bool absolute = path[0] == '/';
	char *line = NULL, **lines = NULL;
	size_t cap = 0, n = 0;

	if (!own)
		return NULL;
	if (!mi) {
		hk_fail(err, errno, "open /proc/self/mountinfo");
		return NULL;
	}
	while (getline(&line, &cap, mi) > 0) {
		if (!strstr(line, " - cgroup"))
			continue;
		lines = xrealloc(lines, (n + 1) * sizeof(char *));
		lines[n++] = xstrdup(line);
	}
	free(line);
	struct hk_cgroup *cg = cg_new(1);
	struct hk_cgroup *v2 = cg_new(2);
	add_hierarchies(cg, v2, lines, n, own, path, absolute);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
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

bool cg_refusal(const struct hk_cgroup *cg, int errnum)
{
	return cg->best_effort && (errnum == EACCES || errnum == EPERM || errnum == EROFS);
}

void cg_drop_dir(struct hk_cgroup *cg, size_t i, const char *why)
{
	struct hk_cg_dir *d = &cg->dirs[i];

	hk_debug("cgroup: left out %s: %s", d->dir, why);
	if (!d->shared && rmdir(d->dir) < 0 && errno != ENOENT)
		hk_debug("cgroup: cannot remove %s: %s", d->dir, strerror(errno));
	free(d->name);
	free(d->dir);
	memmove(d, d + 1, (cg->n_dirs - i - 1) * sizeof(*d));
	cg->n_dirs--;
}

uint32_t cg_kept(const struct hk_cgroup *cg)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].index < 32)
			mask |= 1u << cg->dirs[i].index;
	return mask;
}

int cg_create(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err)
{
	if (ops_of(cg)->create(cg, spec, err) < 0)
		return -1;
	if (spec_resources_empty(&spec->resources))
		return 0;
	return ops_of(cg)->apply(cg, &spec->resources, false, err);
}

int cg_update(struct hk_cgroup *cg, const struct hk_resources *r, struct hk_err *err)
{
	return ops_of(cg)->apply(cg, r, true, err);
}

int cg_freeze(struct hk_cgroup *cg, bool frozen, struct hk_err *err)
{
	if (ops_of(cg)->is_frozen(cg) < 0)
		return hk_fail(err, 0, "the container has no freezer cgroup");
	return ops_of(cg)->freeze(cg, frozen, err);
}

int cg_frozen(const struct hk_cgroup *cg)
{
	return ops_of(cg)->is_frozen(cg);
}

int cg_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err)
{
	memset(st, 0, sizeof(*st));
	return ops_of(cg)->stats(cg, st, err);
}

int cg_oom_open(const struct hk_cgroup *cg, struct hk_err *err)
{
	return ops_of(cg)->oom_open(cg, err);
}

int cg_oom_count(const struct hk_cgroup *cg, int fd, uint64_t *count)
{
	return ops_of(cg)->oom_read(cg, fd, count);
}

int cg_enter(struct hk_cgroup *cg, pid_t pid, struct hk_err *err)
{
	return ops_of(cg)->enter(cg, pid, err);
}

int cg_clone_fd(struct hk_cgroup *cg, struct hk_err *err)
{
	if (cg->version != 2 || cg->n_dirs == 0)
		return -1;
	int fd = open(cg->dirs[0].dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open cgroup %s", cg->dirs[0].dir);
	return fd;
}

int cg_read_pids(const char *dir, pid_t **pids, size_t *n, struct hk_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir);
	_cleanup_free_ char *text = hk_read_file(path, 64 << 20, NULL, err);
	size_t count = 0;

	*pids = NULL;
	*n = 0;
	if (!text)
		return -1;
	for (char *p = text; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		*pids = xrealloc(*pids, (count + 1) * sizeof(pid_t));
		(*pids)[count++] = (pid_t)v;
		p = end;
		while (*p == '\n')
			p++;
	}
	*n = count;
	return 0;
}

int cg_pids(struct hk_cgroup *cg, pid_t **pids, size_t *n, struct hk_err *err)
{
	/* Any hierarchy lists every process of the container; the first will do. */
	if (cg->n_dirs == 0) {
		*pids = NULL;
		*n = 0;
		return 0;
	}
	return cg_read_pids(cg->dirs[0].dir, pids, n, err);
}

int cg_signal_all(struct hk_cgroup *cg, int sig, struct hk_err *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;

	if (cg_pids(cg, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return hk_fail(err, errno, "kill %d", (int)pids[i]);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* rmdir fails with EBUSY while dying tasks are still listed: kill and retry
 * for up to ~2 s. */
int cg_destroy(struct hk_cgroup *cg, struct hk_err *err)
{
	for (int attempt = 0; attempt < 200; attempt++) {
		bool busy = false;
		for (size_t i = 0; i < cg->n_dirs; i++) {
			if (cg->dirs[i].shared)
				continue;
			if (rmdir(cg->dirs[i].dir) == 0 || errno == ENOENT)
				continue;
			if (errno != EBUSY)
				return hk_fail(err, errno, "remove cgroup %s", cg->dirs[i].dir);
			busy = true;
			_cleanup_free_ pid_t *pids = NULL;
			size_t n = 0;
			if (cg_read_pids(cg->dirs[i].dir, &pids, &n, NULL) == 0)
				for (size_t k = 0; k < n; k++)
					kill(pids[k], SIGKILL);
		}
		/* v1 frozen tasks die only once thawed */
		if (busy && attempt == 0 && cg_frozen(cg) == 1)
			ops_of(cg)->freeze(cg, false, NULL);
		if (!busy)
			return 0;
		sleep_ms(attempt < 20 ? 1 : 10);
	}
	return hk_fail(err, EBUSY, "remove cgroup %s", cg->dirs[0].dir);
}
