#include "common/pidns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/err.h"
#include "common/syscalls.h"

int hk_pidfd_open_ns(int pidfd, pid_t pid, const char *name, struct hk_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open %s", path);
	if (hk_pidfd_send_signal(pidfd, 0, NULL, 0) < 0) {
		int e = errno;
		close(fd);
		return hk_fail(err, e, "pid %d exited while its %s namespace was opened", (int)pid,
			       name);
	}
	return fd;
}
