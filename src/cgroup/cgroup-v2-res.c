/* cgroup v2: linux.resources (written in v1's terms by the spec) converted
 * into the unified hierarchy's files; the freezer; OOM kills through
 * memory.events. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/resources.h"
#include "spec/spec.h"

#define F "linux.resources."

/* cpu.shares (2..262144, default 1024) onto cpu.weight (1..10000, default
 * 100), linearly, as runc and crun do:
 *   weight = 1 + (shares - 2) * 9999 / 262142
 * so 2 -> 1 and 262144 -> 10000 (1024 lands on 39, not 100: the two
 * defaults do not line up, and runc accepts that). */
uint64_t cg_cpu_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

/* blkio.weight (10..1000) onto io.weight (1..10000), as runc and crun do:
 *   io.weight = 1 + (weight - 10) * 9999 / 990
 * (io.bfq.weight takes v1's 1..1000 scale unchanged). */
uint64_t cg_blkio_weight_to_io_weight(uint64_t weight)
{
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

static int v1_only(const char *field, bool set, struct hk_err *err)
{
	if (!set)
		return 0;
	return hk_fail(err, 0, "%s: has no cgroup v2 equivalent, and this host runs cgroup v2",
		       field);
}

static void fmt_max(char *buf, size_t size, int64_t v)
{
	if (v < 0)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%" PRId64, v);
}

/* memory.swap.max counts swap alone, where the spec's swap (v1's memsw)
 * counts memory plus swap: swap.max = swap - limit, "max" for -1. */
static int v2_swap(const struct hk_cgroup *cg, const struct hk_res_memory *m, struct hk_err *err)
{
	char buf[32];
	uint64_t limit;

	if (!m->swap.set)
		return 0;
	if (m->swap.v < 0)
		return cg_write(cg, "memory", "memory.swap.max", F "memory.swap", "max", err);
	if (m->limit.set)
		limit = m->limit.v < 0 ? UINT64_MAX : (uint64_t)m->limit.v;
	else if (!cg_read_u64(cg, "memory", "memory.max", &limit))
		limit = UINT64_MAX;
	if (limit == UINT64_MAX)
		return hk_fail(err, 0, F "memory.swap: needs a memory limit on cgroup v2");
	if ((uint64_t)m->swap.v < limit)
		return hk_fail(err, 0, F "memory.swap: below the memory limit");
	snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)m->swap.v - limit);
	return cg_write(cg, "memory", "memory.swap.max", F "memory.swap", buf, err);
}

static int v2_memory(const struct hk_cgroup *cg, const struct hk_res_memory *m, bool update,
		     struct hk_err *err)
{
	char buf[32];
	uint64_t usage;

	if (v1_only(F "memory.swappiness", m->swappiness.set, err) < 0 ||
	    v1_only(F "memory.kernelTCP", m->kernel_tcp.set, err) < 0 ||
	    v1_only(F "memory.disableOOMKiller",
		    m->disable_oom_killer.set && m->disable_oom_killer.v, err) < 0)
		return -1;
	if (update && m->check_before_update && m->limit.set && m->limit.v >= 0 &&
	    cg_read_u64(cg, "memory", "memory.current", &usage) && usage > (uint64_t)m->limit.v)
		return hk_fail(err, 0,
			       F "memory.limit: %" PRId64 " is below the current usage of %" PRIu64
				 " (checkBeforeUpdate)",
			       m->limit.v, usage);
	/* Lowering the limit with swap set: memory.swap.max is computed
	 * from the new limit, so the limit goes first. */
	if (m->limit.set) {
		fmt_max(buf, sizeof(buf), m->limit.v);
		if (cg_write(cg, "memory", "memory.max", F "memory.limit", buf, err) < 0)
			return -1;
	}
	if (v2_swap(cg, m, err) < 0)
		return -1;
	if (m->reservation.set) {
		fmt_max(buf, sizeof(buf), m->reservation.v);
		if (cg_write(cg, "memory", "memory.low", F "memory.reservation", buf, err) < 0)
			return -1;
	}
	return 0;
}

/* cpu.max is "QUOTA PERIOD": a change of one keeps the other. */
static int v2_cpu_max(const struct hk_cgroup *cg, const struct hk_res_cpu *c, struct hk_err *err)
{
	char quota[32] = "max", buf[64];
	uint64_t period = 100000;

	if (!c->quota.set && !c->period.set)
		return 0;
	_cleanup_free_ char *cur = cg_read(cg, "cpu", "cpu.max");
	if (cur)
		sscanf(cur, "%31s %" SCNu64, quota, &period);
	if (c->quota.set)
		fmt_max(quota, sizeof(quota), c->quota.v);
	if (c->period.set)
		period = (uint64_t)c->period.v;
	snprintf(buf, sizeof(buf), "%s %" PRIu64, quota, period);
	return cg_write(cg, "cpu", "cpu.max", F "cpu.quota", buf, err);
}

static int v2_cpu(const struct hk_cgroup *cg, const struct hk_res_cpu *c, struct hk_err *err)
{
	if (v1_only(F "cpu.realtimeRuntime", c->realtime_runtime.set, err) < 0 ||
	    v1_only(F "cpu.realtimePeriod", c->realtime_period.set, err) < 0)
		return -1;
	if (c->shares.set && cg_writef(cg, "cpu", "cpu.weight", F "cpu.shares", err, "%" PRIu64,
				       cg_cpu_shares_to_weight((uint64_t)c->shares.v)) < 0)
		return -1;
	if (v2_cpu_max(cg, c, err) < 0)
		return -1;
	if (c->burst.set &&
	    cg_writef(cg, "cpu", "cpu.max.burst", F "cpu.burst", err, "%" PRId64, c->burst.v) < 0)
		return -1;
	if (c->idle.set &&
	    cg_writef(cg, "cpu", "cpu.idle", F "cpu.idle", err, "%" PRId64, c->idle.v) < 0)
		return -1;
	return cg_write_cpuset(cg, c, err);
}

/* A weight: io.bfq.weight when BFQ is there (v1's scale), else io.weight. */
static int io_weight(const struct hk_cgroup *cg, const char *dev, int64_t w, struct hk_err *err)
{
	_cleanup_free_ char *bfq = xasprintf("%s/io.bfq.weight", cg_dir_of(cg, "io"));
	if (access(bfq, F_OK) == 0)
		return cg_writef(cg, "io", "io.bfq.weight", F "blockIO.weight", err, "%s%" PRId64,
				 dev, w);
	return cg_writef(cg, "io", "io.weight", F "blockIO.weight", err, "%s%" PRIu64, dev,
			 cg_blkio_weight_to_io_weight((uint64_t)w));
}

static const char *const io_max_keys[HK_THR_N] = {"rbps", "wbps", "riops", "wiops"};

static int v2_io(const struct hk_cgroup *cg, const struct hk_res_blkio *b, struct hk_err *err)
{
	char dev[48];

	if (v1_only(F "blockIO.leafWeight", b->leaf_weight.set, err) < 0)
		return -1;
	if (b->weight.set && io_weight(cg, "default ", b->weight.v, err) < 0)
		return -1;
	for (size_t i = 0; i < b->n_weight_devs; i++) {
		const struct hk_res_dev *d = &b->weight_devs[i];
		if (v1_only(F "blockIO.weightDevice.leafWeight", d->leaf_weight.set, err) < 0)
			return -1;
		snprintf(dev, sizeof(dev), "%" PRId64 ":%" PRId64 " ", d->major, d->minor);
		if (d->weight.set && io_weight(cg, dev, d->weight.v, err) < 0)
			return -1;
	}
	for (int t = 0; t < HK_THR_N; t++)
		for (size_t i = 0; i < b->n_throttle[t]; i++) {
			const struct hk_res_dev *d = &b->throttle[t][i];
			if (cg_writef(cg, "io", "io.max", F "blockIO.throttle", err,
				      "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor,
				      io_max_keys[t], d->rate) < 0)
				return -1;
		}
	return 0;
}

static int v2_misc(const struct hk_cgroup *cg, const struct hk_resources *r, struct hk_err *err)
{
	char file[300];

	if (cg_write_hugetlb_rdma(cg, r, "max", err) < 0)
		return -1;
	if (v1_only(F "network.classID", r->net_class_id.set, err) < 0 ||
	    v1_only(F "network.priorities", r->n_net_prios > 0, err) < 0)
		return -1;
	/* unified last: its values override the converted ones */
	for (size_t i = 0; i < r->n_unified; i++) {
		snprintf(file, sizeof(file), F "unified.%s", r->unified[i].key);
		if (cg_write(cg, "", r->unified[i].key, file, r->unified[i].value, err) < 0)
			return -1;
	}
	return 0;
}

int cg_v2_apply(struct hk_cgroup *cg, const struct hk_resources *r, bool update, struct hk_err *err)
{
	if (v2_memory(cg, &r->memory, update, err) < 0 || v2_cpu(cg, &r->cpu, err) < 0 ||
	    cg_write_pids(cg, &r->pids_limit, err) < 0 || v2_io(cg, &r->blkio, err) < 0 ||
	    v2_misc(cg, r, err) < 0)
		return -1;
	return 0;
}

static int v2_freeze(struct hk_cgroup *cg, bool frozen, struct hk_err *err)
{
	const char *want = frozen ? "1" : "0";
	if (cg_write(cg, "", "cgroup.freeze", frozen ? "pause" : "resume", want, err) < 0)
		return -1;
	return cg_wait_file(cg, "", "cgroup.events", "frozen", want, err);
}

static int v2_is_frozen(const struct hk_cgroup *cg)
{
	uint64_t v;
	if (!cg_read_u64(cg, "", "cgroup.freeze", &v))
		return -1;
	return v != 0;
}

/* memory.events changes (a modify event) when oom_kill counts up. */
static int v2_oom_open(const struct hk_cgroup *cg, struct hk_err *err)
{
	const char *dir = cg_dir_of(cg, "memory");
	if (!dir)
		return hk_fail(err, 0, "no cgroup to watch for OOM kills");
	_cleanup_free_ char *path = xasprintf("%s/memory.events", dir);
	_cleanup_close_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return hk_fail(err, errno, "inotify_init1");
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
		return hk_fail(err, errno, "watch %s", path);
	return TAKE_FD(fd);
}

static int v2_oom_read(const struct hk_cgroup *cg, int fd, uint64_t *count)
{
	char buf[4096];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	_cleanup_free_ char *ev = cg_read(cg, "memory", "memory.events");
	return ev && cg_keyed_u64(ev, "oom_kill", count) ? 0 : -1;
}

const struct cg_ops cg_v2_ops = {
	.devices = cg_v2_devices,
	.apply = cg_v2_apply,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.stats = cg_v2_stats,
	.oom_open = v2_oom_open,
	.oom_read = v2_oom_read,
};
