/* Internal to cgroup/: the two tables behind cgroup.h. A manager decides
 * where the container's cgroup is and makes, enters and removes it
 * (cgroupfs now: cgroup-fs.c; systemd next, through its D-Bus API, as
 * crun's and runc's). A version's file backend writes and reads what is in
 * it (cgroup-v1*.c, cgroup-v2*.c), whichever manager made it. Then the file
 * helpers both backends share. */
#ifndef HUSK_CGROUP_BACKEND_H
#define HUSK_CGROUP_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "cgroup/cgroup.h"
#include "spec/spec.h"

struct hk_resources;
struct hk_cg_stats;
struct bpf_insn;

struct cg_manager {
	const char *name;
	/* Where the container's cgroup goes, touching nothing (cg_resolve). */
	struct hk_cgroup *(*resolve)(const char *cgroups_path, const char *id, struct hk_err *err);
	/* Make the cgroup, empty: the backend then writes its devices and
	 * resources. */
	int (*create)(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err);
	/* update: what the manager keeps of the resources (NULL: nothing). */
	int (*update)(struct hk_cgroup *cg, const struct hk_resources *r, struct hk_err *err);
	/* create needs the process (cg->pid): after the clone. */
	bool late;
	/* cg_clone_fd and cg_enter_fds. */
	int (*clone_fd)(struct hk_cgroup *cg, int *fd, struct hk_err *err);
	int (*enter_fds)(struct hk_cgroup *cg, pid_t pid, int *fds, size_t max, size_t *n,
			 struct hk_err *err);
	/* Kill what is left in it and remove what the manager made. */
	int (*destroy)(struct hk_cgroup *cg, struct hk_err *err);
};

extern const struct cg_manager cg_fs_manager;
/* cgroup-systemd.c, when cg_systemd_enable() was called; else NULL. */
extern const struct cg_manager *cg_systemd_manager;

struct cg_ops {
	/* Enforce the device rules (cg_device_rules) on a new cgroup. */
	int (*devices)(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err);
	/* Write linux.resources; on update, check what checkBeforeUpdate asks. */
	int (*apply)(struct hk_cgroup *cg, const struct hk_resources *r, bool update,
		     struct hk_err *err);
	int (*freeze)(struct hk_cgroup *cg, bool frozen, struct hk_err *err);
	/* 1 frozen, 0 not, -1 no freezer */
	int (*is_frozen)(const struct hk_cgroup *cg);
	int (*stats)(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err);
	/* An fd that becomes readable on an OOM kill (see cg_oom_open). */
	int (*oom_open)(const struct hk_cgroup *cg, struct hk_err *err);
	int (*oom_read)(const struct hk_cgroup *cg, int fd, uint64_t *count);
};

extern const struct cg_ops cg_v1_ops;
extern const struct cg_ops cg_v2_ops;
/* The file backend of cg's version. */
const struct cg_ops *cg_backend(const struct hk_cgroup *cg);

/* The backends' parts, each in the file of its concern. */
int cg_v1_devices(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err);
int cg_v1_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err);
int cg_v2_devices(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err);
int cg_v2_apply(struct hk_cgroup *cg, const struct hk_resources *r, bool update,
		struct hk_err *err);
int cg_v2_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err);

/* v1 values onto v2's scales (formulas in cgroup-v2-res.c). */
uint64_t cg_cpu_shares_to_weight(uint64_t shares);
uint64_t cg_blkio_weight_to_io_weight(uint64_t weight);

/* Shared by the stats of both versions. */
void cg_stats_add_raw(struct hk_cg_stats *st, const char *key, uint64_t value);
/* memory.stat's "key value" lines into st->mem_raw (text is cut up); the
 * value of cache_key is also the cache figure. */
void cg_stats_parse_raw(struct hk_cg_stats *st, char *text, const char *cache_key);
void cg_stats_hugetlb(const struct hk_cgroup *cg, struct hk_cg_stats *st);
void cg_stats_cpuset(const struct hk_cgroup *cg, struct hk_cg_stats *st);
/* hugepageLimits and rdma: the same lines on both versions, in files named
 * hugetlb.<size>.<limit_file> and rdma.max. */
struct hk_res_cpu;
struct hk_opt;
int cg_write_cpuset(const struct hk_cgroup *cg, const struct hk_res_cpu *c, struct hk_err *err);
int cg_write_pids(const struct hk_cgroup *cg, const struct hk_opt *limit, struct hk_err *err);
int cg_write_hugetlb_rdma(const struct hk_cgroup *cg, const struct hk_resources *r,
			  const char *limit_file, struct hk_err *err);
void cg_stats_add_io(struct hk_cg_blkio_entry **v, size_t *n, uint64_t major, uint64_t minor,
		     const char *op, uint64_t value);

/* cgroupfs's own, for the systemd manager to build on. */
struct hk_cgroup *cg_fs_resolve(const char *path, const char *id, struct hk_err *err);

/* Read a cgroup.procs file: of the cgroup at dir, or open at dirfd (dir
 * names it in errors). */
int cg_read_pids(const char *dir, pid_t **pids, size_t *n, struct hk_err *err);
int cg_read_pids_at(int dirfd, const char *dir, pid_t **pids, size_t *n, struct hk_err *err);
/* Each cgroup below dir, all of them, children before their parent:
 * fn(parentfd, name, fd, data) with the cgroup open at fd and as name in
 * parentfd. -1 when dir cannot be opened or the tree is beyond any real
 * one (cgroup-tree.c). */
typedef void (*cg_tree_fn)(int parentfd, const char *name, int fd, void *data);
int cg_walk_below(const char *dir, cg_tree_fn fn, void *data, struct hk_err *err);

/* The container's directory in the hierarchy of controller ctrl ("memory");
 * on v2 the one directory. NULL when that controller is not there. */
const char *cg_dir_of(const struct hk_cgroup *cg, const char *ctrl);
/* Write value to a knob of controller ctrl; field names the config value in
 * the error ("linux.resources.memory.limit"). */
int cg_write(const struct hk_cgroup *cg, const char *ctrl, const char *file, const char *field,
	     const char *value, struct hk_err *err);
int cg_writef(const struct hk_cgroup *cg, const char *ctrl, const char *file, const char *field,
	      struct hk_err *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A knob's text, NULL when it cannot be read. */
char *cg_read(const struct hk_cgroup *cg, const char *ctrl, const char *file);
/* A knob holding one number; "max" reads as UINT64_MAX. false when absent. */
bool cg_read_u64(const struct hk_cgroup *cg, const char *ctrl, const char *file, uint64_t *out);
/* The number after "key " in a flat keyed file (cpu.stat, memory.events). */
bool cg_keyed_u64(const char *text, const char *key, uint64_t *out);

/* Poll a freezer file until it reads want, whole or as key's value in a
 * keyed file (the kernel freezes tasks one by one): up to ~2 s. */
int cg_wait_file(const struct hk_cgroup *cg, const char *ctrl, const char *file, const char *key,
		 const char *want, struct hk_err *err);

/* Devices every container may use whenever it has device rules. */
extern const struct hk_dev_rule cg_default_allow[];
extern const size_t cg_n_default_allow;

/* The device rules to enforce, in order: linux.resources.devices, then,
 * when there are any, cg_default_allow but for the nodes linux.devices
 * lists (as runc: a listed node gets only what the rules give it, and
 * linux.devices alone allows nothing). *n may be 0; free() the result. */
struct hk_dev_rule *cg_device_rules(const struct hk_spec *s, size_t *n);

/* cgroup-v2-devices.c: device control on cgroup v2 with an eBPF program
 * (semantics in that file's head comment). */

/* Compile rules into a BPF_PROG_TYPE_CGROUP_DEVICE program; pure. Fills
 * *insns (free() it) and *n_insns; fails on a rule it cannot express. */
int cg_devices_bpf_build(const struct hk_dev_rule *rules, size_t n, struct bpf_insn **insns,
			 size_t *n_insns, struct hk_err *err);
/* Load a device program and attach it to the cgroup open at cgroup_fd
 * (dir names it in errors), alongside any programs already there. */
int cg_devices_bpf_attach(int cgroup_fd, const char *dir, const struct bpf_insn *insns, size_t n,
			  struct hk_err *err);
/* Both: enforce rules on the cgroup. Needs privilege over bpf(2) and the
 * cgroup: in practice root in the initial user namespace. */
int cg_v2_devices_apply(int cgroup_fd, const char *dir, const struct hk_dev_rule *rules, size_t n,
			struct hk_err *err);

#endif
