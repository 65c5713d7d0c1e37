/* Usage figures for `events`: the parts both cgroup versions share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/xalloc.h"

void cg_stats_add_raw(struct hk_cg_stats *st, const char *key, uint64_t value)
{
	st->mem_raw = xrealloc(st->mem_raw, (st->n_mem_raw + 1) * sizeof(*st->mem_raw));
	st->mem_raw[st->n_mem_raw].key = xstrdup(key);
	st->mem_raw[st->n_mem_raw++].value = value;
}

void cg_stats_parse_raw(struct hk_cg_stats *st, char *text, const char *cache_key)
{
	for (char *l = text, *nl; l && *l; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		char *sp = strchr(l, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		cg_stats_add_raw(st, l, strtoull(sp + 1, NULL, 10));
		if (strcmp(l, cache_key) == 0)
			st->mem_cache = st->mem_raw[st->n_mem_raw - 1].value;
	}
}

/* The page sizes x86, arm64 and ppc64 have; a size the kernel lacks has no
 * files and is skipped. */
void cg_stats_hugetlb(const struct hk_cgroup *cg, struct hk_cg_stats *st)
{
	static const char *const sizes[] = {"64KB", "2MB", "32MB", "1GB", "16GB"};
	bool v2 = cg->version == 2;
	char file[64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct hk_cg_hugetlb h = {0};
		snprintf(file, sizeof(file), "hugetlb.%s.%s", sizes[i],
			 v2 ? "current" : "usage_in_bytes");
		if (!cg_read_u64(cg, "hugetlb", file, &h.usage))
			continue;
		if (v2) { /* no peak on v2; failures are counted in events */
			snprintf(file, sizeof(file), "hugetlb.%s.events", sizes[i]);
			_cleanup_free_ char *ev = cg_read(cg, "hugetlb", file);
			if (ev)
				cg_keyed_u64(ev, "max", &h.failcnt);
		} else {
			snprintf(file, sizeof(file), "hugetlb.%s.max_usage_in_bytes", sizes[i]);
			cg_read_u64(cg, "hugetlb", file, &h.max);
			snprintf(file, sizeof(file), "hugetlb.%s.failcnt", sizes[i]);
			cg_read_u64(cg, "hugetlb", file, &h.failcnt);
		}
		snprintf(h.size, sizeof(h.size), "%s", sizes[i]);
		st->hugetlb = xrealloc(st->hugetlb, (st->n_hugetlb + 1) * sizeof(h));
		st->hugetlb[st->n_hugetlb++] = h;
	}
}

/* "0-2,5" -> 0 1 2 5 (at most 4096 entries). */
static uint16_t *expand_list(const char *text, size_t *n)
{
	uint16_t *v = NULL;
	char *end;

	*n = 0;
	for (const char *p = text; p && *p >= '0' && *p <= '9';) {
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		for (unsigned long c = lo; c <= hi && c <= 65535 && *n < 4096; c++) {
			v = xrealloc(v, (*n + 1) * sizeof(*v));
			v[(*n)++] = (uint16_t)c;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return v;
}

void cg_stats_cpuset(const struct hk_cgroup *cg, struct hk_cg_stats *st)
{
	static const char *const flags[] = {
		"cpuset.cpu_exclusive",   "cpuset.mem_hardwall",       "cpuset.mem_exclusive",
		"cpuset.memory_migrate",  "cpuset.memory_spread_page", "cpuset.memory_spread_slab",
		"cpuset.memory_pressure", "cpuset.sched_load_balance",
	};
	struct hk_cg_cpuset *c = &st->cpuset;
	uint64_t *vals[] = {&c->cpu_exclusive,   &c->mem_hardwall,       &c->mem_exclusive,
			    &c->memory_migrate,  &c->memory_spread_page, &c->memory_spread_slab,
			    &c->memory_pressure, &c->sched_load_balance};
	bool v2 = cg->version == 2;
	_cleanup_free_ char *cpus =
		cg_read(cg, "cpuset", v2 ? "cpuset.cpus.effective" : "cpuset.cpus");
	_cleanup_free_ char *mems =
		cg_read(cg, "cpuset", v2 ? "cpuset.mems.effective" : "cpuset.mems");

	c->cpus = expand_list(cpus, &c->n_cpus);
	c->mems = expand_list(mems, &c->n_mems);
	if (v2)
		return;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		cg_read_u64(cg, "cpuset", flags[i], vals[i]);
	_cleanup_free_ char *relax = cg_read(cg, "cpuset", "cpuset.sched_relax_domain_level");
	if (relax)
		c->sched_relax_domain_level = strtoll(relax, NULL, 10);
}

void cg_stats_add_io(struct hk_cg_blkio_entry **v, size_t *n, uint64_t major, uint64_t minor,
		     const char *op, uint64_t value)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = (struct hk_cg_blkio_entry){major, minor, op, value};
	(*n)++;
}

void cg_stats_clear(struct hk_cg_stats *st)
{
	free(st->cpuset.cpus);
	free(st->cpuset.mems);
	free(st->percpu);
	free(st->percpu_kernel);
	free(st->percpu_user);
	for (size_t i = 0; i < st->n_mem_raw; i++)
		free(st->mem_raw[i].key);
	free(st->mem_raw);
	free(st->io_bytes);
	free(st->io_serviced);
	free(st->hugetlb);
	memset(st, 0, sizeof(*st));
}

/* v2: cpu.max "QUOTA PERIOD" or "max PERIOD"; v1: cpu.cfs_quota_us (-1: none)
 * and cpu.cfs_period_us. */
bool cg_cpu_limit(const struct hk_cgroup *cg, int64_t *quota, uint64_t *period)
{
	*quota = -1;
	*period = 0;
	if (cg->version == 2) {
		_cleanup_free_ char *text = cg_read(cg, "cpu", "cpu.max");
		char q[32];
		unsigned long long p;
		if (!text || sscanf(text, "%31s %llu", q, &p) != 2)
			return false;
		*period = p;
		if (strcmp(q, "max") != 0)
			*quota = strtoll(q, NULL, 10);
		return true;
	}
	_cleanup_free_ char *text = cg_read(cg, "cpu", "cpu.cfs_quota_us");
	if (!text || !cg_read_u64(cg, "cpu", "cpu.cfs_period_us", period))
		return false;
	*quota = strtoll(text, NULL, 10);
	return true;
}
