/* husk events: a container's usage figures (--stats: once) and, streamed,
 * its OOM kills, as runc prints them: one JSON object per line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "runtime/control.h"
#include "spec/json.h"

/* runc's field names; zero values are left out where runc leaves them out
 * (its Go structs' omitempty). */
static void set_nz(hk_json *o, const char *key, uint64_t v)
{
	if (v)
		hk_json_set_u64(o, key, v);
}

static hk_json *u64_array(const uint64_t *v, size_t n)
{
	hk_json *a = hk_json_new_arr();
	for (size_t i = 0; i < n; i++)
		hk_json_append(a, hk_json_new_u64(v[i]));
	return a;
}

static hk_json *cpu_json(const struct hk_cg_stats *s)
{
	hk_json *usage = hk_json_new_obj(), *thr = hk_json_new_obj(), *cpu = hk_json_new_obj();
	set_nz(usage, "total", s->cpu_total);
	if (s->n_percpu)
		hk_json_set(usage, "percpu", u64_array(s->percpu, s->n_percpu));
	if (s->n_percpu_kernel)
		hk_json_set(usage, "percpu_kernel",
			    u64_array(s->percpu_kernel, s->n_percpu_kernel));
	if (s->n_percpu_user)
		hk_json_set(usage, "percpu_user", u64_array(s->percpu_user, s->n_percpu_user));
	hk_json_set_u64(usage, "kernel", s->cpu_kernel);
	hk_json_set_u64(usage, "user", s->cpu_user);
	set_nz(thr, "periods", s->periods);
	set_nz(thr, "throttledPeriods", s->throttled_periods);
	set_nz(thr, "throttledTime", s->throttled_time);
	hk_json_set(cpu, "usage", usage);
	hk_json_set(cpu, "throttling", thr);
	return cpu;
}

static hk_json *u16_array(const uint16_t *v, size_t n)
{
	hk_json *a = hk_json_new_arr();
	for (size_t i = 0; i < n; i++)
		hk_json_append(a, hk_json_new_int(v[i]));
	return a;
}

static hk_json *cpuset_json(const struct hk_cg_cpuset *c)
{
	hk_json *o = hk_json_new_obj();
	if (c->n_cpus)
		hk_json_set(o, "cpus", u16_array(c->cpus, c->n_cpus));
	hk_json_set_u64(o, "cpu_exclusive", c->cpu_exclusive);
	if (c->n_mems)
		hk_json_set(o, "mems", u16_array(c->mems, c->n_mems));
	hk_json_set_u64(o, "mem_hardwall", c->mem_hardwall);
	hk_json_set_u64(o, "mem_exclusive", c->mem_exclusive);
	hk_json_set_u64(o, "memory_migrate", c->memory_migrate);
	hk_json_set_u64(o, "memory_spread_page", c->memory_spread_page);
	hk_json_set_u64(o, "memory_spread_slab", c->memory_spread_slab);
	hk_json_set_u64(o, "memory_pressure", c->memory_pressure);
	hk_json_set_u64(o, "sched_load_balance", c->sched_load_balance);
	hk_json_set_int(o, "sched_relax_domain_level", c->sched_relax_domain_level);
	return o;
}

static hk_json *mem_entry(const struct hk_cg_mem *m)
{
	hk_json *o = hk_json_new_obj();
	hk_json_set_u64(o, "limit", m->limit);
	set_nz(o, "usage", m->usage);
	set_nz(o, "max", m->max);
	hk_json_set_u64(o, "failcnt", m->failcnt);
	return o;
}

static hk_json *memory_json(const struct hk_cg_stats *s)
{
	hk_json *m = hk_json_new_obj();
	set_nz(m, "cache", s->mem_cache);
	hk_json_set(m, "usage", mem_entry(&s->mem));
	if (s->swap.present)
		hk_json_set(m, "swap", mem_entry(&s->swap));
	if (s->kmem.present)
		hk_json_set(m, "kernel", mem_entry(&s->kmem));
	if (s->kmem_tcp.present)
		hk_json_set(m, "kernelTCP", mem_entry(&s->kmem_tcp));
	if (s->n_mem_raw) {
		hk_json *raw = hk_json_new_obj();
		for (size_t i = 0; i < s->n_mem_raw; i++)
			hk_json_set_u64(raw, s->mem_raw[i].key, s->mem_raw[i].value);
		hk_json_set(m, "raw", raw);
	}
	return m;
}

static hk_json *blkio_list(const struct hk_cg_blkio_entry *e, size_t n)
{
	hk_json *a = hk_json_new_arr();
	for (size_t i = 0; i < n; i++) {
		hk_json *o = hk_json_new_obj();
		set_nz(o, "major", e[i].major);
		set_nz(o, "minor", e[i].minor);
		hk_json_set_str(o, "op", e[i].op);
		set_nz(o, "value", e[i].value);
		hk_json_append(a, o);
	}
	return a;
}

static hk_json *stats_json(const struct hk_cg_stats *s)
{
	hk_json *d = hk_json_new_obj(), *pids = hk_json_new_obj(), *blkio = hk_json_new_obj();
	hk_json *huge = hk_json_new_obj();

	hk_json_set(d, "cpu", cpu_json(s));
	hk_json_set(d, "cpuset", cpuset_json(&s->cpuset));
	hk_json_set(d, "memory", memory_json(s));
	set_nz(pids, "current", s->pids_current);
	set_nz(pids, "limit", s->pids_limit);
	hk_json_set(d, "pids", pids);
	if (s->n_io_bytes)
		hk_json_set(blkio, "ioServiceBytesRecursive",
			    blkio_list(s->io_bytes, s->n_io_bytes));
	if (s->n_io_serviced)
		hk_json_set(blkio, "ioServicedRecursive",
			    blkio_list(s->io_serviced, s->n_io_serviced));
	hk_json_set(d, "blkio", blkio);
	for (size_t i = 0; i < s->n_hugetlb; i++) {
		hk_json *h = hk_json_new_obj();
		set_nz(h, "usage", s->hugetlb[i].usage);
		set_nz(h, "max", s->hugetlb[i].max);
		hk_json_set_u64(h, "failcnt", s->hugetlb[i].failcnt);
		hk_json_set(huge, s->hugetlb[i].size, h);
	}
	hk_json_set(d, "hugetlb", huge);
	return d;
}

/* One event line; -1 when stdout is gone (the reader left). */
static int print_event(const char *type, const char *id, hk_json *data)
{
	hk_json *e = hk_json_new_obj();
	hk_json_set_str(e, "type", type);
	hk_json_set_str(e, "id", id);
	if (data)
		hk_json_set(e, "data", data);
	int r = cli_print_json(e, 0) < 0 || fflush(stdout) != 0 ? -1 : 0;
	hk_json_put(e);
	return r;
}

static int on_stats(const struct hk_cg_stats *st, void *data)
{
	return print_event("stats", data, stats_json(st));
}

static int on_oom(void *data)
{
	return print_event("oom", data, NULL);
}

struct events_args {
	bool stats;
	int interval_ms;
};

/* Go durations as runc takes them: "5s", "500ms", "1m", "1m30s". */
static int parse_duration(const char *s, int *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ms", 1},   {"us", 0.001}, {"ns", 1e-6},
		     {"s", 1000}, {"m", 60000},  {"h", 3.6e6}};
	double total = 0;
	const char *p = s;

	while (*p) {
		char *end;
		double v = strtod(p, &end);
		size_t i = 0;
		if (end == p || v < 0)
			break;
		for (; i < sizeof(units) / sizeof(units[0]); i++)
			if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			break;
		total += v * units[i].ms;
		p = end + strlen(units[i].unit);
	}
	if (*p || p == s || total < 1 || total > 86400000)
		return cli_errorf("events: --interval: \"%s\" is not a duration like 5s", s) ? -1
											     : -1;
	*ms = (int)total;
	return 0;
}

static int on_opt(int opt, const char *arg, void *data)
{
	struct events_args *a = data;
	if (opt == 's')
		a->stats = true;
	else if (opt == 'i')
		return parse_duration(arg, &a->interval_ms);
	return 0;
}

static int run_events(const struct hk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"stats", no_argument, NULL, 's'}, {"interval", required_argument, NULL, 'i'}, {0}};
	struct events_args a = {false, 5000};
	struct hk_err err = {0};
	int status;

	if (cli_getopt(&cmd_events, argc, argv, "", opts, on_opt, &a, &status))
		return status;
	const char *id = cli_one_id(&cmd_events, argc, argv, &status);
	if (!id)
		return status;
	struct hk_events_cb cb = {on_stats, on_oom, (void *)argv[optind]};
	/* no message: an event could not be written (main says so) */
	if (container_events(g->root, id, a.interval_ms, a.stats, &cb, &err) < 0)
		return err.msg[0] ? cli_error(&err) : 1;
	return 0;
}

const struct hk_command cmd_events = {
	.prints = true,
	.name = "events",
	.run = run_events,
	.args = "[options] <container-id>",
	.summary = "print the container's resource usage, and OOM kills as they happen",
	.options = "   --stats               print the usage figures once, then exit\n"
		   "   --interval DURATION   time between usage figures (default 5s)\n",
};
