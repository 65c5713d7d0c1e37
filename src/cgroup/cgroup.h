/* The container's cgroup: one interface over the managers that make it
 * (cgroupfs, or systemd: --systemd-cgroup) and the file backends of cgroup v1 (and the hybrid
 * layout: v1 controllers plus a cgroup2 hierarchy) and pure cgroup v2
 * (cgroup/backend.h). */
#ifndef HUSK_CGROUP_CGROUP_H
#define HUSK_CGROUP_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hk_err;
struct hk_spec;
struct hk_resources;
struct cg_manager;

/* One hierarchy's directory for the container. */
struct hk_cg_dir {
	char *name;     /* mount point's basename: "memory", "systemd", "unified"; "" on pure v2 */
	char *dir;      /* absolute host path of the container's cgroup in it */
	bool shared;    /* it existed before the container: joined, never removed */
	unsigned index; /* its place among the hierarchies found (cg_kept) */
	bool placed;    /* clone3 put the process in it (CLONE_INTO_CGROUP) */
};

struct hk_cgroup {
	const struct cg_manager *manager; /* who makes, enters, removes it */
	int version;                      /* 1 (v1 or hybrid) or 2 */
	struct hk_cg_dir *dirs;
	size_t n_dirs;
	/* Rootless without linux.cgroupsPath, as runc's rootless cgroup
	 * manager: a hierarchy whose cgroup the kernel will not let husk make
	 * or join (EACCES, EPERM, EROFS: not delegated to this user) is left
	 * out by cg_create and cg_enter instead of failing the container; a
	 * limit that needed it then fails, naming the field. */
	bool best_effort;
	/* The systemd manager's: the transient scope ("husk-ID.scope") and
	 * its slice; NULL with cgroupfs. */
	char *unit, *slice;
	char *id;           /* the container's, for the scope's Description */
	pid_t pid;          /* the process systemd puts in the new scope */
	bool before_create; /* resolved for a create that has not made it yet */
	/* The scope's cgroup as systemd made it (its inode), recorded in the
	 * state as soon as it exists. gone: no cgroup at the scope's path
	 * (systemd drops an empty scope); foreign: one whose inode is not the
	 * recorded one, or none was recorded (a create killed before it
	 * could): another --root's container may have made a scope of the
	 * same name. Either way nothing there is this container's to signal,
	 * kill or stop; once gone, what husk made beside the scope (v1
	 * hierarchies systemd does not run) is removed where empty. */
	uint64_t unit_ino;
	bool gone, foreign;
};

/* The systemd manager's: record the scope's cgroup (after create), and
 * check a loaded state's record against what is there now. */
void cg_unit_record(struct hk_cgroup *cg);
void cg_unit_check(struct hk_cgroup *cg);

/* Work out where the container's cgroup goes (linux.cgroupsPath: absolute
 * from each hierarchy's root, relative from husk's own cgroup; absent: the
 * container id, relative), without touching anything. */
struct hk_cgroup *cg_resolve(const char *cgroups_path, const char *id, bool systemd,
			     struct hk_err *err);
/* The same from what state.json recorded: manager "cgroupfs" or "systemd"
 * (NULL: cgroupfs). */
struct hk_cgroup *cg_new(int version, const char *manager);
/* "cgroupfs" or "systemd". */
const char *cg_manager_name(const struct hk_cgroup *cg);
/* Make the systemd manager available (husk's main: only husk links
 * libdbus-1; elsewhere a systemd container's cgroup is handled as
 * cgroupfs's directories). */
void cg_systemd_enable(void);
/* Whether a program has it (features). */
bool cg_systemd_available(void);
void cg_add_dir(struct hk_cgroup *cg, const char *name, const char *dir);
void cg_free(struct hk_cgroup *cg);

/* With best_effort: is errnum a refusal to skip the hierarchy for? */
bool cg_refusal(const struct hk_cgroup *cg, int errnum);
/* Leave hierarchy i out (removing its directory when husk made it). */
void cg_drop_dir(struct hk_cgroup *cg, size_t i, const char *why);
/* Which of the hierarchies found are still there: bit `index` of each. */
uint32_t cg_kept(const struct hk_cgroup *cg);
/* Make the directories and apply linux.resources. With systemd, after the
 * clone: cg->pid is the process to put in the new scope (cg_create_late). */
bool cg_create_late(const struct hk_cgroup *cg);
int cg_create(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err);
/* An fd for clone3's CLONE_INTO_CGROUP: on v2 the cgroup (cg_create made
 * it); on a hybrid host the unified hierarchy's, made here (cheap: it has
 * no controllers). The hierarchy is marked placed: once clone3 succeeded,
 * nothing is left to enter there. *fd -1 when there is none (or, under
 * best_effort, the kernel refused to make it: left out). 0, or -1 (err). */
int cg_clone_fd(struct hk_cgroup *cg, int *fd, struct hk_err *err);
/* clone3 into it was refused: the placed hierarchy is left out. */
void cg_clone_refused(struct hk_cgroup *cg);
/* Move pid in where clone3 did not place it, as far as its parent has
 * to: each v1 hierarchy's `tasks` file is opened (into fds, at most max,
 * *n of them) for the process to write "0" to itself (cg_enter_self); a
 * v2 hierarchy clone3 did not place it in gets pid in cgroup.procs. Why:
 * writing another process's pid (or any write to cgroup.procs) takes the
 * kernel's global cgroup_threadgroup_rwsem for writing, which waits for an
 * RCU grace period (milliseconds, more under load); a single-threaded
 * process moving itself through `tasks` does not take it. */
#define CG_MAX_FDS 32
int cg_enter_fds(struct hk_cgroup *cg, pid_t pid, int *fds, size_t max, size_t *n,
		 struct hk_err *err);
/* In the process itself: write "0" to a tasks file cg_enter_fds opened
 * (and close it). */
int cg_enter_self(int fd, struct hk_err *err);
/* The pids in the cgroup. */
int cg_pids(struct hk_cgroup *cg, pid_t **pids, size_t *n, struct hk_err *err);
/* Signal every process in the cgroup. */
int cg_signal_all(struct hk_cgroup *cg, int sig, struct hk_err *err);
/* Kill what is left and remove the directories husk made. Missing ones are
 * fine; shared ones (a cgroupsPath that existed before) are left alone:
 * their other processes are none of this container's business. */
int cg_destroy(struct hk_cgroup *cg, struct hk_err *err);

/* Write resource limits into the container's cgroup: at create (from the
 * spec, inside cg_create) and for `update`, which changes only what r sets
 * and refuses a memory limit below usage when r asks checkBeforeUpdate. */
int cg_update(struct hk_cgroup *cg, const struct hk_resources *r, struct hk_err *err);

/* pause / resume through the freezer; cg_frozen: 1 yes, 0 no, -1 no freezer. */
int cg_freeze(struct hk_cgroup *cg, bool frozen, struct hk_err *err);
int cg_frozen(const struct hk_cgroup *cg);

/* One counter of memory, swap or kernel memory, as runc reports it. */
struct hk_cg_mem {
	bool present;
	uint64_t limit, usage, max, failcnt;
};

struct hk_cg_blkio_entry {
	uint64_t major, minor;
	const char *op; /* static: "Read", "Write", "Sync", "Async", "Discard", "Total" */
	uint64_t value;
};

struct hk_cg_hugetlb {
	char size[16]; /* "2MB" */
	uint64_t usage, max, failcnt;
};

struct hk_cg_raw {
	char *key;
	uint64_t value;
};

struct hk_cg_cpuset {
	uint16_t *cpus, *mems; /* the lists expanded: "0-2" -> 0, 1, 2 */
	size_t n_cpus, n_mems;
	/* v1's flag files, in runc's order (zero on v2, which has none) */
	uint64_t cpu_exclusive, mem_hardwall, mem_exclusive, memory_migrate, memory_spread_page,
		memory_spread_slab, memory_pressure, sched_load_balance;
	int64_t sched_relax_domain_level;
};

/* What `events --stats` reports; times in nanoseconds. */
struct hk_cg_stats {
	struct hk_cg_cpuset cpuset;
	uint64_t cpu_total, cpu_kernel, cpu_user;
	uint64_t *percpu, *percpu_kernel, *percpu_user;
	size_t n_percpu, n_percpu_kernel, n_percpu_user;
	uint64_t periods, throttled_periods, throttled_time;
	struct hk_cg_mem mem, swap, kmem, kmem_tcp;
	uint64_t mem_cache;
	struct hk_cg_raw *mem_raw;
	size_t n_mem_raw;
	uint64_t pids_current, pids_limit;
	struct hk_cg_blkio_entry *io_bytes, *io_serviced;
	size_t n_io_bytes, n_io_serviced;
	struct hk_cg_hugetlb *hugetlb;
	size_t n_hugetlb;
};

int cg_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err);
void cg_stats_clear(struct hk_cg_stats *st);

/* The cpu bandwidth limit: quota -1 when there is none; false when the
 * container has no cpu controller. Microseconds. */
bool cg_cpu_limit(const struct hk_cgroup *cg, int64_t *quota, uint64_t *period);

/* OOM kills: cg_oom_open gives an fd to poll (readable when one happened,
 * or, on v2, when memory.events changed); cg_oom_count then tells how many
 * OOM kills there have been so far. */
int cg_oom_open(const struct hk_cgroup *cg, struct hk_err *err);
int cg_oom_count(const struct hk_cgroup *cg, int fd, uint64_t *count);

#endif
