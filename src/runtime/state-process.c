/* A container's process as its state names it: its status (running,
 * created, paused, stopped), and a pidfd of it once it is checked to be
 * the container's own (split from state.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/err.h"
#include "common/procstat.h"
#include "common/rootless.h"
#include "common/syscalls.h"
#include "runtime/state-int.h"
#include "runtime/state.h"

/* Has the process exec'd something else than the husk binary that created
 * it (recorded at create: another husk may be asking, after an upgrade)?
 * Unknown (no access to its /proc entries, as for an unprivileged husk)
 * counts as not yet. */
static bool exec_done(const struct hk_state *st)
{
	char path[64];
	struct stat theirs;

	if (st->exe_ino == 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)st->pid);
	if (stat(path, &theirs) < 0)
		return false;
	return theirs.st_dev != st->exe_dev || theirs.st_ino != st->exe_ino;
}

enum hk_status state_status(struct hk_state_dir *sd, const struct hk_state *st)
{
	if (st->status == HK_CREATING || st->status == HK_STOPPED)
		return st->status;
	unsigned long long now = hk_proc_start_time(st->pid);
	if (now == 0 || now != st->start_time)
		return HK_STOPPED;
	if (st->cgroup && st->cgroup->n_dirs > 0 && cg_frozen(st->cgroup) == 1)
		return HK_PAUSED;
	/* exec.fifo goes when start releases the process; a start killed
	 * between the two leaves it, but the process has moved on. */
	if (faccessat(sd->fd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0 && !exec_done(st))
		return HK_CREATED;
	return HK_RUNNING;
}

static int process_gone(const struct hk_state *st, struct hk_err *err)
{
	hk_fail(err, 0, "container %s: its process is gone", st->id);
	if (err)
		err->errnum = ESRCH;
	return -1;
}

static int not_ours(const struct hk_state_dir *sd, const struct hk_state *st, const char *why,
		    struct hk_err *err)
{
	hk_fail(err, 0, "pid %d in %s/state.json is not the container's process (%s): refused",
		(int)st->pid, sd->path, why);
	return state_refused(err);
}

/* stat of <proc>/ns/mnt: its mount namespace. */
static int mnt_ns_of(const char *proc, struct stat *out)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/ns/mnt", proc);
	return stat(path, out);
}

/* stat of <proc>/root: its root directory. */
static int root_of(const char *proc, struct stat *out)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/root", proc);
	return stat(path, out);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* In the mount namespace of other ("/proc/self", "/proc/1"), a container's
 * process is chrooted into its rootfs (a container without a mount
 * namespace of its own, linux.namespaces having no "mount"): there, one
 * whose root is other's is not the container's. */
static bool shares_ns_and_root(const char *proc, const struct stat *ns, const char *other)
{
	struct stat theirs, ours;

	if (mnt_ns_of(other, &ours) < 0 || !same_file(ns, &ours))
		return false;
	return root_of(proc, &theirs) < 0 || root_of(other, &ours) < 0 || same_file(&theirs, &ours);
}

/* Is the process the container's? Its mount namespace is one of its own,
 * made at create, or it shares husk's chrooted: never husk's nor that of
 * pid 1 (the system's) with their root. The container's own processes may
 * make further ones, so no other is compared. */
static int check_container_process(const struct hk_state_dir *sd, const struct hk_state *st,
				   struct hk_err *err)
{
	char proc[32];
	struct stat theirs;

	snprintf(proc, sizeof(proc), "/proc/%d", (int)st->pid);
	if (mnt_ns_of(proc, &theirs) < 0) {
		/* Rootless, husk may not see the namespaces of a process
		 * that is not dumpable yet: nothing to compare. */
		if ((errno == EACCES || errno == EPERM) && hk_rootless())
			return 0;
		/* Died since (a zombie has no namespaces). */
		if (errno == ENOENT || errno == ESRCH)
			return process_gone(st, err);
		return hk_fail(err, errno, "stat %s/ns/mnt", proc);
	}
	struct stat ours;
	if (mnt_ns_of("/proc/self", &ours) < 0)
		return hk_fail(err, errno, "stat /proc/self/ns/mnt");
	if (shares_ns_and_root(proc, &theirs, "/proc/self"))
		return not_ours(sd, st, "it is in husk's own mount namespace", err);
	if (shares_ns_and_root(proc, &theirs, "/proc/1"))
		return not_ours(sd, st, "it is in the mount namespace of pid 1", err);
	return 0;
}

int state_pidfd(const struct hk_state_dir *sd, const struct hk_state *st, struct hk_err *err)
{
	int fd = st->pid > 0 ? hk_pidfd_open(st->pid, 0) : -1;

	/* Start time checked after opening, so reuse cannot fool us. */
	if (fd < 0 || hk_proc_start_time(st->pid) != st->start_time) {
		if (fd >= 0)
			close(fd);
		return process_gone(st, err);
	}
	if (check_container_process(sd, st, err) < 0) {
		close(fd);
		/* Its pid reused since the check above? Then it is just gone. */
		if (hk_proc_start_time(st->pid) != st->start_time)
			return process_gone(st, err);
		return -1;
	}
	return fd;
}
