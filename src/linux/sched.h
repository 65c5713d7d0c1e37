/* How the kernel schedules the container's process: its NUMA memory
 * policy, CPU affinity, scheduling policy and I/O priority. Each is set on
 * the calling process, which its children inherit and execve keeps. */
#ifndef HUSK_LINUX_SCHED_H
#define HUSK_LINUX_SCHED_H

struct hk_err;
struct hk_idset;
struct hk_ioprio;
struct hk_mempolicy;
struct hk_sched;

/* linux.memoryPolicy (set_mempolicy(2)); nothing when not set. */
int sched_apply_mempolicy(const struct hk_mempolicy *m, struct hk_err *err);
/* sched_setaffinity(2) to cpus, or to every CPU when cpus is NULL (the
 * kernel keeps those the cpuset allows); what names it in errors. */
int sched_apply_affinity(const struct hk_idset *cpus, const char *what, struct hk_err *err);
/* process.scheduler (sched_setattr(2)); nothing when not set. */
int sched_apply_policy(const struct hk_sched *s, struct hk_err *err);
/* process.ioPriority (ioprio_set(2)); nothing when not set. */
int sched_apply_ioprio(const struct hk_ioprio *io, struct hk_err *err);

#endif
