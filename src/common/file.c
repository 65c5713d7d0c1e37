#include "common/file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
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
	struct stat st;

	return hk_read_fd_stat(fd, path, max, fstat(fd, &st) == 0 ? &st : NULL, len, err);
}

char *hk_read_fd_stat(int fd, const char *path, size_t max, const struct stat *stp, size_t *len,
		      struct hk_err *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, n = 0;

	/* /proc and sysfs files may read short before their end; regular
	 * files on a local filesystem do not. */
	static const struct stat none;
	const struct stat st = stp ? *stp : none;
	bool regular = stp && S_ISREG(st.st_mode) && st.st_size > 0;
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

/* A temp name beside name that no one can guess (64 random bits), so that
 * nobody who can write the directory can plant it beforehand. */
static int temp_name(char *buf, size_t size, const char *name, struct hk_err *err)
{
	uint64_t r;
	ssize_t n;

	do
		n = getrandom(&r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r))
		return hk_fail(err, n < 0 ? errno : EIO, "getrandom for a temp name of %s", name);
	if ((size_t)snprintf(buf, size, ".%s.%016llx", name, (unsigned long long)r) >= size)
		return hk_fail(err, ENAMETOOLONG, "temp name of %s", name);
	return 0;
}

int hk_create_excl(int dirfd, const char *name, int flags, mode_t mode, struct hk_err *err)
{
	int fd = openat(dirfd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return hk_fail(err, errno, "create %s", name);
	return fd;
}

static int create_temp(int dirfd, const char *name, mode_t mode, char *tmp, size_t size,
		       struct hk_err *err)
{
	/* A clash of 64 random bits is someone's doing: try a few more. */
	for (int tries = 0; tries < 4; tries++) {
		if (temp_name(tmp, size, name, err) < 0)
			return -1;
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return hk_fail(err, errno, "create %s", tmp);
	}
	return hk_fail(err, EEXIST, "create a temp file for %s", name);
}

/* Under a seccomp filter of the caller's (husk nested in a sandbox), which
 * may kill a process for a renameat2 it did not expect: then renameat as
 * before (outside attack, round 16, F1; common/prefault.c does the same
 * for its madvise hints). Asked once. */
static bool under_seccomp(void)
{
	static int filtered = -1;

	if (filtered < 0)
		filtered = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0;
	return filtered;
}

/* The temp file tmp, written, exchanged with the file at name, which then
 * goes under tmp's name. false (nothing changed) where there is nothing
 * at name, the filesystem cannot exchange, or what was there is no file
 * (a directory: swapped back, for renameat to refuse as it would have). */
static bool exchange(int dirfd, const char *tmp, const char *name)
{
	if (under_seccomp() || renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) < 0)
		return false;
	if (unlinkat(dirfd, tmp, 0) == 0 || errno != EISDIR)
		return true; /* another error leaves a temp name, which is harmless */
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) < 0)
		return true; /* the directory stays under tmp's name */
	return false;
}

static int write_atomic(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
			bool swap, struct hk_err *err)
{
	char tmp[300];
	int fd = create_temp(dirfd, name, mode, tmp, sizeof(tmp), err);

	if (fd < 0)
		return -1;
	if (hk_write_all(fd, data, len) < 0) {
		int e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return hk_fail(err, e, "write %s", tmp);
	}
	close(fd);
	if (swap && exchange(dirfd, tmp, name))
		return 0;
	/* rename(2) replaces a link at name, never follows it. */
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return hk_fail(err, e, "rename %s to %s", tmp, name);
	}
	return 0;
}

int hk_write_atomic_mode(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
			 struct hk_err *err)
{
	return write_atomic(dirfd, name, data, len, mode, false, err);
}

int hk_write_atomic(int dirfd, const char *name, const char *data, size_t len, struct hk_err *err)
{
	return write_atomic(dirfd, name, data, len, 0644, false, err);
}

int hk_rewrite_atomic(int dirfd, const char *name, const char *data, size_t len, struct hk_err *err)
{
	return write_atomic(dirfd, name, data, len, 0644, true, err);
}

/* An existing log: a regular file of ours with no other name. */
static int check_own_file(int fd, const char *name, struct hk_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hk_fail(err, errno, "stat %s", name);
	if (!S_ISREG(st.st_mode))
		return hk_fail(err, 0, "%s: not a regular file: refused", name);
	if (st.st_uid != geteuid())
		return hk_fail(err, 0, "%s: owned by uid %u, not by husk's uid %u: refused", name,
			       (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_nlink != 1)
		return hk_fail(err, 0, "%s: has %lu names (hard links): refused", name,
			       (unsigned long)st.st_nlink);
	return 0;
}

int hk_open_append(int dirfd, const char *name, mode_t mode, struct hk_err *err)
{
	const int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;

	for (int tries = 0; tries < 4; tries++) {
		int fd = openat(dirfd, name, flags | O_CREAT | O_EXCL, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return hk_fail(err, errno, "create %s", name);
		/* O_NONBLOCK: a fifo planted there fails (ENXIO) instead of
		 * blocking; it changes nothing for a regular file. */
		fd = openat(dirfd, name, flags | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT)
			continue; /* removed in between: make it */
		if (fd < 0 && errno == ELOOP)
			return hk_fail(err, 0, "%s: a symbolic link: refused", name);
		if (fd < 0)
			return hk_fail(err, errno, "open %s", name);
		if (check_own_file(fd, name, err) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	return hk_fail(err, EAGAIN, "open %s: it keeps coming and going", name);
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
