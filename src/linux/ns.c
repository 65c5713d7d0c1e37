#include "linux/ns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"

static const struct {
	uint64_t flag;
	const char *proc;
} ns_table[HK_NS_COUNT] = {
	[HK_NS_PID] = {CLONE_NEWPID, "pid"},    [HK_NS_NET] = {CLONE_NEWNET, "net"},
	[HK_NS_MNT] = {CLONE_NEWNS, "mnt"},     [HK_NS_IPC] = {CLONE_NEWIPC, "ipc"},
	[HK_NS_UTS] = {CLONE_NEWUTS, "uts"},    [HK_NS_CGROUP] = {CLONE_NEWCGROUP, "cgroup"},
	[HK_NS_USER] = {CLONE_NEWUSER, "user"}, [HK_NS_TIME] = {CLONE_NEWTIME, "time"},
};

uint64_t ns_clone_flag(enum hk_ns_type type)
{
	return ns_table[type].flag;
}

const char *ns_proc_name(enum hk_ns_type type)
{
	return ns_table[type].proc;
}

void ns_close_all(int fds[HK_NS_COUNT])
{
	for (int t = 0; t < HK_NS_COUNT; t++) {
		if (fds[t] >= 0)
			close(fds[t]);
		fds[t] = -1;
	}
}

/* Is the namespace fd the one of type that the process at proc ("self",
 * "1") is in? */
static bool same_ns(int fd, enum hk_ns_type type, const char *proc)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%s/ns/%s", proc, ns_table[type].proc);
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Namespaces joined by path that the container would change for the
 * host: a mount namespace gets its root pivoted (runc would pivot_root
 * the host's own: leave "mount" out to share it, chrooted); a uts
 * namespace its hostname. */
static int check_joined(const struct hk_spec *spec, size_t i, int fd, struct hk_err *err)
{
	const struct hk_namespace *ns = &spec->namespaces[i];

	if (ns->type == HK_NS_MNT &&
	    (same_ns(fd, HK_NS_MNT, "self") || same_ns(fd, HK_NS_MNT, "1")))
		return hk_fail(
			err, 0,
			"linux.namespaces[%zu].path: %s is the host's mount namespace, whose "
			"root husk would pivot (leave \"mount\" out to share it)",
			i, ns->path);
	if (ns->type == HK_NS_NET && spec->n_netdevs && same_ns(fd, HK_NS_NET, "self"))
		return hk_fail(
			err, 0,
			"linux.netDevices: the network namespace to join (%s) is husk's own: "
			"nothing to move the interfaces into",
			ns->path);
	if (ns->type == HK_NS_UTS && (spec->hostname || spec->domainname) &&
	    same_ns(fd, HK_NS_UTS, "self"))
		return hk_fail(err, 0,
			       "%s: the uts namespace to join (%s) is the host's (husk's own): "
			       "the %s would change the host's",
			       spec->hostname ? "hostname" : "domainname", ns->path,
			       spec->hostname ? "hostname" : "domainname");
	return 0;
}

int ns_open_paths(const struct hk_spec *spec, int fds[HK_NS_COUNT], struct hk_err *err)
{
	for (int t = 0; t < HK_NS_COUNT; t++)
		fds[t] = -1;
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		const struct hk_namespace *ns = &spec->namespaces[i];
		if (!ns->path)
			continue;
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ns_close_all(fds);
			return hk_fail(err, errno, "linux.namespaces[%zu].path: %s", i, ns->path);
		}
		fds[ns->type] = fd;
		int kind = ioctl(fd, NS_GET_NSTYPE);
		if (kind < 0 || (uint64_t)kind != ns_table[ns->type].flag) {
			ns_close_all(fds);
			return hk_fail(err, 0,
				       "linux.namespaces[%zu].path: %s is not a %s namespace", i,
				       ns->path, spec_ns_name(ns->type));
		}
		if (check_joined(spec, i, fd, err) < 0) {
			ns_close_all(fds);
			return -1;
		}
	}
	return 0;
}

int ns_join(int fds[HK_NS_COUNT], const enum hk_ns_type *types, int n, struct hk_err *err)
{
	for (int i = 0; i < n; i++) {
		enum hk_ns_type t = types[i];
		if (fds[t] < 0)
			continue;
		if (setns(fds[t], (int)ns_table[t].flag) < 0)
			return hk_fail(err, errno, "join %s namespace", spec_ns_name(t));
	}
	return 0;
}

/* The new namespaces, but cgroup and time: the child makes those itself
 * once it is in its cgroup (cgroup) or can still set offsets (time). */
uint64_t ns_new_flags(const struct hk_spec *spec)
{
	uint64_t flags = 0;

	for (size_t i = 0; i < spec->n_namespaces; i++) {
		const struct hk_namespace *ns = &spec->namespaces[i];
		if (!ns->path && ns->type != HK_NS_CGROUP && ns->type != HK_NS_TIME)
			flags |= ns_table[ns->type].flag;
	}
	return flags;
}

int ns_pid_for_children(int nsfd, int *own, struct hk_err *err)
{
	*own = -1;
	if (nsfd < 0)
		return 0;
	int fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open /proc/self/ns/pid");
	/* Our own namespace again: the same check as the way back. */
	if (setns(fd, CLONE_NEWPID) < 0 || setns(nsfd, CLONE_NEWPID) < 0) {
		int e = errno;
		close(fd);
		if (e == EPERM)
			return 1;
		return hk_fail(err, e, "join pid namespace");
	}
	*own = fd;
	return 0;
}

int ns_pid_restore(int *own, struct hk_err *err)
{
	int r = 0;

	if (*own >= 0 && setns(*own, CLONE_NEWPID) < 0)
		r = hk_fail(err, errno,
			    "back to husk's own pid namespace (its children would be born in "
			    "the container's)");
	if (*own >= 0)
		close(*own);
	*own = -1;
	return r;
}

int ns_differing(pid_t pid, uint64_t *flags, struct hk_err *err)
{
	*flags = 0;
	for (int t = 0; t < HK_NS_COUNT; t++) {
		char theirs[64], ours[64];
		struct stat a, b;
		if (t == HK_NS_PID)
			continue;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, ns_table[t].proc);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns_table[t].proc);
		if (stat(theirs, &a) < 0)
			return hk_fail(err, errno, "stat %s", theirs);
		if (stat(ours, &b) < 0)
			return hk_fail(err, errno, "stat %s", ours);
		if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			*flags |= ns_table[t].flag;
	}
	return 0;
}

int ns_ino(const char *proc, enum hk_ns_type type, unsigned long long *ino)
{
	char path[128];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/ns/%s", proc, ns_table[type].proc);
	if (stat(path, &sb) < 0)
		return -1;
	*ino = (unsigned long long)sb.st_ino;
	return 0;
}

uint64_t ns_clone_flags(const struct hk_spec *spec)
{
	const struct hk_namespace *user = spec_ns(spec, HK_NS_USER);

	/* Namespaces belong to the user namespace of their creator: with a user
	 * namespace joined by path, the child creates them after joining it. */
	if (user && user->path)
		return 0;
	return ns_new_flags(spec);
}

/* The namespace of type that pid is in, when it is not husk's own. */
static bool foreign_ns(int pidfd, pid_t pid, enum hk_ns_type type, struct stat *st)
{
	char what[64];
	struct stat own;

	snprintf(what, sizeof(what), "ns/%s", ns_table[type].proc);
	_cleanup_close_ int fd = ns_open_proc(pidfd, pid, what, O_RDONLY, NULL);
	if (fd < 0 || fstat(fd, st) < 0)
		return false;
	snprintf(what, sizeof(what), "/proc/self/ns/%s", ns_table[type].proc);
	return stat(what, &own) == 0 && (own.st_dev != st->st_dev || own.st_ino != st->st_ino);
}

/* Signal pid if it is (still) in the namespace st of type. */
static int signal_if_in(pid_t pid, enum hk_ns_type type, const struct stat *st, int sig)
{
	char path[64];
	struct stat now;
	_cleanup_close_ int fd = hk_pidfd_open(pid, 0);

	if (fd < 0)
		return 0; /* gone */
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_table[type].proc);
	if (stat(path, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return 0;
	if (hk_pidfd_send_signal(fd, sig, NULL, 0) < 0 && errno != ESRCH)
		return -1;
	return 0;
}

int ns_signal_all(int pidfd, pid_t pid, int sig, struct hk_err *err)
{
	enum hk_ns_type type = HK_NS_PID;
	struct stat st;

	if (!foreign_ns(pidfd, pid, type, &st) && !foreign_ns(pidfd, pid, type = HK_NS_MNT, &st)) {
		if (hk_pidfd_send_signal(pidfd, sig, NULL, 0) < 0)
			return hk_fail(err, errno, "kill %d with signal %d", (int)pid, sig);
		return 0;
	}
	DIR *proc = opendir("/proc");
	if (!proc)
		return hk_fail(err, errno, "open /proc");
	int r = 0;
	for (struct dirent *e; r == 0 && (e = readdir(proc));) {
		char *end;
		long p = strtol(e->d_name, &end, 10);
		if (*end || p <= 0 || p == getpid())
			continue;
		if (signal_if_in((pid_t)p, type, &st, sig) < 0)
			r = hk_fail(err, errno, "kill %ld with signal %d", p, sig);
	}
	closedir(proc);
	return r;
}

int ns_loopback_up(struct hk_err *err)
{
	_cleanup_close_ int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};

	if (sock < 0)
		return hk_fail(err, errno, "socket for lo");
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return hk_fail(err, errno, "get flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		return hk_fail(err, errno, "bring lo up");
	return 0;
}

int ns_open_proc(int pidfd, pid_t pid, const char *what, int flags, struct hk_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open %s", path);
	/* Still alive after the open: pid was the process of pidfd then. */
	if (hk_pidfd_send_signal(pidfd, 0, NULL, 0) < 0) {
		close(fd);
		return hk_fail(err, errno, "the container's process (pid %d)", (int)pid);
	}
	return fd;
}

int ns_enter_root(int rootfd, struct hk_err *err)
{
	if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return hk_fail(err, errno, "chroot into the container's root");
	return 0;
}
