#include "linux/sysctl.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "linux/ns.h"
#include "linux/procfs.h"
#include "spec/spec.h"

int sysctl_apply(const struct hk_spec *s, struct hk_err *err)
{
	if (s->n_sysctl == 0)
		return 0;
	/* A procfs of our own: what the container mounted on /proc/sys has
	 * no say in where the values go. */
	_cleanup_close_ int proc = procfs_open(err);
	if (proc < 0)
		return hk_err_prefix(err, "linux.sysctl");
	for (size_t i = 0; i < s->n_sysctl; i++) {
		_cleanup_free_ char *rel = xasprintf("sys/%s", s->sysctl[i].key);
		for (char *c = rel + 4; *c; c++)
			if (*c == '.')
				*c = '/';
		if (procfs_write(proc, rel, s->sysctl[i].value, err) < 0)
			return hk_err_prefix(err, "linux.sysctl.%s", s->sysctl[i].key);
	}
	return 0;
}

int sysctl_check_joined(const struct hk_spec *s, const int *ns_fds, struct hk_err *err)
{
	for (size_t i = 0; i < s->n_sysctl; i++) {
		const char *key = s->sysctl[i].key;
		int ns = spec_sysctl_ns(key);
		if (ns < 0 || ns_fds[ns] < 0)
			continue;
		const char *name = ns_proc_name((enum hk_ns_type)ns);
		_cleanup_free_ char *own = xasprintf("/proc/self/ns/%s", name);
		struct stat joined, mine;
		if (fstat(ns_fds[ns], &joined) < 0 || stat(own, &mine) < 0)
			return hk_fail(err, errno, "linux.sysctl.%s: stat the %s namespace", key,
				       name);
		if (joined.st_dev == mine.st_dev && joined.st_ino == mine.st_ino)
			return hk_fail(err, 0,
				       "linux.sysctl.%s: the %s namespace to join is the host's "
				       "(husk's own): the sysctl would change the host",
				       key, name);
	}
	return 0;
}
