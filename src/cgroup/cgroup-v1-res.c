/* cgroup v1: linux.resources into each controller's files, the freezer,
 * and OOM notification through cgroup.event_control. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "spec/resources.h"

#define F "linux.resources."

/* A limit as v1 takes it: -1 is unlimited. */
static int set_limit(const struct hk_cgroup *cg, const char *file, const char *field,
		     const struct hk_opt *o, struct hk_err *err)
{
	if (!o->set)
		return 0;
	return cg_writef(cg, "memory", file, field, err, "%" PRId64, o->v);
}

/* memory.memsw.limit_in_bytes (memory + swap) may never be below
 * memory.limit_in_bytes, so the order of the two writes depends on
 * whether the limit grows past the current memsw. */
static int v1_memory_limits(const struct hk_cgroup *cg, const struct hk_res_memory *m,
			    struct hk_err *err)
{
	uint64_t memsw = UINT64_MAX;
	bool limit_first = true;

	if (m->swap.set && m->limit.set) {
		cg_read_u64(cg, "memory", "memory.memsw.limit_in_bytes", &memsw);
		uint64_t limit = m->limit.v < 0 ? UINT64_MAX : (uint64_t)m->limit.v;
		limit_first = limit <= memsw;
	}
	if (limit_first && set_limit(cg, "memory.limit_in_bytes", F "memory.limit", &m->limit, err))
		return -1;
	if (set_limit(cg, "memory.memsw.limit_in_bytes", F "memory.swap", &m->swap, err) < 0)
		return -1;
	if (!limit_first &&
	    set_limit(cg, "memory.limit_in_bytes", F "memory.limit", &m->limit, err))
		return -1;
	return 0;
}

static int check_usage(const struct hk_cgroup *cg, const struct hk_res_memory *m,
		       const char *usage_file, struct hk_err *err)
{
	uint64_t usage;

	if (!m->check_before_update || !m->limit.set || m->limit.v < 0 ||
	    !cg_read_u64(cg, "memory", usage_file, &usage))
		return 0;
	if (usage > (uint64_t)m->limit.v)
		return hk_fail(err, 0,
			       F "memory.limit: %" PRId64 " is below the current usage of %" PRIu64
				 " (checkBeforeUpdate)",
			       m->limit.v, usage);
	return 0;
}

static int v1_memory(const struct hk_cgroup *cg, const struct hk_res_memory *m, bool update,
		     struct hk_err *err)
{
	if (update && check_usage(cg, m, "memory.usage_in_bytes", err) < 0)
		return -1;
	if (v1_memory_limits(cg, m, err) < 0 ||
	    set_limit(cg, "memory.soft_limit_in_bytes", F "memory.reservation", &m->reservation,
		      err) < 0 ||
	    set_limit(cg, "memory.kmem.tcp.limit_in_bytes", F "memory.kernelTCP", &m->kernel_tcp,
		      err) < 0 ||
	    set_limit(cg, "memory.swappiness", F "memory.swappiness", &m->swappiness, err) < 0 ||
	    set_limit(cg, "memory.oom_control", F "memory.disableOOMKiller", &m->disable_oom_killer,
		      err) < 0)
		return -1;
	return 0;
}

static int set_cpu(const struct hk_cgroup *cg, const char *file, const char *field,
		   const struct hk_opt *o, struct hk_err *err)
{
	if (!o->set)
		return 0;
	return cg_writef(cg, "cpu", file, field, err, "%" PRId64, o->v);
}

static int v1_cpu(const struct hk_cgroup *cg, const struct hk_res_cpu *c, struct hk_err *err)
{
	/* The period goes first: a quota is checked against it. */
	if (set_cpu(cg, "cpu.shares", F "cpu.shares", &c->shares, err) < 0 ||
	    set_cpu(cg, "cpu.cfs_period_us", F "cpu.period", &c->period, err) < 0 ||
	    set_cpu(cg, "cpu.cfs_quota_us", F "cpu.quota", &c->quota, err) < 0 ||
	    set_cpu(cg, "cpu.cfs_burst_us", F "cpu.burst", &c->burst, err) < 0 ||
	    set_cpu(cg, "cpu.rt_period_us", F "cpu.realtimePeriod", &c->realtime_period, err) < 0 ||
	    set_cpu(cg, "cpu.rt_runtime_us", F "cpu.realtimeRuntime", &c->realtime_runtime, err) <
		    0 ||
	    set_cpu(cg, "cpu.idle", F "cpu.idle", &c->idle, err) < 0)
		return -1;
	return cg_write_cpuset(cg, c, err);
}

/* Without CFQ the weights live in BFQ's files, if BFQ is there at all. */
static const char *weight_file(const struct hk_cgroup *cg, const char *cfq, const char *bfq)
{
	const char *dir = cg_dir_of(cg, "blkio");
	_cleanup_free_ char *p = dir ? xasprintf("%s/%s", dir, cfq) : NULL;
	return p && access(p, F_OK) == 0 ? cfq : bfq;
}

static const char *const throttle_files[HK_THR_N] = {
	"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};

static int v1_blkio(const struct hk_cgroup *cg, const struct hk_res_blkio *b, struct hk_err *err)
{
	const char *wf = weight_file(cg, "blkio.weight", "blkio.bfq.weight");
	const char *wdf = weight_file(cg, "blkio.weight_device", "blkio.bfq.weight_device");

	if (b->weight.set &&
	    cg_writef(cg, "blkio", wf, F "blockIO.weight", err, "%" PRId64, b->weight.v) < 0)
		return -1;
	if (b->leaf_weight.set &&
	    cg_writef(cg, "blkio", "blkio.leaf_weight", F "blockIO.leafWeight", err, "%" PRId64,
		      b->leaf_weight.v) < 0)
		return -1;
	for (size_t i = 0; i < b->n_weight_devs; i++) {
		const struct hk_res_dev *d = &b->weight_devs[i];
		if (d->weight.set && cg_writef(cg, "blkio", wdf, F "blockIO.weightDevice", err,
					       "%" PRId64 ":%" PRId64 " %" PRId64, d->major,
					       d->minor, d->weight.v) < 0)
			return -1;
		if (d->leaf_weight.set &&
		    cg_writef(cg, "blkio", "blkio.leaf_weight_device", F "blockIO.weightDevice",
			      err, "%" PRId64 ":%" PRId64 " %" PRId64, d->major, d->minor,
			      d->leaf_weight.v) < 0)
			return -1;
	}
	for (int t = 0; t < HK_THR_N; t++)
		for (size_t i = 0; i < b->n_throttle[t]; i++) {
			const struct hk_res_dev *d = &b->throttle[t][i];
			if (cg_writef(cg, "blkio", throttle_files[t], F "blockIO.throttle", err,
				      "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
				      d->rate) < 0)
				return -1;
		}
	return 0;
}

static int v1_misc(const struct hk_cgroup *cg, const struct hk_resources *r, struct hk_err *err)
{
	if (cg_write_hugetlb_rdma(cg, r, "limit_in_bytes", err) < 0)
		return -1;
	if (r->net_class_id.set && cg_writef(cg, "net_cls", "net_cls.classid", F "network.classID",
					     err, "%" PRId64, r->net_class_id.v) < 0)
		return -1;
	for (size_t i = 0; i < r->n_net_prios; i++)
		if (cg_writef(cg, "net_prio", "net_prio.ifpriomap", F "network.priorities", err,
			      "%s %u", r->net_prios[i].name, r->net_prios[i].priority) < 0)
			return -1;
	if (r->n_unified > 0)
		return hk_fail(err, 0,
			       F "unified: needs cgroup v2, and this host's controllers are v1");
	return 0;
}

static int v1_apply(struct hk_cgroup *cg, const struct hk_resources *r, bool update,
		    struct hk_err *err)
{
	if (v1_memory(cg, &r->memory, update, err) < 0 || v1_cpu(cg, &r->cpu, err) < 0 ||
	    cg_write_pids(cg, &r->pids_limit, err) < 0 || v1_blkio(cg, &r->blkio, err) < 0 ||
	    v1_misc(cg, r, err) < 0)
		return -1;
	return 0;
}

static int v1_freeze(struct hk_cgroup *cg, bool frozen, struct hk_err *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	if (cg_write(cg, "freezer", "freezer.state", frozen ? "pause" : "resume", want, err) < 0)
		return -1;
	return cg_wait_file(cg, "freezer", "freezer.state", NULL, want, err);
}

static int v1_is_frozen(const struct hk_cgroup *cg)
{
	_cleanup_free_ char *s = cg_read(cg, "freezer", "freezer.state");
	if (!s)
		return -1;
	return strncmp(s, "THAWED", 6) != 0;
}

/* cgroup-v1/memory.rst "Memory thresholds"/"OOM control": an eventfd
 * registered with cgroup.event_control counts OOM events. */
static int v1_oom_open(const struct hk_cgroup *cg, struct hk_err *err)
{
	const char *dir = cg_dir_of(cg, "memory");
	if (!dir)
		return hk_fail(err, 0, "no memory cgroup to watch for OOM kills");
	_cleanup_free_ char *ctl = xasprintf("%s/memory.oom_control", dir);
	_cleanup_free_ char *ev = xasprintf("%s/cgroup.event_control", dir);
	_cleanup_close_ int cfd = open(ctl, O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		return hk_fail(err, errno, "open %s", ctl);
	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return hk_fail(err, errno, "eventfd");
	char line[32];
	snprintf(line, sizeof(line), "%d %d", efd, cfd);
	if (hk_write_str(ev, line, err) < 0)
		return -1;
	return TAKE_FD(efd);
}

static int v1_oom_read(const struct hk_cgroup *cg, int fd, uint64_t *count)
{
	uint64_t n;
	(void)cg;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return -1;
	*count += n;
	return 0;
}

const struct cg_ops cg_v1_ops = {
	.devices = cg_v1_devices,
	.apply = v1_apply,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.stats = cg_v1_stats,
	.oom_open = v1_oom_open,
	.oom_read = v1_oom_read,
};
