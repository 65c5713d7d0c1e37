#include "common/file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

char *hk_read_fileat(int dirfd, const char *path, size_t max, size_t *len, struct hk_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		hk_fail(err, errno, "open %s", path);
		return NULL;
	}
	return hk_read_fd(fd, path, max, len, err);
}

char *hk_read_fd(int fd, const char *path, size_t max, size_t *len, struct hk_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, n = 0;

	/* /proc and sysfs files may read short before their end; regular
	 * files on a local filesystem do not. */
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	if (regular && (unsigned long long)st.st_size > max) {
		hk_fail(err, EFBIG, "read %s", path);
		return NULL;
	}
	buf = xmalloc(cap);
	for (;;) {
		if (n > max) {
			hk_fail(err, EFBIG, "read %s", path);
			return NULL;
		}
		if (n + 1 >= cap) {
			if (cap > max) {
				hk_fail(err, EFBIG, "read %s", path);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			hk_fail(err, errno, "read %s", path);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		/* A regular file read short is at its end: spare the extra read. */
		if (regular && (size_t)r < cap - (n - (size_t)r) - 1)
			break;
	}
	if (n > max) {
		hk_fail(err, EFBIG, "read %s", path);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return TAKE_PTR(buf);
}

char *hk_read_file(const char *path, size_t max, size_t *len, struct hk_err *err)
{
	return hk_read_fileat(AT_FDCWD, path, max, len, err);
}

int hk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int hk_write_atomic(int dirfd, const char *name, const char *data, size_t len, struct hk_err *err)
{
	char tmp[300];
	int fd;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return hk_fail(err, errno, "create %s", tmp);
	if (hk_write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return hk_fail(err, e, "write %s", tmp);
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return hk_fail(err, e, "rename %s to %s", tmp, name);
	}
	return 0;
}

int hk_write_strat(int dirfd, const char *name, const char *s, struct hk_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open %s", name);
	if (hk_write_all(fd, s, strlen(s)) < 0)
		return hk_fail(err, errno, "write \"%s\" to %s", s, name);
	return 0;
}

int hk_write_str(const char *path, const char *s, struct hk_err *err)
{
	return hk_write_strat(AT_FDCWD, path, s, err);
}

int hk_mkdir_p(const char *path, mode_t mode, struct hk_err *err)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return hk_fail(err, errno, "mkdir %s", p);
		*s = c;
		if (c == '\0')
			break;
	}
	return 0;
}
