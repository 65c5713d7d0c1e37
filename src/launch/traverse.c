/* --userns auto: the container's root, an unprivileged uid of the host,
 * must walk down DATA/<id>/rootfs while its runtime sets the rootfs up
 * (runc and husk bind the rootfs from inside the user namespace). DATA
 * and the directory above it are root's and 0700. Rather than opening them
 * to every user of the host (o+x, as husk did), each gets a POSIX ACL entry
 * "user:<the container root's uid>:--x" for as long as the container
 * lives: search only, for that one uid. DATA/<id> itself is given to the
 * container root's group, mode 0710 (launch.c).
 *
 * The ACL is read, changed and written back under a lock (DATA/.userns),
 * as launches run side by side. A file system without ACLs falls back to
 * o+x on those two directories, which is safe only because what lies
 * below them is 0700 or 0710; a mark in DATA/.userns says launch did it,
 * and the cleanup of the last container that held a range closes them
 * again (they used to stay open for good). */
#include "launch/traverse.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"

/* linux/posix_acl_xattr.h: a version, then entries sorted by tag and id. */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_VERSION 2
#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20
#define PERM_X 1
#define MAX_ENTRIES 4096

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

struct acl {
	struct acl_entry e[MAX_ENTRIES];
	size_t n;
};

/* The directory's ACL, or the three entries its mode stands for. */
static int acl_read(int fd, const char *what, struct acl *a, struct hk_err *err)
{
	static unsigned char buf[4 + 8 * MAX_ENTRIES];
	ssize_t len = fgetxattr(fd, ACL_XATTR, buf, sizeof(buf));
	struct stat st;

	a->n = 0;
	if (len < 0 && errno == ENODATA) {
		if (fstat(fd, &st) < 0)
			return hk_fail(err, errno, "stat %s", what);
		a->e[a->n++] = (struct acl_entry){TAG_USER_OBJ, (st.st_mode >> 6) & 7, UINT32_MAX};
		a->e[a->n++] = (struct acl_entry){TAG_GROUP_OBJ, (st.st_mode >> 3) & 7, UINT32_MAX};
		a->e[a->n++] = (struct acl_entry){TAG_OTHER, st.st_mode & 7, UINT32_MAX};
		return 0;
	}
	if (len < 0)
		return hk_fail(err, errno, "read the ACL of %s", what);
	uint32_t version = 0;
	if (len >= 4)
		memcpy(&version, buf, 4);
	if (len < 4 || (len - 4) % 8 || le32toh(version) != ACL_VERSION)
		return hk_fail(err, 0, "the ACL of %s: not a version %d ACL", what, ACL_VERSION);
	for (ssize_t off = 4; off < len; off += 8) {
		struct acl_entry *e = &a->e[a->n++];
		memcpy(&e->tag, buf + off, 2);
		memcpy(&e->perm, buf + off + 2, 2);
		memcpy(&e->id, buf + off + 4, 4);
		e->tag = le16toh(e->tag);
		e->perm = le16toh(e->perm);
		e->id = le32toh(e->id);
	}
	return 0;
}

static int acl_write(int fd, const char *what, const struct acl *a, struct hk_err *err)
{
	_cleanup_free_ unsigned char *buf = xmalloc(4 + 8 * a->n);
	uint32_t version = htole32(ACL_VERSION);

	memcpy(buf, &version, 4);
	for (size_t i = 0; i < a->n; i++) {
		uint16_t tag = htole16(a->e[i].tag), perm = htole16(a->e[i].perm);
		uint32_t id = htole32(a->e[i].id);
		memcpy(buf + 4 + 8 * i, &tag, 2);
		memcpy(buf + 4 + 8 * i + 2, &perm, 2);
		memcpy(buf + 4 + 8 * i + 4, &id, 4);
	}
	if (fsetxattr(fd, ACL_XATTR, buf, 4 + 8 * a->n, 0) < 0)
		return hk_fail(err, errno, "set the ACL of %s", what);
	return 0;
}

static struct acl_entry *acl_find(struct acl *a, uint16_t tag, uint32_t id)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].tag == tag && (tag != TAG_USER || a->e[i].id == id))
			return &a->e[i];
	return NULL;
}

static void acl_insert(struct acl *a, struct acl_entry e)
{
	size_t i = 0;
	while (i < a->n && (a->e[i].tag < e.tag || (a->e[i].tag == e.tag && a->e[i].id < e.id)))
		i++;
	memmove(&a->e[i + 1], &a->e[i], (a->n - i) * sizeof(a->e[0]));
	a->e[i] = e;
	a->n++;
}

static bool acl_has_named(const struct acl *a)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->e[i].tag == TAG_USER || a->e[i].tag == TAG_GROUP)
			return true;
	return false;
}

/* user:uid:--x, with a mask that lets it through (and keeps what the
 * owning group had). */
static int acl_grant(int fd, const char *what, uint32_t uid, struct hk_err *err)
{
	struct acl *a = xzalloc(sizeof(*a));
	int r = acl_read(fd, what, a, err);

	if (r == 0 && a->n + 2 > MAX_ENTRIES)
		r = hk_fail(err, 0, "the ACL of %s: too many entries", what);
	if (r == 0) {
		struct acl_entry *u = acl_find(a, TAG_USER, uid);
		if (u)
			u->perm |= PERM_X;
		else
			acl_insert(a, (struct acl_entry){TAG_USER, PERM_X, uid});
		struct acl_entry *m = acl_find(a, TAG_MASK, 0);
		struct acl_entry *g = acl_find(a, TAG_GROUP_OBJ, 0);
		if (m)
			m->perm |= PERM_X;
		else
			acl_insert(a, (struct acl_entry){TAG_MASK, PERM_X | (g ? g->perm : 0),
							 UINT32_MAX});
		r = acl_write(fd, what, a, err);
	}
	free(a);
	return r;
}

/* Drop user:uid; the mask goes with the last named entry, so that a
 * directory granted to no one is back to its plain mode. */
static int acl_revoke(int fd, const char *what, uint32_t uid, struct hk_err *err)
{
	struct acl *a = xzalloc(sizeof(*a));
	int r = acl_read(fd, what, a, err);
	struct acl_entry *u = r == 0 ? acl_find(a, TAG_USER, uid) : NULL;

	if (u) {
		memmove(u, u + 1, (size_t)(&a->e[a->n] - (u + 1)) * sizeof(*u));
		a->n--;
		struct acl_entry *m = acl_find(a, TAG_MASK, 0);
		if (m && !acl_has_named(a)) {
			memmove(m, m + 1, (size_t)(&a->e[a->n] - (m + 1)) * sizeof(*m));
			a->n--;
		}
		r = acl_write(fd, what, a, err);
	}
	free(a);
	return r;
}

/* Another container than dir's holds a range (a claim in DATA/.userns
 * that names another directory, still there). */
static bool others_hold(int claimsfd, const char *dir)
{
	int fd = openat(claimsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	bool found = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *owner = hk_read_fileat(dirfd(d), e->d_name, 4096, NULL, NULL);
		struct stat st;
		found = owner && strcmp(owner, dir) != 0 && stat(owner, &st) == 0;
	}
	closedir(d);
	return found;
}

/* No ACLs here: o+x instead, safe only because what lies below is 0700
 * or 0710; the mark says launch did it (and it was not so before). */
static int open_to_others(int fd, const char *what, const struct stat *st, int claimsfd, int level,
			  struct hk_err *err)
{
	const char *mark = strchr(level ? TRAVERSE_MARK_PARENT : TRAVERSE_MARK_DATA, '/') + 1;

	if (st->st_mode & S_IXOTH)
		return 0;
	hk_debug("launch: no ACLs on %s: o+x instead, while containers need it", what);
	_cleanup_close_ int m =
		openat(claimsfd, mark, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (m < 0)
		return hk_fail(err, errno, "create %s/%s", what, mark);
	if (fchmod(fd, (st->st_mode & 07777) | S_IXOTH) < 0)
		return hk_fail(err, errno, "chmod %s", what);
	return 0;
}

/* The last container gone: what open_to_others opened is closed again. */
static void close_to_others(int fd, const char *what, int claimsfd, int level, const char *dir)
{
	const char *mark = strchr(level ? TRAVERSE_MARK_PARENT : TRAVERSE_MARK_DATA, '/') + 1;
	struct stat st, ms;

	if (fstatat(claimsfd, mark, &ms, AT_SYMLINK_NOFOLLOW) < 0 || others_hold(claimsfd, dir))
		return;
	if (fstat(fd, &st) < 0 || fchmod(fd, st.st_mode & 07777 & ~(mode_t)S_IXOTH) < 0)
		hk_debug("launch: close %s again: %s", what, strerror(errno));
	else
		unlinkat(claimsfd, mark, 0);
}

/* The directories the container root must search: DATA and its parent,
 * when husk's user owns them and they are closed to others. */
static int each_dir(const char *data_dir, uint32_t uid, bool grant, int claimsfd, const char *dir,
		    struct hk_err *err)
{
	_cleanup_free_ char *p = xstrdup(data_dir);

	for (int level = 0; level < 2; level++) {
		_cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			return hk_fail(err, errno, "%s", p);
		int r = 0;
		if (!grant && st.st_uid == geteuid()) {
			struct hk_err rerr = {0};
			if (acl_revoke(fd, p, uid, &rerr) < 0)
				hk_debug("launch: %s", rerr.msg);
			close_to_others(fd, p, claimsfd, level, dir);
		} else if (st.st_uid == geteuid() && (level == 0 || !(st.st_mode & S_IXOTH))) {
			r = acl_grant(fd, p, uid, err);
		}
		if (r < 0 && grant && (err->errnum == EOPNOTSUPP || err->errnum == ENOTSUP)) {
			hk_err_clear(err);
			r = open_to_others(fd, p, &st, claimsfd, level, err);
		}
		if (r < 0 && grant)
			return -1;
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
	return 0;
}

static int locked(const char *data_dir, uint32_t uid, bool grant, const char *dir,
		  struct hk_err *err)
{
	_cleanup_free_ char *lock = xasprintf("%s/.userns", data_dir);
	_cleanup_close_ int fd = open(lock, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return grant ? hk_fail(err, errno, "open %s", lock) : 0;
	if (flock(fd, LOCK_EX) < 0)
		return hk_fail(err, errno, "lock %s", lock);
	return each_dir(data_dir, uid, grant, fd, dir, err);
}

int traverse_grant(const char *data_dir, uint32_t uid, struct hk_err *err)
{
	return locked(data_dir, uid, true, NULL, err);
}

void traverse_revoke(const char *data_dir, uint32_t uid, const char *dir)
{
	struct hk_err err = {0};
	if (locked(data_dir, uid, false, dir, &err) < 0)
		hk_debug("launch: %s", err.msg);
}
