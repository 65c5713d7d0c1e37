#include "linux/sysctl.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
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
