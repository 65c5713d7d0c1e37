/* The only place husk calls syscall(): one typed wrapper per syscall that
 * glibc 2.36 does not wrap, or wraps only in headers that clash with the
 * kernel's. husk needs Linux >= 5.12 (mount_setattr); callers turn ENOSYS
 * into an error naming the kernel version. */
#ifndef HUSK_COMMON_SYSCALLS_H
#define HUSK_COMMON_SYSCALLS_H

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

union bpf_attr;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
/* bpf(2): glibc has no wrapper. Linux 3.18; device programs for cgroup v2
 * (BPF_PROG_TYPE_CGROUP_DEVICE) since 4.15. */
static inline int hk_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	return (int)syscall(SYS_bpf, cmd, attr, size);
}

/* capget(2): glibc leaves it to libcap. */
static inline int hk_capget(void *hdr, void *data)
{
	return (int)syscall(SYS_capget, hdr, data);
}

/* sched_setattr(2): glibc 2.36 has no wrapper. Linux 3.14; attr is a
 * struct sched_attr whose first field is its size. */
static inline int hk_sched_setattr(pid_t pid, void *attr, unsigned int flags)
{
	return (int)syscall(SYS_sched_setattr, pid, attr, flags);
}

/* ioprio_set(2): glibc has no wrapper. */
static inline int hk_ioprio_set(int which, int who, int ioprio)
{
	return (int)syscall(SYS_ioprio_set, which, who, ioprio);
}

/* set_mempolicy(2): glibc leaves it to libnuma. */
static inline int hk_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode)
{
	return (int)syscall(SYS_set_mempolicy, mode, nodemask, maxnode);
}

#endif

/* Linux 5.3; CLONE_INTO_CGROUP since 5.7. */
static inline pid_t hk_clone3(struct clone_args *args)
{
	return (pid_t)syscall(SYS_clone3, args, sizeof(*args));
}

/* Linux 5.3 */
static inline int hk_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

/* Linux 5.1 */
static inline int hk_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags);
}

/* Linux 5.6. With RESOLVE_IN_ROOT or RESOLVE_BENEATH a lookup through ".."
 * fails with EAGAIN when a rename or mount anywhere on the machine raced
 * with it (openat2(2): "the caller may choose to retry"): a co-container
 * renaming in a loop had every create with ".." in a path fail now and
 * then. Retried a bounded number of times (under such a loop here about
 * one lookup in thirteen needed a second try, one in 20000 a third). */
static inline int hk_openat2(int dirfd, const char *path, struct open_how *how)
{
	int fd, tries = 0;

	do
		fd = (int)syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
	while (fd < 0 && errno == EAGAIN && ++tries < 64);
	return fd;
}

/* Linux 5.2: the new mount API. */
static inline int hk_fsopen(const char *fstype, unsigned int flags)
{
	return (int)syscall(SYS_fsopen, fstype, flags);
}

static inline int hk_fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static inline int hk_fsmount(int fsfd, unsigned int flags, unsigned int attr_flags)
{
	return (int)syscall(SYS_fsmount, fsfd, flags, attr_flags);
}

static inline int hk_move_mount(int from_dirfd, const char *from_path, int to_dirfd,
				const char *to_path, unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

static inline int hk_open_tree(int dirfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

/* Linux 5.12 */
static inline int hk_mount_setattr(int dirfd, const char *path, unsigned int flags,
				   struct mount_attr *attr)
{
	return (int)syscall(SYS_mount_setattr, dirfd, path, flags, attr, sizeof(*attr));
}

static inline int hk_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

/* seccomp(2) SECCOMP_SET_MODE_FILTER with a program husk compiled (or
 * kept: linux/seccomp-cache.h). Linux 3.17; returns the notify fd with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER (5.0). */
static inline long hk_seccomp_set_filter(unsigned int flags, void *prog)
{
	return syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, flags, prog);
}

/* keyctl(2): glibc leaves it to libkeyutils. */
static inline long hk_keyctl(int cmd, unsigned long a2, unsigned long a3, unsigned long a4)
{
	return syscall(SYS_keyctl, cmd, a2, a3, a4, 0);
}

/* Linux 5.9; CLOSE_RANGE_CLOEXEC since 5.11. */
static inline int hk_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

/* execveat(2): glibc 2.36 has fexecve, which goes through /proc. */
static inline int hk_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
			      int flags)
{
	return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

/* rt_sigaction(2) to SIG_DFL, for the signals glibc's sigaction refuses
 * (the two it keeps for its threads). The kernel's struct sigaction:
 * handler, flags, restorer, mask (8 bytes on every architecture husk runs
 * on). */
static inline int hk_rt_sigaction_default(int sig)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		unsigned long long mask;
	} ksa = {0};
	return (int)syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask));
}

/* capset(2): glibc leaves it to libcap. */
static inline int hk_capset(void *hdr, void *data)
{
	return (int)syscall(SYS_capset, hdr, data);
}

/* bpf(2): glibc has no wrapper. Linux 3.18; device programs for cgroup v2
 * (BPF_PROG_TYPE_CGROUP_DEVICE) since 4.15. */
static inline int hk_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
	return (int)syscall(SYS_bpf, cmd, attr, size);
}

/* capget(2): glibc leaves it to libcap. */
static inline int hk_capget(void *hdr, void *data)
{
	return (int)syscall(SYS_capget, hdr, data);
}

/* sched_setattr(2): glibc 2.36 has no wrapper. Linux 3.14; attr is a
 * struct sched_attr whose first field is its size. */
static inline int hk_sched_setattr(pid_t pid, void *attr, unsigned int flags)
{
	return (int)syscall(SYS_sched_setattr, pid, attr, flags);
}

/* ioprio_set(2): glibc has no wrapper. */
static inline int hk_ioprio_set(int which, int who, int ioprio)
{
	return (int)syscall(SYS_ioprio_set, which, who, ioprio);
}

/* set_mempolicy(2): glibc leaves it to libnuma. */
static inline int hk_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode)
{
	return (int)syscall(SYS_set_mempolicy, mode, nodemask, maxnode);
}

#endif
