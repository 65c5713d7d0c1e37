/* Paths inside the container's root: resolved with openat2 so that a
 * symlink never leads out of the root, and beneath the mount that holds
 * them so that a directory swapped for a symlink between two lookups
 * cannot send a mount, a mask or a device node elsewhere. */
#include "linux/rootfs-path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/mount.h"
#include "spec/spec.h"

int rootfs_open(int rootfd, const char *path, int flags, struct hk_err *err)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	int fd = hk_openat2(rootfd, *path ? path : ".", &how);
	if (fd < 0 && errno == ENOSYS)
		return hk_fail(err, errno, "openat2 (husk needs Linux >= 5.6)");
	if (fd < 0)
		return hk_fail(err, errno, "open %s in the container's root", *path ? path : "/");
	return fd;
}

/* A dangling symlink met while creating a path is followed as the kernel
 * would follow it, but inside the root: the walk starts again on
 * "<the link's directory>/<its target>/<the rest>" (openat2 then resolves
 * ".." and absolute targets against the root). Returns the new path. */
static char *follow_dangling(int dirfd, const char *name, const char *path, size_t name_off,
			     const char *rest, struct hk_err *err)
{
	char target[4096];
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
		hk_fail(err, EEXIST, "mkdir %s in the container's root", path);
		return NULL;
	}
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0) {
		hk_fail(err, errno, "readlink %s in the container's root", path);
		return NULL;
	}
	target[n] = '\0';
	if (target[0] == '/')
		return xasprintf("%s/%s", target, rest);
	return xasprintf("%.*s%s/%s", (int)name_off, path, target, rest);
}

/* Walk path one component at a time: each prefix is resolved inside the root
 * with openat2, and a missing component is created in the directory its
 * parent resolved to, so a symlink can never lead the walk out of the root. */
int rootfs_mkdir_p(int rootfd, const char *path, mode_t mode, struct hk_err *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	int cur = rootfs_open(rootfd, "/", O_PATH | O_DIRECTORY, err);
	char *s = p;
	int links = 0;

	if (cur < 0)
		return -1;
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		char *name = s;
		while (*s && *s != '/')
			s++;
		char saved = *s;
		*s = '\0';
		int next = rootfs_open(rootfd, p, O_PATH | O_DIRECTORY, NULL);
		if (next < 0 && errno == ENOENT && mkdirat(cur, name, mode) < 0 &&
		    errno == EEXIST) {
			if (++links > 40) {
				close(cur);
				return hk_fail(err, ELOOP, "mkdir %s in the container's root",
					       path);
			}
			char *np = follow_dangling(cur, name, p, (size_t)(name - p),
						   saved ? s + 1 : "", err);
			close(cur);
			if (!np)
				return -1;
			free(p);
			p = s = np;
			cur = rootfs_open(rootfd, "/", O_PATH | O_DIRECTORY, err);
			if (cur < 0)
				return -1;
			continue;
		}
		if (next < 0 && errno != ENOENT && errno != EEXIST) {
			close(cur);
			return hk_fail(err, errno, "mkdir %s in the container's root", p);
		}
		if (next < 0)
			next = rootfs_open(rootfd, p, O_PATH | O_DIRECTORY, err);
		close(cur);
		if (next < 0)
			return -1;
		cur = next;
		*s = saved;
	}
	return cur;
}

/* The path a symlink at name (in dirfd, the directory dir of the walk)
 * leads to, to be resolved again from the root: a relative target is
 * taken from dir, and openat2 keeps ".." and absolute targets inside the
 * root. NULL with errno EINVAL: name is not a symlink. */
static char *link_path(int dirfd, const char *dir, const char *name, struct hk_err *err)
{
	char target[4096];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n < 0) {
		if (errno != EINVAL)
			hk_fail(err, errno, "readlink %s/%s in the container's root", dir, name);
		return NULL;
	}
	target[n] = '\0';
	if (target[0] == '/')
		return xstrdup(target);
	return xasprintf("%s/%s", dir, target);
}

/* One try at making path a file: its directories made, then the file
 * in the directory they resolved to. 1: made or there (*out), 0: a
 * dangling symlink is there (*next: where it leads), -1: failed. */
static int mkfile_once(int rootfd, const char *path, int *out, char **next, struct hk_err *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : dir;

	if (slash)
		*slash = '\0';
	const char *d = slash && *dir ? dir : "/";
	_cleanup_close_ int dfd = rootfs_mkdir_p(rootfd, d, 0755, err);
	if (dfd < 0)
		return -1;
	int f = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f < 0 && errno != EEXIST)
		return hk_fail(err, errno, "create %s in the container's root", path);
	if (f >= 0)
		close(f);
	else if ((*next = link_path(dfd, d, name, err)) != NULL)
		return 0;
	else if (errno != EINVAL)
		return -1;
	*out = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return *out < 0 ? hk_fail(err, errno, "open %s in the container's root", path) : 1;
}

/* A dangling symlink on the way (/etc/resolv.conf ->
 * ../run/systemd/resolve/stub-resolv.conf in systemd images, where
 * engines bind a resolv.conf) is followed inside the root and its target
 * made, as runc does: chains and ".." included, 40 links at most. */
int rootfs_mkfile(int rootfd, const char *path, struct hk_err *err)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (int links = 0; links <= 40; links++) {
		int fd = rootfs_open(rootfd, p, O_PATH, NULL);
		if (fd >= 0 || errno != ENOENT)
			return fd >= 0 ? fd
				       : hk_fail(err, errno, "open %s in the container's root", p);
		char *next = NULL;
		int r = mkfile_once(rootfd, p, &fd, &next, err);
		if (r != 0)
			return r < 0 ? -1 : fd;
		free(p);
		p = next;
	}
	return hk_fail(err, ELOOP, "create %s in the container's root", path);
}

bool rootfs_holds(const char *dest, const char *path)
{
	size_t n = strlen(dest);

	if (n == 1)
		return true;
	return strncmp(dest, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* What is at or below /proc, /sys and /dev is never reached through a
 * symlink: the kernel's files there are masked by path, and device nodes
 * must land in the container's own /dev. */
static bool strict_path(const char *path)
{
	return rootfs_holds("/proc", path) || rootfs_holds("/sys", path) ||
	       rootfs_holds("/dev", path);
}

/* A mount whose files the rootfs or a co-container may have made (a bind
 * of a host directory, a tmpfs filled from the rootfs): a symlink in it is
 * treated as one in the rootfs. Kernel filesystems and the fresh ones husk
 * makes hold only links the kernel or husk put there. */
static bool foreign(const struct hk_mount *m)
{
	if (mount_is_bind(m))
		return true;
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], "tmpcopyup") == 0)
			return true;
	return false;
}

/* The latest mount made whose destination holds path: the one a lookup
 * from the root finds there (a later mount at or above a destination
 * covers it). -1: none. */
static ssize_t anchor_of(const struct hk_rootfs *r, const char *path)
{
	for (size_t i = r->n_made; i-- > 0;)
		if (r->mnts[i] >= 0 && rootfs_holds(r->mounts[i].destination, path))
			return (ssize_t)i;
	return -1;
}

static int open_beneath(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
			       .resolve = resolve};
	return hk_openat2(dirfd, *path ? path : ".", &how);
}

/* One component of a walk: the directory (made when missing) or, last
 * with HK_WANT_FILE, the file (made empty when missing). */
static int walk_step(int cur, const char *name, bool file, unsigned long long resolve)
{
	int flags = O_PATH | (file ? 0 : O_DIRECTORY);
	int fd = open_beneath(cur, name, flags, resolve);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (file) {
		int f = openat(cur, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
			       0644);
		if (f < 0 && errno != EEXIST)
			return -1;
		if (f >= 0)
			close(f);
	} else if (mkdirat(cur, name, 0755) < 0 && errno != EEXIST) {
		return -1;
	}
	return open_beneath(cur, name, flags, resolve);
}

/* rel (clean, relative) beneath base: one openat2 when it is all there,
 * else one component at a time, each made in the directory its parent
 * resolved to. -1 with errno (ELOOP: a symlink, EXDEV: a way out). */
static int walk(int base, const char *rel, enum hk_rootfs_want want, unsigned long long resolve)
{
	int flags = O_PATH | (want == HK_WANT_DIR ? O_DIRECTORY : 0) |
		    (want == HK_WANT_EXISTING ? O_NOFOLLOW : 0);
	/* The root of the mount itself: "." beneath it would need a directory,
	 * and a mount of a file (podman's /etc/hostname) is masked too. */
	if (!*rel && want != HK_WANT_DIR)
		return fcntl(base, F_DUPFD_CLOEXEC, 3);
	int fd = open_beneath(base, rel, flags, resolve);

	if (fd >= 0 || errno != ENOENT || want == HK_WANT_EXISTING)
		return fd;
	_cleanup_free_ char *p = xstrdup(rel);
	int cur = open_beneath(base, "", O_PATH | O_DIRECTORY, resolve);
	char *s = p;
	while (cur >= 0 && *s) {
		char *name = s;
		s = strchrnul(s, '/');
		bool last = !*s;
		if (!last)
			*s++ = '\0';
		int next = walk_step(cur, name, last && want == HK_WANT_FILE, resolve);
		hk_closep(&cur);
		cur = next;
	}
	return cur;
}

/* The lookup of old, from the root, following symlinks inside it. */
static int from_root(const struct hk_rootfs *r, const char *path, enum hk_rootfs_want want,
		     struct hk_err *err)
{
	switch (want) {
	case HK_WANT_DIR:
		return rootfs_mkdir_p(r->root, path, 0755, err);
	case HK_WANT_FILE:
		return rootfs_mkfile(r->root, path, err);
	case HK_WANT_EXISTING:
	default:
		return rootfs_open(r->root, path, O_PATH | O_NOFOLLOW, err);
	}
}

static int resolve_fail(const char *path, const struct hk_mount *m, struct hk_err *err)
{
	int e = errno;

	if (e == ELOOP)
		hk_fail(err, 0, "%s must not be reached through a symlink", path);
	else if (e == EXDEV)
		hk_fail(err, 0, "%s: a symlink leads out of the mount at %s", path,
			m ? m->destination : "/");
	else
		hk_fail(err, e, "open %s in the container's root", path);
	errno = e;
	return -1;
}

int rootfs_resolve(const struct hk_rootfs *r, const char *path, enum hk_rootfs_want want,
		   bool strict, struct hk_err *err)
{
	ssize_t a = anchor_of(r, path);
	const struct hk_mount *m = a >= 0 ? &r->mounts[a] : NULL;
	const char *rel = path;
	/* Links of a kernel filesystem or of husk's own /dev are followed,
	 * as long as they stay beneath their mount; none of the rootfs's. */
	bool own = m && !foreign(m);
	unsigned long long resolve =
		RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (own ? 0 : RESOLVE_NO_SYMLINKS);

	if (m && strcmp(m->destination, "/") != 0)
		rel += strlen(m->destination);
	while (*rel == '/')
		rel++;
	int fd = walk(m ? r->mnts[a] : r->root, rel, want, resolve);
	if (fd >= 0)
		return fd;
	if (errno == ELOOP && !own && !strict && !strict_path(path))
		return from_root(r, path, want, err);
	return resolve_fail(path, m, err);
}

bool rootfs_dir_mode(const struct hk_rootfs *r, const char *path, bool strict, mode_t *mode)
{
	_cleanup_close_ int fd = rootfs_resolve(r, path, HK_WANT_EXISTING, strict, NULL);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	if (S_ISLNK(st.st_mode) && !strict) {
		hk_closep(&fd);
		fd = rootfs_open(r->root, path, O_PATH, NULL);
		if (fd < 0 || fstat(fd, &st) < 0)
			return false;
	}
	*mode = st.st_mode & 07777;
	return S_ISDIR(st.st_mode);
}

int rootfs_resolve_strict(int rootfd, const char *path, struct hk_err *err)
{
	int fd = open_beneath(rootfd, path + strspn(path, "/"), O_PATH | O_DIRECTORY,
			      RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	return fd < 0 ? resolve_fail(path, NULL, err) : fd;
}

int rootfs_mkdir_beneath(int dirfd, const char *rel, struct hk_err *err)
{
	int fd = walk(dirfd, rel, HK_WANT_DIR,
		      RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	return fd < 0 ? hk_fail(err, errno, "mkdir %s", rel) : fd;
}

void rootfs_release(struct hk_rootfs *r)
{
	for (size_t i = 0; i < r->n_mounts; i++) {
		if (r->mnts)
			hk_closep(&r->mnts[i]);
		if (r->srcs)
			hk_closep(&r->srcs[i]);
	}
	free(r->mnts);
	free(r->srcs);
	r->mnts = r->srcs = NULL;
	r->n_made = 0;
	hk_closep(&r->root);
	r->root = -1;
}
