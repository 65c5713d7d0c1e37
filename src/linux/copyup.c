#include "linux/copyup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

/* Deeper trees are not what a tmpfs mount point holds in an image. */
#define COPYUP_MAX_DEPTH 64

static int copy_tree(int src, int dst, int depth, struct hk_err *err);

/* Owners an id-mapped container cannot give (EINVAL: not mapped; EPERM)
 * are left as they are. */
static int set_owner(int dirfd, const char *name, const struct stat *st, struct hk_err *err)
{
	if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != EINVAL && errno != EPERM)
		return hk_fail(err, errno, "tmpcopyup: chown %s", name);
	return 0;
}

static int copy_data(int from, int to, const char *name, struct hk_err *err)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(from, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(to, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return hk_fail(err, errno, "tmpcopyup: write %s", name);
			off += w;
		}
	}
	return n < 0 ? hk_fail(err, errno, "tmpcopyup: read %s", name) : 0;
}

static int copy_file(int src, int dst, const char *name, const struct stat *st, struct hk_err *err)
{
	/* O_NONBLOCK: a co-container sharing the rootfs can swap the file
	 * checked regular for a fifo, whose open would wait for a writer for
	 * ever (outside attack, F10); what is opened must still be regular */
	_cleanup_close_ int in =
		openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat now;
	if (in < 0)
		return hk_fail(err, errno, "tmpcopyup: open %s", name);
	if (fstat(in, &now) < 0)
		return hk_fail(err, errno, "tmpcopyup: stat %s", name);
	if (!S_ISREG(now.st_mode))
		return hk_fail(err, EINVAL,
			       "tmpcopyup: %s is no regular file any more (was the rootfs changed "
			       "while it was copied?)",
			       name);
	_cleanup_close_ int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return hk_fail(err, errno, "tmpcopyup: create %s", name);
	if (copy_data(in, out, name, err) < 0 || set_owner(dst, name, st, err) < 0)
		return -1;
	/* after chown, which clears set-id bits */
	if (fchmod(out, st->st_mode & 07777) < 0)
		return hk_fail(err, errno, "tmpcopyup: chmod %s", name);
	return 0;
}

static int copy_link(int src, int dst, const char *name, const struct stat *st, struct hk_err *err)
{
	char target[4096];
	ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);

	if (n < 0)
		return hk_fail(err, errno, "tmpcopyup: readlink %s", name);
	target[n] = '\0';
	if (symlinkat(target, dst, name) < 0)
		return hk_fail(err, errno, "tmpcopyup: symlink %s", name);
	return set_owner(dst, name, st, err);
}

static int copy_dir(int src, int dst, const char *name, const struct stat *st, int depth,
		    struct hk_err *err)
{
	if (depth >= COPYUP_MAX_DEPTH)
		return hk_fail(err, ELOOP, "tmpcopyup: %s: deeper than %d levels", name,
			       COPYUP_MAX_DEPTH);
	if (mkdirat(dst, name, 0700) < 0)
		return hk_fail(err, errno, "tmpcopyup: mkdir %s", name);
	_cleanup_close_ int from =
		openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int to = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (from < 0 || to < 0)
		return hk_fail(err, errno, "tmpcopyup: open directory %s", name);
	if (copy_tree(from, to, depth + 1, err) < 0)
		return hk_err_prefix(err, "%s", name);
	if (set_owner(dst, name, st, err) < 0)
		return -1;
	if (fchmod(to, st->st_mode & 07777) < 0)
		return hk_fail(err, errno, "tmpcopyup: chmod %s", name);
	return 0;
}

static int copy_entry(int src, int dst, const char *name, int depth, struct hk_err *err)
{
	struct stat st;

	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hk_fail(err, errno, "tmpcopyup: stat %s", name);
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		return copy_dir(src, dst, name, &st, depth, err);
	case S_IFREG:
		return copy_file(src, dst, name, &st, err);
	case S_IFLNK:
		return copy_link(src, dst, name, &st, err);
	case S_IFSOCK:
		return 0; /* a socket is not copied: its listener is not */
	default:
		if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0)
			return hk_fail(err, errno, "tmpcopyup: mknod %s", name);
		return set_owner(dst, name, &st, err);
	}
}

static void closedir_p(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int copy_tree(int src, int dst, int depth, struct hk_err *err)
{
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "tmpcopyup: open the directory");
	_cleanup_(closedir_p) DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return hk_fail(err, errno, "tmpcopyup: fdopendir");
	}
	struct dirent *e;
	while ((errno = 0, e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (copy_entry(dirfd(d), dst, e->d_name, depth, err) < 0)
			return -1;
	}
	return errno ? hk_fail(err, errno, "tmpcopyup: readdir") : 0;
}

int copyup_tree(int src, int dst, struct hk_err *err)
{
	return copy_tree(src, dst, 0, err);
}
