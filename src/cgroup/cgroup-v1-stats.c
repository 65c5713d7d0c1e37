/* cgroup v1 usage figures, read from each controller's files into the
 * shape runc's `events --stats` reports. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

/* "123 456 789" -> a new array. */
static uint64_t *parse_list(const char *text, size_t *n)
{
	uint64_t *v = NULL;
	char *end;

	*n = 0;
	for (const char *p = text; p && *p;) {
		unsigned long long x = strtoull(p, &end, 10);
		if (end == p)
			break;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = x;
		p = end;
	}
	return v;
}

static void cpu_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st)
{
	_cleanup_free_ char *pc = cg_read(cg, "cpuacct", "cpuacct.usage_percpu");
	_cleanup_free_ char *pk = cg_read(cg, "cpuacct", "cpuacct.usage_percpu_sys");
	_cleanup_free_ char *pu = cg_read(cg, "cpuacct", "cpuacct.usage_percpu_user");
	_cleanup_free_ char *stat = cg_read(cg, "cpuacct", "cpuacct.stat");
	_cleanup_free_ char *thr = cg_read(cg, "cpu", "cpu.stat");
	uint64_t ticks;
	/* cpuacct.stat counts USER_HZ ticks. */
	uint64_t ns_per_tick = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);

	cg_read_u64(cg, "cpuacct", "cpuacct.usage", &st->cpu_total);
	st->percpu = parse_list(pc, &st->n_percpu);
	st->percpu_kernel = parse_list(pk, &st->n_percpu_kernel);
	st->percpu_user = parse_list(pu, &st->n_percpu_user);
	if (stat && cg_keyed_u64(stat, "user", &ticks))
		st->cpu_user = ticks * ns_per_tick;
	if (stat && cg_keyed_u64(stat, "system", &ticks))
		st->cpu_kernel = ticks * ns_per_tick;
	if (thr) {
		cg_keyed_u64(thr, "nr_periods", &st->periods);
		cg_keyed_u64(thr, "nr_throttled", &st->throttled_periods);
		cg_keyed_u64(thr, "throttled_time", &st->throttled_time);
	}
}

static void mem_entry(const struct hk_cgroup *cg, const char *prefix, struct hk_cg_mem *m)
{
	static const char *const names[] = {"limit_in_bytes", "usage_in_bytes",
					    "max_usage_in_bytes", "failcnt"};
	uint64_t *fields[] = {&m->limit, &m->usage, &m->max, &m->failcnt};
	char file[96];

	for (size_t i = 0; i < 4; i++) {
		snprintf(file, sizeof(file), "%s.%s", prefix, names[i]);
		if (cg_read_u64(cg, "memory", file, fields[i]))
			m->present = true;
	}
}

static void memory_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st)
{
	_cleanup_free_ char *raw = cg_read(cg, "memory", "memory.stat");

	mem_entry(cg, "memory", &st->mem);
	mem_entry(cg, "memory.memsw", &st->swap);
	mem_entry(cg, "memory.kmem", &st->kmem);
	mem_entry(cg, "memory.kmem.tcp", &st->kmem_tcp);
	cg_stats_parse_raw(st, raw, "cache");
}

/* "8:0 Read 4096" lines; the "Total" line without a device is skipped. */
static void blkio_file(const struct hk_cgroup *cg, const char *file, struct hk_cg_blkio_entry **v,
		       size_t *n)
{
	static const char *const ops[] = {"Read", "Write", "Sync", "Async", "Discard", "Total"};
	_cleanup_free_ char *text = cg_read(cg, "blkio", file);
	unsigned long long maj, min, val;
	char op[16];

	for (char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (sscanf(l, "%llu:%llu %15s %llu", &maj, &min, op, &val) != 4)
			continue;
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (strcmp(op, ops[i]) == 0)
				cg_stats_add_io(v, n, maj, min, ops[i], val);
	}
}

int cg_v1_stats(const struct hk_cgroup *cg, struct hk_cg_stats *st, struct hk_err *err)
{
	uint64_t max;

	(void)err;
	cpu_stats(cg, st);
	memory_stats(cg, st);
	cg_read_u64(cg, "pids", "pids.current", &st->pids_current);
	if (cg_read_u64(cg, "pids", "pids.max", &max) && max != UINT64_MAX)
		st->pids_limit = max;
	blkio_file(cg, "blkio.throttle.io_service_bytes_recursive", &st->io_bytes, &st->n_io_bytes);
	blkio_file(cg, "blkio.throttle.io_serviced_recursive", &st->io_serviced,
		   &st->n_io_serviced);
	cg_stats_hugetlb(cg, st);
	cg_stats_cpuset(cg, st);
	return 0;
}
