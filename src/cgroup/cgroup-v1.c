/* cgroup v1 (and hybrid), one directory per hierarchy: the device rules
 * (the rest of the file backend is in cgroup-v1-res.c and cgroup-v1-stats.c). */
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

/* Device rules need CAP_SYS_ADMIN of the host: rootless, a delegated
 * devices cgroup cannot take them (runc skips them). */
int cg_v1_devices(struct hk_cgroup *cg, const struct hk_spec *s, struct hk_err *err)
{
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (strcmp(cg->dirs[i].name, "devices") == 0 && !hk_rootless() &&
		    apply_devices(cg->dirs[i].dir, s, err) < 0)
			return -1;
	return 0;
}
