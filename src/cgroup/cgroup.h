/* The container's cgroup: one interface over cgroup v1 (and the hybrid
 * layout: v1 controllers plus a cgroup2 hierarchy) and pure cgroup v2. */
#ifndef HUSK_CGROUP_CGROUP_H
#define HUSK_CGROUP_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;
struct hk_spec;

/* One hierarchy's directory for the container. */
struct hk_cg_dir {
	char *name;  /* mount point's basename: "memory", "systemd", "unified"; "" on pure v2 */
	char *dir;   /* absolute host path of the container's cgroup in it */
	bool shared; /* it existed before the container: joined, never removed */
};

struct hk_cgroup {
	int version; /* 1 (v1 or hybrid) or 2 */
	struct hk_cg_dir *dirs;
	size_t n_dirs;
};

/* Work out where the container's cgroup goes (linux.cgroupsPath: absolute
 * from each hierarchy's root, relative from husk's own cgroup; absent: the
 * container id, relative), without touching anything. */
struct hk_cgroup *cg_resolve(const char *cgroups_path, const char *id, struct hk_err *err);
/* The same from what state.json recorded. */
struct hk_cgroup *cg_new(int version);
void cg_add_dir(struct hk_cgroup *cg, const char *name, const char *dir);
void cg_free(struct hk_cgroup *cg);

/* For an unprivileged husk: keep only the hierarchies where the user may
 * create the container's cgroup (a delegated subtree); none is fine. */
void cg_keep_writable(struct hk_cgroup *cg);
/* Make the directories and apply linux.resources. */
int cg_create(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err);
/* An fd for clone3's CLONE_INTO_CGROUP, or -1 when the version has none. */
int cg_clone_fd(struct hk_cgroup *cg, struct hk_err *err);
/* Move pid in (v1: every hierarchy; v2: nothing left to do after clone3). */
int cg_enter(struct hk_cgroup *cg, pid_t pid, struct hk_err *err);
/* The pids in the cgroup. */
int cg_pids(struct hk_cgroup *cg, pid_t **pids, size_t *n, struct hk_err *err);
/* Signal every process in the cgroup. */
int cg_signal_all(struct hk_cgroup *cg, int sig, struct hk_err *err);
/* Kill what is left and remove the directories husk made. Missing ones are
 * fine; shared ones (a cgroupsPath that existed before) are left alone:
 * their other processes are none of this container's business. */
int cg_destroy(struct hk_cgroup *cg, struct hk_err *err);

#endif
