/* rm -rf without following links: every entry is opened O_NOFOLLOW beneath
 * its parent's fd, and a directory on another device (a mount) is refused
 * rather than emptied. */
#include "common/rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

static int empty_dir(int fd, dev_t dev, const char *name, struct hk_err *err)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int r = 0;

	if (!d) {
		close(fd);
		return hk_fail(err, errno, "remove %s", name);
	}
	while (r == 0 && (errno = 0, e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM)
			r = hk_fail(err, errno, "remove %s/%s", name, e->d_name);
		else {
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (sub < 0 || fstat(sub, &st) < 0)
				r = hk_fail(err, errno, "remove %s/%s", name, e->d_name);
			else if (st.st_dev != dev)
				r = hk_fail(err, EBUSY, "remove %s/%s: a mount point", name,
					    e->d_name);
			else
				r = empty_dir(TAKE_FD(sub), dev, e->d_name, err);
			if (sub >= 0)
				close(sub);
			if (r == 0 && unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
				r = hk_fail(err, errno, "remove %s/%s", name, e->d_name);
		}
	}
	if (r == 0 && errno)
		r = hk_fail(err, errno, "read directory %s", name);
	closedir(d);
	return r;
}

int hk_rmtree_at(int dirfd, const char *name, struct hk_err *err)
{
	struct stat st, parent;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "remove %s", name);
	if (fstat(fd, &st) < 0 || fstat(dirfd, &parent) < 0) {
		close(fd);
		return hk_fail(err, errno, "remove %s", name);
	}
	if (st.st_dev != parent.st_dev) {
		close(fd);
		return hk_fail(err, EBUSY, "remove %s: a mount point", name);
	}
	if (empty_dir(fd, st.st_dev, name, err) < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "remove %s", name);
	return 0;
}
