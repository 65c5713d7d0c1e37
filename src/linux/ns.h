/* Namespaces: the table of types, the clone flags of the ones to create,
 * and joining the ones given by path. */
#ifndef HUSK_LINUX_NS_H
#define HUSK_LINUX_NS_H

#include <stdint.h>
#include <sys/types.h>

#include "spec/spec.h"

struct hk_err;

/* CLONE_NEW* of a type, and its name under /proc/<pid>/ns/. */
uint64_t ns_clone_flag(enum hk_ns_type type);
const char *ns_proc_name(enum hk_ns_type type);

/* Open every namespace given by path, checking that each file is a
 * namespace of the type its entry says. fds[type] = fd or -1. Done before
 * anything changes on the machine, so a bad path fails validation. */
int ns_open_paths(const struct hk_spec *spec, int fds[HK_NS_COUNT], struct hk_err *err);
void ns_close_all(int fds[HK_NS_COUNT]);

/* setns() into fds[type] (when >= 0) for each type in order. */
int ns_join(int fds[HK_NS_COUNT], const enum hk_ns_type *types, int n, struct hk_err *err);

/* Joining a pid namespace only changes where the caller's *children* go
 * (setns(2)): point them at nsfd (when >= 0) before clone3, keeping an fd
 * of our own in *own, and go back with ns_pid_restore right after, so that
 * anything husk forks later (a sanitizer's helper, a hook) stays home.
 * Going back takes CAP_SYS_ADMIN over husk's own pid namespace, which a
 * rootless husk lacks (an ordinary user; root of a rootless engine's user
 * namespace, whose pid namespace is still the host's): that is tried
 * first, and when the kernel refuses it, or refuses the join, nothing is
 * changed and 1 is returned: the process must join nsfd itself, after
 * the user namespace, and fork. 0: done (or nsfd < 0), -1: error. */
int ns_pid_for_children(int nsfd, int *own, struct hk_err *err);
/* Back home; an error (which the probe above makes unexpected) names what
 * the kernel refused. */
int ns_pid_restore(int *own, struct hk_err *err);

/* The namespaces of process pid that differ from husk's own, as CLONE_NEW*
 * flags (for setns(pidfd, flags)); the pid namespace is left out. */
int ns_differing(pid_t pid, uint64_t *flags, struct hk_err *err);

/* The inode of namespace type of the process whose /proc directory is proc
 * ("/proc/42", "/proc/self"): the namespace's id, as readlink shows it
 * ("net:[4026531840]"). -1 with errno (ENOENT: the kernel has no such
 * namespace type, or the process is gone). */
int ns_ino(const char *proc, enum hk_ns_type type, unsigned long long *ino);

/* Clone flags of the namespaces to create at clone time: none when a user
 * namespace is joined by path (the child unshares them once in it). The
 * cgroup and time namespaces are always the child's to make. */
uint64_t ns_clone_flags(const struct hk_spec *spec);
uint64_t ns_new_flags(const struct hk_spec *spec);

/* /proc/<pid>/<what> of process pid, whose pidfd is pidfd: checked alive
 * after the open, so pid was that process (not a reuse of its pid). */
int ns_open_proc(int pidfd, pid_t pid, const char *what, int flags, struct hk_err *err);
/* A container without a mount namespace of its own is chrooted into its
 * root in husk's: a process joining it must be too. rootfd: ns_open_proc
 * of "root" (O_PATH | O_DIRECTORY). */
int ns_enter_root(int rootfd, struct hk_err *err);

/* kill --all of a container without a cgroup of its own (rootless, none
 * delegated): signal every process that shares the pid namespace of pid
 * (pidfd: its pidfd, checked by the caller), or, when that is husk's own,
 * its mount namespace, when that is not husk's either; else pid alone.
 * Each process is signalled through a pidfd opened before its namespace is
 * read and found alive after, so a pid reused meanwhile is never hit. */
int ns_signal_all(int pidfd, pid_t pid, int sig, struct hk_err *err);

/* Bring up lo in a new network namespace (as runc does). */
int ns_loopback_up(struct hk_err *err);

#endif
