/* Small files launch creates whole or not at all (see newfile.h). */
#include "launch/newfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"

int launch_new_file(int dirfd, const char *name, const char *data, struct hk_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	char self[64];

	if (fd < 0)
		return hk_fail(err, errno, "create %s: an unnamed file", name);
	if (hk_write_all(fd, data, strlen(data)) < 0)
		return hk_fail(err, errno, "write %s", name);
	/* linkat(fd, "", AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, self, dirfd, name, AT_SYMLINK_FOLLOW) < 0)
		return hk_fail(err, errno, "create %s", name);
	return 0;
}
