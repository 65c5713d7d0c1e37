/* Internal to cgroup/: what a version's backend provides. */
#ifndef HUSK_CGROUP_BACKEND_H
#define HUSK_CGROUP_BACKEND_H

#include "cgroup/cgroup.h"

struct cg_ops {
	int (*create)(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err);
	int (*enter)(struct hk_cgroup *cg, pid_t pid, struct hk_err *err);
};

extern const struct cg_ops cg_v1_ops;
extern const struct cg_ops cg_v2_ops;

/* Read a cgroup.procs file. */
int cg_read_pids(const char *dir, pid_t **pids, size_t *n, struct hk_err *err);

#endif
