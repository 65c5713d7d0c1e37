#include "linux/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/rootless.h"
#include "common/syscalls.h"

#define PROC_ROOT_INO 1 /* the root directory of every procfs */

static int mounted_procfs(struct hk_err *err)
{
	struct statfs sfs;
	struct stat st;
	_cleanup_close_ int fd = open("/proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return hk_fail(err, errno, "open /proc");
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
		return hk_fail(err, errno, "stat /proc");
	if (sfs.f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO)
		return hk_fail(err, 0, "/proc is not the root of a procfs");
	return TAKE_FD(fd);
}

int procfs_open(struct hk_err *err)
{
	_cleanup_close_ int fsfd = hk_fsopen("proc", FSOPEN_CLOEXEC);

	if (fsfd < 0 && errno == EPERM && hk_rootless())
		return mounted_procfs(err);
	if (fsfd < 0)
		return hk_fail(err, errno, "fsopen proc");
	if (hk_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		if (errno == EPERM && hk_rootless())
			return mounted_procfs(err);
		return hk_fail(err, errno, "create a private procfs");
	}
	int mnt = hk_fsmount(fsfd, FSMOUNT_CLOEXEC,
			     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return hk_fail(err, errno, "fsmount a private procfs");
	return mnt;
}

int procfs_write(int procfd, const char *rel, const char *value, struct hk_err *err)
{
	struct open_how how = {
		.flags = O_WRONLY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	struct statfs sfs;
	_cleanup_close_ int fd = hk_openat2(procfd, rel, &how);

	if (fd < 0)
		return hk_fail(err, errno, "open /proc/%s", rel);
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		return hk_fail(err, 0, "/proc/%s is not on procfs", rel);
	if (hk_write_all(fd, value, strlen(value)) < 0)
		return hk_fail(err, errno, "write \"%s\" to /proc/%s", value, rel);
	return 0;
}

bool procfs_status_u64(const char *status, const char *key, int base, uint64_t *out)
{
	size_t len = strlen(key);

	for (const char *l = status; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, len) != 0 || l[len] != ':')
			continue;
		const char *v = l + len + 1;
		char *end;
		while (*v == ' ' || *v == '\t')
			v++;
		errno = 0;
		unsigned long long n = strtoull(v, &end, base);
		if (end == v || errno || (*end && *end != '\n'))
			return false;
		*out = n;
		return true;
	}
	return false;
}
