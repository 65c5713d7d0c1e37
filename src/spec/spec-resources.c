/* linux.resources: every controller's values, range-checked here so that a
 * bad value is refused before anything is made. As in runc, a zero limit,
 * share, weight or period means "not given". */
#include "spec/resources.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "spec/decode.h"
#include "spec/spec.h"

/* An integer in [min, max]; zero counts as absent when zero_unset. */
static int get_opt(hk_json *obj, const char *path, const char *key, int64_t min, int64_t max,
		   bool zero_unset, struct hk_opt *out, struct hk_err *err)
{
	int64_t v;
	int r = hk_json_get_i64(obj, path, key, min, max, &v, err);
	if (r <= 0)
		return r;
	if (zero_unset && v == 0)
		return 0;
	out->set = true;
	out->v = v;
	return 1;
}

static int get_flag(hk_json *obj, const char *path, const char *key, struct hk_opt *out,
		    struct hk_err *err)
{
	bool b;
	int r = hk_json_get_bool(obj, path, key, &b, err);
	if (r > 0) {
		out->set = true;
		out->v = b;
	}
	return r;
}

/* "0-3,5,7-8": what cpuset.cpus and cpuset.mems take. */
static int check_cpu_list(const char *path, const char *list, struct hk_err *err)
{
	const char *p = list;

	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				goto bad;
			hi = strtoul(end + 1, &end, 10);
		}
		if (hi < lo || hi > 65535)
			goto bad;
		p = end;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	return 0;
bad:
	return hk_fail(err, 0, "%s: \"%s\" is not a list like 0-3,5", path, list);
}

static int decode_memory(hk_json *res, const char *path, struct hk_res_memory *m,
			 struct hk_err *err)
{
	char p[160];
	hk_json *o;
	bool b;

	int r = hk_json_get_obj(res, path, "memory", &o, err);
	if (r <= 0)
		return r;
	hk_json_path(p, sizeof(p), path, "memory");
	if (get_opt(o, p, "limit", -1, INT64_MAX, true, &m->limit, err) < 0 ||
	    get_opt(o, p, "reservation", -1, INT64_MAX, true, &m->reservation, err) < 0 ||
	    get_opt(o, p, "swap", -1, INT64_MAX, true, &m->swap, err) < 0 ||
	    get_opt(o, p, "kernelTCP", -1, INT64_MAX, true, &m->kernel_tcp, err) < 0 ||
	    get_opt(o, p, "swappiness", 0, 100, false, &m->swappiness, err) < 0 ||
	    get_flag(o, p, "disableOOMKiller", &m->disable_oom_killer, err) < 0 ||
	    hk_json_get_bool(o, p, "checkBeforeUpdate", &m->check_before_update, err) < 0)
		return -1;
	struct hk_opt kernel = {0};
	if (get_opt(o, p, "kernel", -1, INT64_MAX, true, &kernel, err) < 0)
		return -1;
	/* As runc and crun: a warning, not an error (engines still send it);
	 * kernels since 5.16 (cgroup v1) and every v2 ignore kmem limits. */
	if (kernel.set)
		hk_log(HK_LOG_WARN,
		       "%s.kernel: ignored: kernel memory limits are deprecated and the kernel "
		       "no longer enforces them",
		       p);
	if (hk_json_get_bool(o, p, "useHierarchy", &b, err) > 0 && !b)
		return hk_fail(err, 0, "%s.useHierarchy: false is not possible on this kernel", p);
	if (m->swap.set && m->swap.v != -1 && m->limit.set && m->limit.v != -1 &&
	    m->swap.v < m->limit.v)
		return hk_fail(err, 0,
			       "%s.swap: %lld is below limit %lld (swap counts memory plus swap)",
			       p, (long long)m->swap.v, (long long)m->limit.v);
	return 0;
}

static int decode_cpu(hk_json *res, const char *path, struct hk_res_cpu *c, struct hk_err *err)
{
	char p[160], q[200];
	hk_json *o;

	int r = hk_json_get_obj(res, path, "cpu", &o, err);
	if (r <= 0)
		return r;
	hk_json_path(p, sizeof(p), path, "cpu");
	/* Ranges from the kernel: shares 2..262144 (sched/core.c), a CFS
	 * period of 1 ms..1 s and a quota of at least 1 ms. */
	if (get_opt(o, p, "shares", 0, 262144, true, &c->shares, err) < 0 ||
	    get_opt(o, p, "quota", -1, INT64_MAX / 1000, true, &c->quota, err) < 0 ||
	    get_opt(o, p, "period", 0, 1000000, true, &c->period, err) < 0 ||
	    get_opt(o, p, "burst", 0, INT64_MAX / 1000, false, &c->burst, err) < 0 ||
	    get_opt(o, p, "realtimeRuntime", -1, INT64_MAX / 1000, true, &c->realtime_runtime,
		    err) < 0 ||
	    get_opt(o, p, "realtimePeriod", 0, INT64_MAX / 1000, true, &c->realtime_period, err) <
		    0 ||
	    get_opt(o, p, "idle", 0, 1, false, &c->idle, err) < 0 ||
	    hk_json_get_str(o, p, "cpus", &c->cpus, err) < 0 ||
	    hk_json_get_str(o, p, "mems", &c->mems, err) < 0)
		return -1;
	if (c->shares.set && c->shares.v < 2)
		return hk_fail(err, 0, "%s.shares: %lld is below the minimum of 2", p,
			       (long long)c->shares.v);
	if (c->quota.set && c->quota.v != -1 && c->quota.v < 1000)
		return hk_fail(err, 0, "%s.quota: %lld us is below the kernel's minimum of 1000", p,
			       (long long)c->quota.v);
	if (c->period.set && c->period.v < 1000)
		return hk_fail(err, 0, "%s.period: %lld us is outside 1000..1000000", p,
			       (long long)c->period.v);
	if (c->cpus && *c->cpus &&
	    check_cpu_list(hk_json_path(q, sizeof(q), p, "cpus"), c->cpus, err))
		return -1;
	if (c->mems && *c->mems &&
	    check_cpu_list(hk_json_path(q, sizeof(q), p, "mems"), c->mems, err))
		return -1;
	return 0;
}

static int decode_pids(hk_json *res, const char *path, struct hk_opt *limit, struct hk_err *err)
{
	char p[160];
	hk_json *o;

	int r = hk_json_get_obj(res, path, "pids", &o, err);
	if (r <= 0)
		return r;
	hk_json_path(p, sizeof(p), path, "pids");
	r = get_opt(o, p, "limit", -1, INT64_MAX, true, limit, err);
	if (r < 0)
		return -1;
	if (!hk_json_has(o, "limit"))
		return hk_fail(err, 0, "%s.limit: missing", p);
	return 0;
}

static int decode_weight_dev(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			     struct hk_err *err)
{
	struct hk_res_dev *d = (struct hk_res_dev *)array + i;
	struct hk_opt maj = {0}, min = {0};

	if (get_opt(v, path, "major", 0, UINT32_MAX, false, &maj, err) < 0 ||
	    get_opt(v, path, "minor", 0, UINT32_MAX, false, &min, err) < 0)
		return -1;
	if (!maj.set || !min.set)
		return hk_fail(err, 0, "%s: major and minor are required", path);
	d->major = maj.v;
	d->minor = min.v;
	if (ctx) { /* a throttle rate */
		uint64_t rate;
		if (hk_json_get_u64(v, path, "rate", &rate, err) < 0)
			return -1;
		if (!hk_json_has(v, "rate"))
			return hk_fail(err, 0, "%s.rate: missing", path);
		d->rate = rate;
		return 0;
	}
	if (get_opt(v, path, "weight", 10, 1000, false, &d->weight, err) < 0 ||
	    get_opt(v, path, "leafWeight", 10, 1000, false, &d->leaf_weight, err) < 0)
		return -1;
	return 0;
}

static const char *const throttle_keys[HK_THR_N] = {
	[HK_THR_READ_BPS] = "throttleReadBpsDevice",
	[HK_THR_WRITE_BPS] = "throttleWriteBpsDevice",
	[HK_THR_READ_IOPS] = "throttleReadIOPSDevice",
	[HK_THR_WRITE_IOPS] = "throttleWriteIOPSDevice",
};

static int decode_blkio(hk_json *res, const char *path, struct hk_res_blkio *b, struct hk_err *err)
{
	char p[160];
	hk_json *o;
	static int rate_ctx;

	int r = hk_json_get_obj(res, path, "blockIO", &o, err);
	if (r <= 0)
		return r;
	hk_json_path(p, sizeof(p), path, "blockIO");
	/* blkio.weight takes 10..1000; 0 means not given. */
	if (get_opt(o, p, "weight", 0, 1000, true, &b->weight, err) < 0 ||
	    get_opt(o, p, "leafWeight", 0, 1000, true, &b->leaf_weight, err) < 0)
		return -1;
	if ((b->weight.set && b->weight.v < 10) || (b->leaf_weight.set && b->leaf_weight.v < 10))
		return hk_fail(err, 0, "%s.weight: must be within 10..1000", p);
	if (spec_decode_array(o, p, "weightDevice", sizeof(struct hk_res_dev), decode_weight_dev,
			      NULL, &b->weight_devs, &b->n_weight_devs, err) < 0)
		return -1;
	for (int t = 0; t < HK_THR_N; t++)
		if (spec_decode_array(o, p, throttle_keys[t], sizeof(struct hk_res_dev),
				      decode_weight_dev, &rate_ctx, &b->throttle[t],
				      &b->n_throttle[t], err) < 0)
			return -1;
	return 0;
}

/* "2MB", "1GB", "64KB": what the hugetlb files are named after. */
static int decode_hugepage(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			   struct hk_err *err)
{
	struct hk_res_hugepage *h = (struct hk_res_hugepage *)array + i;

	(void)ctx;
	if (hk_json_get_str(v, path, "pageSize", &h->page_size, err) < 0 ||
	    hk_json_get_u64(v, path, "limit", &h->limit, err) < 0)
		return -1;
	if (!h->page_size || !hk_json_has(v, "limit"))
		return hk_fail(err, 0, "%s: pageSize and limit are required", path);
	size_t digits = strspn(h->page_size, "0123456789");
	const char *unit = h->page_size + digits;
	if (digits == 0 || digits > 6 ||
	    (strcmp(unit, "KB") && strcmp(unit, "MB") && strcmp(unit, "GB")))
		return hk_fail(err, 0, "%s.pageSize: \"%s\" is not a size like 2MB", path,
			       h->page_size);
	return 0;
}

/* A name that is safe inside a cgroup file's line: no blanks, no '/'. */
static int check_word(const char *path, const char *what, const char *s, size_t max,
		      struct hk_err *err)
{
	size_t len = strlen(s);
	for (const char *c = s; *c; c++)
		if (!isgraph((unsigned char)*c) || *c == '/')
			len = 0;
	if (len == 0 || len > max)
		return hk_fail(err, 0, "%s: \"%s\" is not a valid %s", path, s, what);
	return 0;
}

static int decode_prio(hk_json *v, const char *path, void *array, size_t i, void *ctx,
		       struct hk_err *err)
{
	struct hk_res_net_prio *n = (struct hk_res_net_prio *)array + i;
	struct hk_opt prio = {0};
	char p[200];

	(void)ctx;
	if (hk_json_get_str(v, path, "name", &n->name, err) < 0 ||
	    get_opt(v, path, "priority", 0, UINT32_MAX, false, &prio, err) < 0)
		return -1;
	if (!n->name || !prio.set)
		return hk_fail(err, 0, "%s: name and priority are required", path);
	n->priority = (uint32_t)prio.v;
	return check_word(hk_json_path(p, sizeof(p), path, "name"), "interface name", n->name, 15,
			  err);
}

static int decode_network(hk_json *res, const char *path, struct hk_resources *r,
			  struct hk_err *err)
{
	char p[160];
	hk_json *o;

	int got = hk_json_get_obj(res, path, "network", &o, err);
	if (got <= 0)
		return got;
	hk_json_path(p, sizeof(p), path, "network");
	if (get_opt(o, p, "classID", 0, UINT32_MAX, false, &r->net_class_id, err) < 0)
		return -1;
	return spec_decode_array(o, p, "priorities", sizeof(struct hk_res_net_prio), decode_prio,
				 NULL, &r->net_prios, &r->n_net_prios, err);
}

struct rdma_ctx {
	struct hk_resources *r;
	const char *path;
	struct hk_err *err;
};

static int decode_rdma_one(const char *key, hk_json *val, void *data)
{
	struct rdma_ctx *c = data;
	char p[300];

	hk_json_path(p, sizeof(p), c->path, key);
	if (check_word(p, "rdma device name", key, 64, c->err) < 0 ||
	    hk_json_as_obj(val, p, c->err) < 0)
		return -1;
	c->r->rdma = xrealloc(c->r->rdma, (c->r->n_rdma + 1) * sizeof(*c->r->rdma));
	struct hk_res_rdma *d = &c->r->rdma[c->r->n_rdma++];
	memset(d, 0, sizeof(*d));
	d->device = xstrdup(key);
	if (get_opt(val, p, "hcaHandles", 0, UINT32_MAX, false, &d->hca_handles, c->err) < 0 ||
	    get_opt(val, p, "hcaObjects", 0, UINT32_MAX, false, &d->hca_objects, c->err) < 0)
		return -1;
	return 0;
}

static int decode_rdma(hk_json *res, const char *path, struct hk_resources *r, struct hk_err *err)
{
	char p[160];
	hk_json *o;

	int got = hk_json_get_obj(res, path, "rdma", &o, err);
	if (got <= 0)
		return got;
	struct rdma_ctx c = {r, hk_json_path(p, sizeof(p), path, "rdma"), err};
	return hk_json_foreach(o, decode_rdma_one, &c);
}

/* unified keys are file names in the container's cgroup: "memory.high".
 * The files that move processes or change the tree are not resources. */
static int check_unified(const char *path, const struct hk_kv *kv, size_t n, struct hk_err *err)
{
	static const char *const core[] = {"cgroup.procs",  "cgroup.threads",
					   "cgroup.type",   "cgroup.subtree_control",
					   "cgroup.freeze", "cgroup.kill"};
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i].key;
		if (!strchr(k, '.') || strchr(k, '/') || k[0] == '.' ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789._") != strlen(k))
			return hk_fail(err, 0, "%s: \"%s\" is not a cgroup file name", path, k);
		for (size_t c = 0; c < sizeof(core) / sizeof(core[0]); c++)
			if (strcmp(k, core[c]) == 0)
				return hk_fail(err, 0, "%s.%s: not a resource: husk manages it",
					       path, k);
	}
	return 0;
}

int spec_decode_resources(hk_json *res, const char *path, struct hk_resources *r,
			  struct hk_err *err)
{
	char p[160];

	if (decode_memory(res, path, &r->memory, err) < 0 ||
	    decode_cpu(res, path, &r->cpu, err) < 0 ||
	    decode_pids(res, path, &r->pids_limit, err) < 0 ||
	    decode_blkio(res, path, &r->blkio, err) < 0 ||
	    spec_decode_array(res, path, "hugepageLimits", sizeof(struct hk_res_hugepage),
			      decode_hugepage, NULL, &r->hugepages, &r->n_hugepages, err) < 0 ||
	    decode_network(res, path, r, err) < 0 || decode_rdma(res, path, r, err) < 0 ||
	    hk_json_get_kv(res, path, "unified", &r->unified, &r->n_unified, err) < 0)
		return -1;
	return check_unified(hk_json_path(p, sizeof(p), path, "unified"), r->unified, r->n_unified,
			     err);
}

struct hk_resources *spec_parse_resources(const char *json, size_t len, struct hk_err *err)
{
	hk_json *root = hk_json_parse(json, len, "resources", err);
	if (!root)
		return NULL;
	struct hk_resources *r = xzalloc(sizeof(*r));
	int rc = hk_json_as_obj(root, "resources", err);
	/* checked, not kept: see resources.h */
	struct hk_dev_rule *devs = NULL;
	size_t n_devs = 0;
	if (rc >= 0)
		rc = spec_decode_array(root, "", "devices", sizeof(*devs), spec_decode_dev_rule,
				       NULL, &devs, &n_devs, err);
	free(devs);
	r->devices_given = rc >= 0 && hk_json_has(root, "devices");
	if (rc >= 0)
		rc = spec_decode_resources(root, "", r, err);
	hk_json_put(root);
	if (rc < 0) {
		spec_resources_free(r);
		return NULL;
	}
	return r;
}

void spec_resources_clear(struct hk_resources *r)
{
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->blkio.weight_devs);
	for (int t = 0; t < HK_THR_N; t++)
		free(r->blkio.throttle[t]);
	for (size_t i = 0; i < r->n_hugepages; i++)
		free(r->hugepages[i].page_size);
	free(r->hugepages);
	for (size_t i = 0; i < r->n_net_prios; i++)
		free(r->net_prios[i].name);
	free(r->net_prios);
	for (size_t i = 0; i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	for (size_t i = 0; i < r->n_unified; i++) {
		free(r->unified[i].key);
		free(r->unified[i].value);
	}
	free(r->unified);
	memset(r, 0, sizeof(*r));
}

void spec_resources_free(struct hk_resources *r)
{
	if (!r)
		return;
	spec_resources_clear(r);
	free(r);
}

bool spec_resources_empty(const struct hk_resources *r)
{
	static const struct hk_resources zero;
	return memcmp(r, &zero, sizeof(zero)) == 0;
}
