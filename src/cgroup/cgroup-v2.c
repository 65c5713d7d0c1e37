/* cgroup v2, one directory in the unified hierarchy: device control (an
 * eBPF program, cgroup-v2-devices.c); the rest of the file backend is in
 * cgroup-v2-res.c and cgroup-v2-stats.c. */
#include <errno.h>
#include <fcntl.h>
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

/* linux.resources.devices as an eBPF program on the cgroup. No rules: no
 * program, as on v1 where an untouched devices cgroup allows everything its
 * parent does. Unprivileged (a delegated cgroup): bpf(2) refuses device
 * programs, as v1 refuses device rules, so none is attempted (runc skips
 * them too). */
static int apply_devices(const struct hk_cg_dir *d, const struct hk_spec *s, struct hk_err *err)
{
	size_t n;

	if (hk_rootless())
		return 0;
	_cleanup_close_ int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open cgroup %s", d->dir);
	_cleanup_free_ struct hk_dev_rule *rules = cg_device_rules(s, &n);
	return cg_v2_devices_apply(fd, d->dir, rules, n, err);
}

int cg_v2_devices(struct hk_cgroup *cg, const struct hk_spec *s, struct hk_err *err)
{
	if (cg->n_dirs == 0)
		return 0;
	return apply_devices(&cg->dirs[0], s, err);
}
