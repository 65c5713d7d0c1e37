/* cgroup v2 usage figures in the shape runc's `events --stats` reports:
 * the unified files hold fewer counters than v1 (no per-cpu usage, no
 * failcnt files), so some stay zero, as they do with runc. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

static void cpu_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st)
{
	_cleanup_free_ char *s = cg_read(cg, "cpu", "cpu.stat");
	uint64_t v;

	if (!s)
		return;
	if (cg_keyed_u64(s, "usage_usec", &v))
		st->cpu_total = v * 1000;
	if (cg_keyed_u64(s, "user_usec", &v))
		st->cpu_user = v * 1000;
	if (cg_keyed_u64(s, "system_usec", &v))
		st->cpu_kernel = v * 1000;
	cg_keyed_u64(s, "nr_periods", &st->periods);
	cg_keyed_u64(s, "nr_throttled", &st->throttled_periods);
	if (cg_keyed_u64(s, "throttled_usec", &v))
		st->throttled_time = v * 1000;
}

static void memory_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st)
{
	_cleanup_free_ char *raw = cg_read(cg, "memory", "memory.stat");
	_cleanup_free_ char *ev = cg_read(cg, "memory", "memory.events");
	uint64_t swap = 0, swap_max = 0;

	st->mem.present = cg_read_u64(cg, "memory", "memory.current", &st->mem.usage);
	cg_read_u64(cg, "memory", "memory.max", &st->mem.limit);
	cg_read_u64(cg, "memory", "memory.peak", &st->mem.max);
	if (ev)
		cg_keyed_u64(ev, "max", &st->mem.failcnt);
	/* v1's memsw counted memory plus swap; runc reports v2's that way */
	if (cg_read_u64(cg, "memory", "memory.swap.current", &swap)) {
		cg_read_u64(cg, "memory", "memory.swap.max", &swap_max);
		st->swap.present = true;
		st->swap.usage = st->mem.usage + swap;
		st->swap.limit = swap_max == UINT64_MAX || st->mem.limit == UINT64_MAX
					 ? UINT64_MAX
					 : st->mem.limit + swap_max;
	}
	cg_stats_parse_raw(st, raw, "file");
}

/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
static void io_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st)
{
	_cleanup_free_ char *text = cg_read(cg, "io", "io.stat");
	unsigned long long maj, min, rb, wb, ri, wi;

	for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (sscanf(l, "%llu:%llu rbytes=%llu wbytes=%llu rios=%llu wios=%llu", &maj, &min,
			   &rb, &wb, &ri, &wi) != 6)
			continue;
		cg_stats_add_io(&st->io_bytes, &st->n_io_bytes, maj, min, "Read", rb);
		cg_stats_add_io(&st->io_bytes, &st->n_io_bytes, maj, min, "Write", wb);
		cg_stats_add_io(&st->io_serviced, &st->n_io_serviced, maj, min, "Read", ri);
		cg_stats_add_io(&st->io_serviced, &st->n_io_serviced, maj, min, "Write", wi);
	}
}

int cg_v2_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err)
{
	uint64_t max;

	(void)err;
	cpu_stats(cg, st);
	memory_stats(cg, st);
	cg_read_u64(cg, "pids", "pids.current", &st->pids_current);
	if (cg_read_u64(cg, "pids", "pids.max", &max) && max != UINT64_MAX)
		st->pids_limit = max;
	io_stats(cg, st);
	cg_stats_hugetlb(cg, st);
	cg_stats_cpuset(cg, st);
	return 0;
}
