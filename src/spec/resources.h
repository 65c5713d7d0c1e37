/* linux.resources (config-linux.md "Control groups"), decoded and checked.
 * The same struct carries `husk update`'s changes: every value knows
 * whether it was given, so an update touches only what it names. */
#ifndef HUSK_SPEC_RESOURCES_H
#define HUSK_SPEC_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_err;
struct hk_kv;

/* A value that may be absent. */
struct hk_opt {
	bool set;
	int64_t v;
};

struct hk_res_memory {
	struct hk_opt limit, reservation, swap; /* bytes, -1: unlimited */
	struct hk_opt kernel_tcp;               /* bytes (v1 only) */
	struct hk_opt swappiness;               /* 0..100 (v1 only) */
	struct hk_opt disable_oom_killer;       /* 0/1 (v1 only) */
	bool check_before_update;
};

struct hk_res_cpu {
	struct hk_opt shares;                            /* v1 weight, 2..262144 */
	struct hk_opt quota, period, burst;              /* microseconds; quota -1: none */
	struct hk_opt realtime_runtime, realtime_period; /* microseconds (v1 only) */
	struct hk_opt idle;                              /* 0/1 (v2 only) */
	char *cpus, *mems;                               /* cpuset lists, "0-3,5" */
};

/* A per-device value: a weight or a throttle rate. */
struct hk_res_dev {
	int64_t major, minor;
	struct hk_opt weight, leaf_weight; /* weightDevice */
	uint64_t rate;                     /* throttle*Device */
};

enum hk_throttle {
	HK_THR_READ_BPS,
	HK_THR_WRITE_BPS,
	HK_THR_READ_IOPS,
	HK_THR_WRITE_IOPS,
	HK_THR_N
};

struct hk_res_blkio {
	struct hk_opt weight, leaf_weight; /* 10..1000 */
	struct hk_res_dev *weight_devs;
	size_t n_weight_devs;
	struct hk_res_dev *throttle[HK_THR_N];
	size_t n_throttle[HK_THR_N];
};

struct hk_res_hugepage {
	char *page_size; /* "2MB", "1GB" */
	uint64_t limit;
};

struct hk_res_net_prio {
	char *name;
	uint32_t priority;
};

struct hk_res_rdma {
	char *device;
	struct hk_opt hca_handles, hca_objects;
};

struct hk_resources {
	struct hk_res_memory memory;
	struct hk_res_cpu cpu;
	struct hk_opt pids_limit; /* -1: unlimited; 0 is "not given", as in runc 1.1 */
	struct hk_res_blkio blkio;
	struct hk_res_hugepage *hugepages;
	size_t n_hugepages;
	struct hk_opt net_class_id;
	struct hk_res_net_prio *net_prios;
	size_t n_net_prios;
	struct hk_res_rdma *rdma;
	size_t n_rdma;
	struct hk_kv *unified; /* v2 file name -> value */
	size_t n_unified;
	bool devices_given; /* update: a devices block came, checked, not applied */
};

/* A LinuxResources object on its own (`update -r FILE`). Its devices are
 * decoded (a malformed rule fails) and not applied, as runc 1.1.5 does:
 * containerd's shim sends the container's whole resources block, devices
 * included, on every update, and the container keeps the device rules it
 * was created with. */
struct hk_resources *spec_parse_resources(const char *json, size_t len, struct hk_err *err);
void spec_resources_clear(struct hk_resources *r);
void spec_resources_free(struct hk_resources *r);
/* Anything set at all? */
bool spec_resources_empty(const struct hk_resources *r);

#endif
