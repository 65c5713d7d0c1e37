#include "cgroup/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	size_t max = 1 + s->n_dev_rules + cg_n_default_allow;
	struct hk_dev_rule *rules = xcalloc(max, sizeof(*rules));

	/* From "deny everything", as runc reads the list, whatever the
	 * config's first rule: no rules at all leave the defaults only (the
	 * kernel's new cgroup allows every device: a config without rules
	 * let its root mknod and open the host's disks), and a list that does
	 * not start with a deny-all is read the same on v1 as on v2. */
	*n = 0;
	rules[(*n)++] = (struct hk_dev_rule){
		.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"};
	for (size_t i = 0; i < s->n_dev_rules; i++)
		rules[(*n)++] = s->dev_rules[i];
	for (size_t i = 0; i < cg_n_default_allow; i++)
		if (!listed(s, default_path[i]))
			rules[(*n)++] = cg_default_allow[i];
	return rules;
}

const struct cg_ops *cg_backend(const struct hk_cgroup *cg)
{
	return cg->version == 2 ? &cg_v2_ops : &cg_v1_ops;
}

const struct cg_manager *cg_systemd_manager;

struct hk_cgroup *cg_new(int version, const char *manager)
{
	struct hk_cgroup *cg = xzalloc(sizeof(*cg));
	cg->manager = &cg_fs_manager;
	if (manager && cg_systemd_manager && strcmp(manager, cg_systemd_manager->name) == 0)
		cg->manager = cg_systemd_manager;
	cg->version = version;
	return cg;
}

const char *cg_manager_name(const struct hk_cgroup *cg)
{
	return cg->unit ? "systemd" : cg->manager->name;
}

bool cg_systemd_available(void)
{
	return cg_systemd_manager != NULL;
}

struct hk_cgroup *cg_resolve(const char *cgroups_path, const char *id, bool systemd,
			     struct hk_err *err)
{
	if (!systemd)
		return cg_fs_manager.resolve(cgroups_path, id, err);
	if (!cg_systemd_manager) {
		hk_fail(err, 0, "--systemd-cgroup: this program has no systemd cgroup manager");
		return NULL;
	}
	return cg_systemd_manager->resolve(cgroups_path, id, err);
}

bool cg_create_late(const struct hk_cgroup *cg)
{
	return cg->manager->late;
}

void cg_add_dir(struct hk_cgroup *cg, const char *name, const char *dir)
{
	cg->dirs = xrealloc(cg->dirs, (cg->n_dirs + 1) * sizeof(*cg->dirs));
	cg->dirs[cg->n_dirs] = (struct hk_cg_dir){
		.name = xstrdup(name), .dir = xstrdup(dir), .index = (unsigned)cg->n_dirs};
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
	free(cg->unit);
	free(cg->slice);
	free(cg->id);
	free(cg);
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
	if (cg->manager->create(cg, spec, err) < 0 || cg_backend(cg)->devices(cg, spec, err) < 0)
		return -1;
	if (spec_resources_empty(&spec->resources))
		return 0;
	return cg_backend(cg)->apply(cg, &spec->resources, false, err);
}

int cg_update(struct hk_cgroup *cg, const struct hk_resources *r, struct hk_err *err)
{
	if (cg->manager->update && cg->manager->update(cg, r, err) < 0)
		return -1;
	return cg_backend(cg)->apply(cg, r, true, err);
}

int cg_freeze(struct hk_cgroup *cg, bool frozen, struct hk_err *err)
{
	if (cg_backend(cg)->is_frozen(cg) < 0)
		return hk_fail(err, 0, "the container has no freezer cgroup");
	return cg_backend(cg)->freeze(cg, frozen, err);
}

int cg_frozen(const struct hk_cgroup *cg)
{
	return cg_backend(cg)->is_frozen(cg);
}

int cg_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err)
{
	memset(st, 0, sizeof(*st));
	return cg_backend(cg)->stats(cg, st, err);
}

int cg_oom_open(const struct hk_cgroup *cg, struct hk_err *err)
{
	return cg_backend(cg)->oom_open(cg, err);
}

int cg_oom_count(const struct hk_cgroup *cg, int fd, uint64_t *count)
{
	return cg_backend(cg)->oom_read(cg, fd, count);
}

int cg_enter_fds(struct hk_cgroup *cg, pid_t pid, int *fds, size_t max, size_t *n,
		 struct hk_err *err)
{
	return cg->manager->enter_fds(cg, pid, fds, max, n, err);
}

int cg_enter_self(int fd, struct hk_err *err)
{
	char path[64], target[256];
	ssize_t w;

	do
		w = write(fd, "0", 1);
	while (w < 0 && errno == EINTR);
	int e = errno;
	if (w == 1) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t len = readlink(path, target, sizeof(target) - 1);
	target[len > 0 ? len : 0] = '\0';
	close(fd);
	return hk_fail(err, w < 0 ? e : EIO, "enter cgroup: write 0 to %s",
		       len > 0 ? target : "its tasks file");
}

int cg_clone_fd(struct hk_cgroup *cg, int *fd, struct hk_err *err)
{
	*fd = -1;
	return cg->manager->clone_fd(cg, fd, err);
}

void cg_clone_refused(struct hk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].placed) {
			cg_drop_dir(cg, i, "clone3 into it refused");
			return;
		}
}

struct pid_acc {
	pid_t *pids;
	size_t n;
};

static void add_pids(int parentfd, const char *name, int fd, void *data)
{
	struct pid_acc *a = data;
	_cleanup_free_ pid_t *more = NULL;
	size_t m = 0;

	(void)parentfd;
	if (cg_read_pids_at(fd, name, &more, &m, NULL) < 0 || m == 0)
		return;
	a->pids = xrealloc(a->pids, (a->n + m) * sizeof(pid_t));
	memcpy(a->pids + a->n, more, m * sizeof(pid_t));
	a->n += m;
}

/* The scope's own directory: v2's, or v1's name=systemd hierarchy. */
static const char *unit_dir(const struct hk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (!strcmp(cg->dirs[i].name, "") || !strcmp(cg->dirs[i].name, "systemd"))
			return cg->dirs[i].dir;
	return NULL;
}

void cg_unit_record(struct hk_cgroup *cg)
{
	struct stat st;
	const char *d = unit_dir(cg);

	if (cg->unit && d && stat(d, &st) == 0)
		cg->unit_ino = (uint64_t)st.st_ino;
}

void cg_unit_check(struct hk_cgroup *cg)
{
	struct stat st;
	const char *d = unit_dir(cg);

	if (!cg->unit || !d)
		return;
	if (stat(d, &st) < 0) {
		cg->gone = errno == ENOENT;
		cg->foreign = !cg->gone;
		hk_debug("cgroup: %s: %s", d, cg->gone ? "the scope is gone" : strerror(errno));
	} else if (!cg->unit_ino || (uint64_t)st.st_ino != cg->unit_ino) {
		hk_debug("cgroup: %s is not the scope this container had: left alone", d);
		cg->foreign = true;
	}
}

int cg_pids(struct hk_cgroup *cg, pid_t **pids, size_t *n, struct hk_err *err)
{
	/* Any hierarchy lists every process of the container; the first will
	 * do, with the cgroups the container made below it. */
	if (cg->n_dirs == 0 || cg->foreign || cg->gone) {
		*pids = NULL;
		*n = 0;
		return 0;
	}
	if (cg_read_pids(cg->dirs[0].dir, pids, n, err) < 0)
		return -1;
	struct pid_acc a = {*pids, *n};
	int r = cg_walk_below(cg->dirs[0].dir, add_pids, &a, err);
	*pids = a.pids;
	*n = a.n;
	return r;
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

int cg_destroy(struct hk_cgroup *cg, struct hk_err *err)
{
	return cg->manager->destroy(cg, err);
}
