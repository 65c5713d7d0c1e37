/* The last steps before execve: one function, one order, for the
 * container's first process (runtime/child.c) and for every process `exec`
 * starts in it (runtime/exec.c). Both call it in the container's
 * namespaces and root, with the terminal (if any) already set up.
 *
 * The order, and what forces it:
 *
 *  0. (Before all this, right after the clone, husk itself writes the
 *     process's oom_score_adj: linux/process.h.)
 *  1. A session of its own (setsid), unless the terminal made one: `kill 0`
 *     in the container must not reach the caller's process group (runc).
 *  2. HOME from the container's /etc/passwd when the env has none.
 *  3. Still root with husk's capabilities: the container's session
 *     keyring (linux/keyring.h; made as root, so it is root's whatever
 *     process.user is, as under runc), rlimits (raising a hard limit
 *     needs CAP_SYS_RESOURCE), the NUMA memory policy, the CPU affinity
 *     (before the scheduler: SCHED_DEADLINE wants every CPU of the cpuset
 *     and then forbids changing it), the scheduling policy (realtime ones
 *     and a negative nice need CAP_SYS_NICE), the I/O priority (its
 *     realtime class CAP_SYS_ADMIN).
 *  4. The capabilities' bounding set (needs CAP_SETPCAP), the groups, gid
 *     and uid (PR_SET_KEEPCAPS across setresuid keeps the permitted set),
 *     then capset and the ambient set. When a seccomp filter is to be
 *     loaded without no_new_privs the kernel requires CAP_SYS_ADMIN for the
 *     load: it stays in the effective and permitted sets (never the
 *     bounding, inheritable or ambient ones) until step 8, a few syscalls
 *     away.
 *  5. As the user: chdir to process.cwd (resolved inside the root) and the
 *     lookup of args[0] from there, so what is found is what execve may
 *     run; then no_new_privs and the umask.
 *  6. The last of husk's own work: no parent-death signal any more (the
 *     program outlives husk); husk's fds close on exec (all but stdio and
 *     the preserved ones); the LSM label for the exec (a startContainer
 *     hook forked later gets its own copy, as under runc); the
 *     personality; default dispositions for every signal and an empty mask
 *     (SIG_IGN and the mask would otherwise outlive execve).
 *  7. Every step so far is checked at create and ran unfiltered, so a
 *     profile need not allow openat2, close_range, setresuid, prctl and
 *     the like for husk's sake.
 *  8. Without no_new_privs: the seccomp filter, then the capset that drops
 *     the CAP_SYS_ADMIN held for it. Now, not after step 9: nothing of
 *     husk's waits for `start` holding it.
 *  9. The caller's step, if any: `create` reports ready and waits for
 *     `start`, then runs the startContainer hooks (runtime.md: after start,
 *     before the program). It uses read, write, openat and close only (and
 *     the hooks' own syscalls), which any profile a program can run under
 *     allows; a failure from here on can only be the host's or the
 *     profile's doing.
 * 10. With no_new_privs: the seccomp filter, the very last step. With a
 *     listener the notify fd is sent to it (sendmsg, after the load: the fd
 *     exists only then).
 * 11. execve. After a filter husk frees and closes nothing (execve does);
 *     on failure the caller reports the error (write, exit). */
#ifndef HUSK_LINUX_TAIL_H
#define HUSK_LINUX_TAIL_H

#include <stdbool.h>

struct hk_derived;
struct hk_err;
struct hk_mempolicy;
struct hk_process;
struct hk_seccomp_filter;

struct hk_tail {
	const struct hk_process *proc;
	/* The environment the program gets (derived->env: the process's and
	 * husk's additions); HOME may be added to it. */
	struct hk_derived *derived;
	const struct hk_mempolicy *mempolicy;
	bool has_personality;
	unsigned long personality;
	/* An exec'd process takes execCPUAffinity.final; the first process
	 * (where the spec says it does not apply) and an exec'd one without
	 * execCPUAffinity get every CPU the cpuset allows, as runc >= 1.2 and
	 * crun reset it, whatever the caller was pinned to. */
	bool exec;
	int preserve_fds;
	const char *keyring_id;           /* join `_ses.<id>`; NULL: keep the caller's */
	unsigned int keyring_perm;        /* its first process: KEYRING_SEARCH_*, else 0 */
	struct hk_seccomp_filter *filter; /* NULL: none; the tail owns it */
	const char *listener_state;       /* ContainerProcessState for a listener */
	int (*wait)(void *data, struct hk_err *err); /* step 9, NULL: none */
	void *wait_data;
};

/* Steps 1 to 11; returns only on failure (err says why), with the filter
 * possibly loaded: report with syscalls any profile allows (write). */
int tail_exec(struct hk_tail *t, struct hk_err *err);

#endif
