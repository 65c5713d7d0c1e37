/* rm -rf without following links: every entry is opened O_NOFOLLOW beneath
 * its parent's fd, and a directory on another device (a mount) is refused
 * rather than emptied.
 *
 * Depth costs memory, not file descriptors: the walk holds one directory
 * open at a time, goes down into a subdirectory by its name and back up by
 * "..", checked to be the very directory it came from (device and inode,
 * kept on a stack with the names), and removes the subdirectory once it is
 * empty. A tree of any depth (a container can make one 100000 deep) is
 * removed with two fds; one fd per level used to fail with EMFILE at the
 * open file limit. */
#include "common/rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

struct level {
	char *name; /* in its parent */
	dev_t dev;
	ino_t ino;
};

struct walk {
	struct level *v;
	size_t n, cap;
	int fd;    /* the directory at the top of the stack */
	dev_t dev; /* of the tree: nothing on another device is entered */
	const char *top;
	char buf[32768];
};

static int fail(struct walk *w, struct hk_err *err, int e, const char *what, const char *name)
{
	return hk_fail(err, e, "remove %s: %s%s%s", w->top, what, name ? " " : "",
		       name ? name : "");
}

static void push(struct walk *w, const char *name, const struct stat *st)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = (struct level){xstrdup(name), st->st_dev, st->st_ino};
}

/* Into the subdirectory name of the current one. */
static int down(struct walk *w, const char *name, struct hk_err *err)
{
	int sub = openat(w->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (sub < 0)
		return errno == ENOENT ? 0 : fail(w, err, errno, "open", name);
	if (fstat(sub, &st) < 0) {
		close(sub);
		return fail(w, err, errno, "stat", name);
	}
	if (st.st_dev != w->dev) {
		close(sub);
		return fail(w, err, EBUSY, "a mount point:", name);
	}
	push(w, name, &st);
	close(w->fd);
	w->fd = sub;
	return 0;
}

/* Back to the parent, which must be the directory we came down from
 * (a rename elsewhere could have moved this one), and remove the
 * emptied one. */
static int up(struct walk *w, struct hk_err *err)
{
	int parent = openat(w->fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct level *me = &w->v[w->n - 1], *above = &w->v[w->n - 2];
	struct stat st;

	if (parent < 0 || fstat(parent, &st) < 0) {
		int e = errno;
		if (parent >= 0)
			close(parent);
		return fail(w, err, e, "back up from", me->name);
	}
	close(w->fd);
	w->fd = parent;
	if (st.st_dev != above->dev || st.st_ino != above->ino)
		return fail(w, err, EXDEV, "moved while being removed:", me->name);
	if (unlinkat(w->fd, me->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return fail(w, err, errno, "rmdir", me->name);
	free(me->name);
	w->n--;
	return 0;
}

/* One pass over the current directory: every entry but directories is
 * unlinked; 1 and the walk one level down at the first directory, 0 when
 * the directory is empty. */
static int pass(struct walk *w, struct hk_err *err)
{
	if (lseek(w->fd, 0, SEEK_SET) < 0)
		return fail(w, err, errno, "rewind", w->v[w->n - 1].name);
	for (;;) {
		ssize_t len = getdents64(w->fd, w->buf, sizeof(w->buf));
		if (len < 0)
			return fail(w, err, errno, "read directory", w->v[w->n - 1].name);
		if (len == 0)
			return 0;
		for (ssize_t off = 0; off < len;) {
			struct dirent64 *e = (struct dirent64 *)(void *)(w->buf + off);
			off += e->d_reclen;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (unlinkat(w->fd, e->d_name, 0) == 0 || errno == ENOENT)
				continue;
			if (errno != EISDIR && errno != EPERM)
				return fail(w, err, errno, "unlink", e->d_name);
			_cleanup_free_ char *name = xstrdup(e->d_name);
			size_t n = w->n;
			if (down(w, name, err) < 0)
				return -1;
			if (w->n > n)
				return 1;
		}
	}
}

static int empty_tree(struct walk *w, struct hk_err *err)
{
	for (;;) {
		int r = pass(w, err);
		if (r < 0)
			return -1;
		if (r == 1)
			continue;
		if (w->n == 1)
			return 0;
		if (up(w, err) < 0)
			return -1;
	}
}

int hk_rmtree_at(int dirfd, const char *name, struct hk_err *err)
{
	struct walk *w;
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
	/* not zeroed: the 32 KiB buffer's pages are touched only as far as
	 * getdents fills them (a fresh page costs a fault, ~10 us on a VM) */
	w = xmalloc(sizeof(*w));
	w->v = NULL;
	w->n = w->cap = 0;
	w->fd = fd;
	w->dev = st.st_dev;
	w->top = name;
	push(w, name, &st);
	int r = empty_tree(w, err);
	close(w->fd);
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i].name);
	free(w->v);
	free(w);
	if (r < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "remove %s", name);
	return 0;
}
