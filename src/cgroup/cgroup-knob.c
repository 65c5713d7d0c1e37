/* Reading and writing the container's cgroup files ("knobs"). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/rootless.h"
#include "common/xalloc.h"
#include "spec/resources.h"

/* v1 directory names are the mount points' names: "memory", "cpu,cpuacct". */
static bool names_controller(const char *name, const char *ctrl)
{
	size_t len = strlen(ctrl);
	for (const char *p = name; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, ctrl, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

const char *cg_dir_of(const struct hk_cgroup *cg, const char *ctrl)
{
	if (cg->version == 2)
		return cg->n_dirs > 0 ? cg->dirs[0].dir : NULL;
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (names_controller(cg->dirs[i].name, ctrl))
			return cg->dirs[i].dir;
	return NULL;
}

int cg_write(const struct hk_cgroup *cg, const char *ctrl, const char *file, const char *field,
	     const char *value, struct hk_err *err)
{
	const char *dir = cg_dir_of(cg, ctrl);
	if (!dir)
		return hk_fail(err, 0, "%s: no %s cgroup to write it to (controller not mounted%s)",
			       field, ctrl,
			       hk_rootless() ? " or not delegated to husk's user" : "");
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	if (hk_write_str(path, value, err) == 0)
		return 0;
	if (err && err->errnum == ENOENT)
		return hk_fail(err, ENOENT,
			       "%s: %s has no %s (the %s controller is not enabled there)", field,
			       dir, file, ctrl);
	return hk_err_prefix(err, "%s", field);
}

int cg_writef(const struct hk_cgroup *cg, const char *ctrl, const char *file, const char *field,
	      struct hk_err *err, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return cg_write(cg, ctrl, file, field, buf, err);
}

char *cg_read(const struct hk_cgroup *cg, const char *ctrl, const char *file)
{
	const char *dir = cg_dir_of(cg, ctrl);
	if (!dir)
		return NULL;
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	return hk_read_file(path, 1 << 20, NULL, NULL);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (strncmp(s, "max", 3) == 0) {
		*out = UINT64_MAX;
		return true;
	}
	errno = 0;
	if (*s == '-') /* v1 writes -1 back as a huge number; never negative */
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return false;
	*out = v;
	return true;
}

bool cg_read_u64(const struct hk_cgroup *cg, const char *ctrl, const char *file, uint64_t *out)
{
	_cleanup_free_ char *text = cg_read(cg, ctrl, file);
	return text && parse_u64(text, out);
}

bool cg_keyed_u64(const char *text, const char *key, uint64_t *out)
{
	size_t len = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, len) == 0 && l[len] == ' ')
			return parse_u64(l + len + 1, out);
	return false;
}

/* Does text (whole, or the value of key in a keyed file) read want? */
static bool reads(const char *text, const char *key, const char *want)
{
	if (key) {
		uint64_t v, w = strtoull(want, NULL, 10);
		return cg_keyed_u64(text, key, &v) && v == w;
	}
	size_t len = strlen(want);
	return strncmp(text, want, len) == 0 && (text[len] == '\n' || text[len] == '\0');
}

int cg_wait_file(const struct hk_cgroup *cg, const char *ctrl, const char *file, const char *key,
		 const char *want, struct hk_err *err)
{
	for (int i = 0; i < 2000; i++) {
		_cleanup_free_ char *text = cg_read(cg, ctrl, file);
		if (!text)
			return hk_fail(err, errno, "read %s of the %s cgroup", file, ctrl);
		if (reads(text, key, want))
			return 0;
		struct timespec ts = {0, i < 100 ? 100000 : 1000000};
		nanosleep(&ts, NULL);
	}
	return hk_fail(err, ETIMEDOUT, "%s of the %s cgroup does not read %s%s%s after 2 s", file,
		       ctrl, key ? key : "", key ? " " : "", want);
}

int cg_write_hugetlb_rdma(const struct hk_cgroup *cg, const struct hk_resources *r,
			  const char *limit_file, struct hk_err *err)
{
	char file[64];

	for (size_t i = 0; i < r->n_hugepages; i++) {
		snprintf(file, sizeof(file), "hugetlb.%s.%s", r->hugepages[i].page_size,
			 limit_file);
		if (cg_writef(cg, "hugetlb", file, "linux.resources.hugepageLimits", err,
			      "%" PRIu64, r->hugepages[i].limit) < 0)
			return -1;
	}
	for (size_t i = 0; i < r->n_rdma; i++) {
		const struct hk_res_rdma *d = &r->rdma[i];
		char h[32] = "", o[32] = "";
		if (d->hca_handles.set)
			snprintf(h, sizeof(h), " hca_handle=%" PRId64, d->hca_handles.v);
		if (d->hca_objects.set)
			snprintf(o, sizeof(o), " hca_object=%" PRId64, d->hca_objects.v);
		if (cg_writef(cg, "rdma", "rdma.max", "linux.resources.rdma", err, "%s%s%s",
			      d->device, h, o) < 0)
			return -1;
	}
	return 0;
}

/* The same files on both versions: */
int cg_write_cpuset(const struct hk_cgroup *cg, const struct hk_res_cpu *c, struct hk_err *err)
{
	if (c->cpus && *c->cpus &&
	    cg_write(cg, "cpuset", "cpuset.cpus", "linux.resources.cpu.cpus", c->cpus, err))
		return -1;
	if (c->mems && *c->mems &&
	    cg_write(cg, "cpuset", "cpuset.mems", "linux.resources.cpu.mems", c->mems, err))
		return -1;
	return 0;
}

int cg_write_pids(const struct hk_cgroup *cg, const struct hk_opt *limit, struct hk_err *err)
{
	const char *field = "linux.resources.pids.limit";
	if (!limit->set)
		return 0;
	if (limit->v < 0)
		return cg_write(cg, "pids", "pids.max", field, "max", err);
	return cg_writef(cg, "pids", "pids.max", field, err, "%" PRId64, limit->v);
}
