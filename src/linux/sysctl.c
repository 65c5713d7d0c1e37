#include "linux/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "linux/rootfs.h"
#include "spec/spec.h"

int sysctl_apply(const struct hk_spec *s, struct hk_err *err)
{
	if (s->n_sysctl == 0)
		return 0;
	_cleanup_close_ int procsys = open("/proc/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procsys < 0)
		return hk_fail(err, errno, "linux.sysctl: open /proc/sys (is /proc mounted?)");
	for (size_t i = 0; i < s->n_sysctl; i++) {
		_cleanup_free_ char *rel = xstrdup(s->sysctl[i].key);
		for (char *c = rel; *c; c++)
			if (*c == '.')
				*c = '/';
		_cleanup_close_ int fd = rootfs_open(procsys, rel, O_WRONLY, err);
		if (fd < 0)
			return hk_err_prefix(err, "linux.sysctl.%s", s->sysctl[i].key);
		if (hk_write_all(fd, s->sysctl[i].value, strlen(s->sysctl[i].value)) < 0)
			return hk_fail(err, errno, "linux.sysctl.%s: write \"%s\"",
				       s->sysctl[i].key, s->sysctl[i].value);
	}
	return 0;
}
