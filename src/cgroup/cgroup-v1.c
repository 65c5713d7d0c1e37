/* cgroup v1 (and hybrid): one directory per hierarchy. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/rootless.h"
#include "common/xalloc.h"
#include "spec/spec.h"

/* A new cpuset cgroup has no cpus and no mems, and refuses tasks until they
 * are set (cgroups(7) v1 cpuset): copy them down from the parent. */
static int cpuset_inherit(const char *dir, struct hk_err *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *mine = xasprintf("%s/%s", dir, files[i]);
		_cleanup_free_ char *cur = hk_read_file(mine, 65536, NULL, NULL);
		if (cur && cur[0] != '\n' && cur[0] != '\0')
			continue;
		_cleanup_free_ char *parent = xasprintf("%s/../%s", dir, files[i]);
		_cleanup_free_ char *val = hk_read_file(parent, 65536, NULL, err);
		if (!val || hk_write_str(mine, val, err) < 0)
			return -1;
	}
	return 0;
}

static int mkdir_hierarchy(const struct hk_cg_dir *d, struct hk_err *err)
{
	bool cpuset = strcmp(d->name, "cpuset") == 0;
	_cleanup_free_ char *p = xstrdup(d->dir);

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0755) == 0) {
			if (cpuset && cpuset_inherit(p, err) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return hk_fail(err, errno, "create cgroup %s", p);
		}
		*s = c;
		if (c == '\0')
			return 0;
	}
}

static int write_rule(const char *dir, const struct hk_dev_rule *r, struct hk_err *err)
{
	char line[64], maj[24], min[24];
	const char *file = r->allow ? "devices.allow" : "devices.deny";

	if (r->type == 'a') {
		snprintf(line, sizeof(line), "a");
	} else {
		snprintf(maj, sizeof(maj), r->major < 0 ? "*" : "%lld", (long long)r->major);
		snprintf(min, sizeof(min), r->minor < 0 ? "*" : "%lld", (long long)r->minor);
		snprintf(line, sizeof(line), "%c %s:%s %s", r->type, maj, min, r->access);
	}
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	if (hk_write_str(path, line, err) < 0)
		return hk_err_prefix(err, "linux.resources.devices");
	return 0;
}

static int apply_devices(const char *dir, const struct hk_spec *s, struct hk_err *err)
{
	size_t n;
	_cleanup_free_ struct hk_dev_rule *rules = cg_device_rules(s, &n);

	for (size_t i = 0; i < n; i++)
		if (write_rule(dir, &rules[i], err) < 0)
			return -1;
	return 0;
}

int cg_v1_create(struct hk_cgroup *cg, const struct hk_spec *s, struct hk_err *err)
{
	for (size_t i = 0; i < cg->n_dirs;) {
		if (mkdir_hierarchy(&cg->dirs[i], err) < 0) {
			if (!cg_refusal(cg, err->errnum))
				return -1;
			cg_drop_dir(cg, i, err->msg);
			hk_err_clear(err);
			continue;
		}
		hk_debug("cgroup: made %s", cg->dirs[i].dir);
		/* Device rules need CAP_SYS_ADMIN of the host: rootless, a
		 * delegated devices cgroup cannot take them (runc skips them). */
		if (strcmp(cg->dirs[i].name, "devices") == 0 && !hk_rootless() &&
		    apply_devices(cg->dirs[i].dir, s, err) < 0)
			return -1;
		i++;
	}
	return 0;
}

int cg_v1_enter(struct hk_cgroup *cg, pid_t pid, struct hk_err *err)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n_dirs;) {
		_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", cg->dirs[i].dir);
		if (hk_write_str(procs, buf, err) < 0) {
			if (!cg_refusal(cg, err->errnum))
				return -1;
			cg_drop_dir(cg, i, err->msg);
			hk_err_clear(err);
			continue;
		}
		i++;
	}
	return 0;
}
