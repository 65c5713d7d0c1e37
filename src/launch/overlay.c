/* The container's root filesystem as an overlayfs (see overlay.h), made
 * with the new mount API. The lower layers are never written: a rootfs
 * directory given to husk launch stays byte for byte as it was. */
#include "launch/overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/rmtree.h"
#include "common/rootless.h"
#include "common/syscalls.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "launch/newfile.h"
#include "launch/pasta.h"
#include "launch/traverse.h"
#include "launch/userns.h"

#define OWNER_FILE ".owner"
#define TRASH ".trash"
#define KEPT_FILE ".kept"

/* DATA holds every container's writable layer, output and record: it
 * must be husk's user's alone. One made by someone else is refused (they
 * could swap what launch puts there), and so is a path through a link or
 * directory someone else controls (they could point it at a directory of
 * root's, which husk would then chmod and fill). One open to others, say
 * by an older husk that made it searchable for --userns auto, is closed
 * again. The group's search bit stays: with an ACL it is the mask that
 * lets the container roots' entries through; where the file system has no
 * ACLs and --userns auto opened it (traverse.c), so does others'. */
static mode_t close_bits(int fd)
{
	struct stat st;

	if (fgetxattr(fd, "system.posix_acl_access", NULL, 0) > 0)
		return 0067;
	return fstatat(fd, TRAVERSE_MARK_DATA, &st, AT_SYMLINK_NOFOLLOW) == 0 ? 0076 : 0077;
}

char *overlay_data_dir(const char *data_dir, struct hk_err *err)
{
	_cleanup_close_ int fd = hk_open_trusted_dir("--data-dir", data_dir, true, 0700, err);
	char self[64], real[PATH_MAX];
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		return hk_fail(err, errno, "--data-dir %s", data_dir), NULL;
	mode_t close = close_bits(fd);
	if ((st.st_mode & close) && fchmod(fd, st.st_mode & 0777 & ~close) < 0)
		return hk_fail(err, errno, "--data-dir %s: chmod 0700", data_dir), NULL;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(self, real, sizeof(real) - 1);
	if (n <= 0 || real[0] != '/')
		return hk_fail(err, n < 0 ? errno : 0, "--data-dir %s: its path", data_dir), NULL;
	real[n] = '\0';
	return xstrdup(real);
}

char *overlay_root_id(int rootfd)
{
	struct stat st;

	if (rootfd < 0 || fstat(rootfd, &st) < 0)
		return xstrdup("unknown");
	return xasprintf("%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

int overlay_make_dir(const char *dir, const char *owner, const char *root, struct hk_err *err)
{
	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? 1 : hk_fail(err, errno, "mkdir %s", dir);
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return hk_fail(err, errno, "open %s", dir);
	/* the token, then the state root it was made under (overlay_reclaim) */
	_cleanup_free_ char *text = xasprintf("%s\nroot %s\n", owner, root);
	return launch_new_file(dfd, OWNER_FILE, text, err) < 0 ? hk_err_prefix(err, "%s", dir) : 0;
}

/* DIR/.owner: its first line, the token (an older husk wrote only that),
 * and its root, if it names one. */
static char *read_owner(int dirfd, char **root)
{
	char *text = hk_read_fileat(dirfd, OWNER_FILE, 256, NULL, NULL);
	char *nl = text ? strchr(text, '\n') : NULL;

	if (root)
		*root = NULL;
	if (!nl)
		return text;
	*nl = '\0';
	if (root && strncmp(nl + 1, "root ", 5) == 0) {
		*root = xstrdup(nl + 6);
		(*root)[strcspn(*root, "\n")] = '\0';
	}
	return text;
}

/* 1: dir (dirfd) is the launch's that owner names; 0: another's; -1:
 * unknown (dir gone, or without the token: made by a launch killed right
 * after mkdir, or by an older husk). */
static int owned_by(int dirfd, const char *owner)
{
	_cleanup_free_ char *got = read_owner(dirfd, NULL);

	if (!got)
		return -1;
	return strcmp(got, owner) == 0 ? 1 : 0;
}

int overlay_reclaim(const char *dir, const char *root, struct hk_err *err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *made_under = NULL;

	if (dfd < 0)
		return errno == ENOENT ? 1 : hk_fail(err, errno, "open %s", dir);
	_cleanup_free_ char *token = read_owner(dfd, &made_under);
	struct stat st;
	if (!token || !made_under || strcmp(made_under, root) != 0 ||
	    fstatat(dfd, KEPT_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	hk_debug("launch: %s is what a failed cleanup left: removed", dir);
	if (overlay_remove(dir, false, token, NULL, err) < 0)
		return hk_err_prefix(err, "%s, left by a cleanup that failed", dir);
	return 1;
}

/* The lowerdir option's escaping (fs/overlayfs/params.c): ':' separates
 * layers and ',' options; backslash escapes both (and itself). */
static char *join_lowers(char *const *lowers, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(lowers[i]) + 1;
	char *s = xmalloc(len), *p = s;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ':';
		for (const char *c = lowers[i]; *c; c++) {
			if (*c == ':' || *c == ',' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
	}
	*p = '\0';
	return s;
}

/* An overlayfs that takes its options the old way (before Linux 6.5:
 * Debian 12's 6.1) takes any key and fails only at create; one that
 * checks its keys refuses an unknown one at once. */
static bool legacy_overlay(void)
{
	_cleanup_close_ int fs = hk_fsopen("overlay", FSOPEN_CLOEXEC);
	return fs >= 0 && hk_fsconfig(fs, FSCONFIG_SET_STRING, "husk-probe", "x", 0) == 0;
}

/* Older kernels take the layers as paths: /proc/self/fd/N of the very
 * directories checked, which the kernel resolves to them. */
static int set_lowers_by_path(int fs, const int *lowers, size_t n, struct hk_err *err)
{
	bool legacy = legacy_overlay();
	char **paths = xcalloc(n, sizeof(char *));
	int r = 0;

	for (size_t i = 0; i < n; i++)
		paths[i] = xasprintf("/proc/self/fd/%d", lowers[i]);
	/* Linux 6.8 takes one layer at a time, no escaping needed. */
	for (size_t i = 0; i < n && r == 0; i++) {
		if (!legacy && hk_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", paths[i], 0) == 0)
			continue;
		if (!legacy && (i > 0 || errno != EINVAL)) {
			r = hk_fail(err, errno, "overlay: lower layer %zu", i);
			break;
		}
		_cleanup_free_ char *all = join_lowers(paths, n);
		if (hk_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", all, 0) < 0)
			r = hk_fail(err, errno, "overlay: lowerdir=%s", all);
		break;
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}

/* 1 when the kernel takes layers as fds (Linux 6.13), 0 when it wants
 * paths. */
static int set_lowers(int fs, const int *lowers, size_t n, struct hk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (hk_fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, lowers[i]) == 0)
			continue;
		/* EOPNOTSUPP: an overlayfs that takes strings only (before 6.5) */
		if (i > 0 || (errno != EINVAL && errno != EOPNOTSUPP))
			return hk_fail(err, errno, "overlay: lower layer %zu", i);
		return set_lowers_by_path(fs, lowers, n, err) < 0 ? -1 : 0;
	}
	return 1;
}

static int set_dir(int fs, const char *key, int fd, bool by_fd, struct hk_err *err)
{
	char self[64];

	if (by_fd && hk_fsconfig(fs, FSCONFIG_SET_FD, key, NULL, fd) == 0)
		return 0;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (hk_fsconfig(fs, FSCONFIG_SET_STRING, key, self, 0) < 0)
		return hk_fail(err, errno, "overlay: %s", key);
	return 0;
}

static int make_layer_dirs(int dfd, bool read_only, uid_t owner, gid_t group, int fds[4],
			   struct hk_err *err)
{
	static const char *const names[] = {"rootfs", "upper", "work", "empty"};
	for (size_t i = 0; i < 4; i++) {
		bool need = i == 0 || (read_only ? i == 3 : i < 3);
		if (!need)
			continue;
		if (mkdirat(dfd, names[i], 0755) < 0)
			return hk_fail(err, errno, "mkdir %s", names[i]);
		fds[i] = openat(dfd, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[i] < 0)
			return hk_fail(err, errno, "open %s", names[i]);
		if (i == 1 && owner != (uid_t)-1 &&
		    fchownat(fds[i], "", owner, group, AT_EMPTY_PATH) < 0)
			return hk_fail(err, errno, "chown %s", names[i]);
	}
	return 0;
}

static int make_overlay(const int fds[4], const int *lowers, size_t n, bool read_only,
			struct hk_err *err)
{
	int *all = xcalloc(n + 1, sizeof(int));
	size_t k = 0;

	/* Without a writable layer overlayfs wants two lowers at least: an
	 * empty one on top changes nothing. */
	if (read_only)
		all[k++] = fds[3];
	for (size_t i = 0; i < n; i++)
		all[k++] = lowers[i];
	_cleanup_close_ int fs = hk_fsopen("overlay", FSOPEN_CLOEXEC);
	int by_fd = fs < 0 ? hk_fail(err, errno, "fsopen overlay") : set_lowers(fs, all, k, err);
	free(all);
	if (by_fd < 0)
		return -1;
	if (!read_only && (set_dir(fs, "upperdir", fds[1], by_fd, err) < 0 ||
			   set_dir(fs, "workdir", fds[2], by_fd, err) < 0))
		return -1;
	/* Layers are shared between containers: no index tying a lower
	 * layer to one upper. */
	(void)hk_fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0);
	/* In an ordinary user's namespace (launch/user.h): trusted.* xattrs
	 * are root's on the host, so overlayfs keeps its own in user.overlay.*
	 * (Linux 5.11), as the layers were unpacked (image/unpack.c). */
	if (hk_rootless() && hk_fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		return hk_fail(err, errno, "overlay: userxattr");
	if (hk_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hk_fail(err, errno, "mount overlay");
	int mnt = hk_fsmount(fs, FSMOUNT_CLOEXEC, read_only ? MOUNT_ATTR_RDONLY : 0);
	return mnt < 0 ? hk_fail(err, errno, "fsmount overlay") : mnt;
}

int overlay_mount(const char *dir, const int *lowers, size_t n, bool read_only, uid_t owner,
		  gid_t group, struct hk_err *err)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fds[4] = {-1, -1, -1, -1};
	int r = -1;

	if (dfd < 0)
		return hk_fail(err, errno, "open %s", dir);
	if (make_layer_dirs(dfd, read_only, owner, group, fds, err) == 0) {
		_cleanup_close_ int mnt = make_overlay(fds, lowers, n, read_only, err);
		r = mnt < 0 ? -1 : 0;
		if (r == 0 && hk_move_mount(mnt, "", fds[0], "",
					    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			r = hk_fail(err, errno, "mount overlay on %s/rootfs", dir);
	}
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r < 0 ? hk_err_prefix(err, "%s", dir) : 0;
}

static int unmount_all(const char *dir, struct hk_err *err)
{
	_cleanup_free_ char *target = xasprintf("%s/rootfs", dir);

	if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return hk_fail(err, errno, "unmount %s", target);
	/* --userns=auto's idmapped lower layers (launch/userns.c) */
	for (int i = 0;; i++) {
		_cleanup_free_ char *lower = xasprintf("%s/lower%d", dir, i);
		if (access(lower, F_OK) < 0)
			break;
		if (umount2(lower, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
			return hk_fail(err, errno, "unmount %s", lower);
	}
	return 0;
}

/* One entry of DATA/.trash (trash: its fd), under the entry's own lock
 * (overlay_remove's: the container's directory, renamed), so that two
 * removers never walk the same tree (an emptier's readdir of a directory
 * another had just removed failed, with a warning: outside attack, tenth
 * round, F5). ENTRY_WAIT: for the lock (the after-care, its own entry);
 * ENTRY_TRY: an entry another is at work on is left to it; ENTRY_HELD:
 * the caller holds the lock. Gone already: done. */
enum entry_lock { ENTRY_TRY, ENTRY_WAIT, ENTRY_HELD };

static int remove_entry(int trash, const char *name, enum entry_lock how, struct hk_err *err)
{
	int fd = how == ENTRY_HELD
			 ? -1
			 : openat(trash, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && how != ENTRY_HELD && errno == ENOENT)
		return 0;
	if (fd >= 0 && flock(fd, how == ENTRY_WAIT ? LOCK_EX : LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 0; /* another's at work on it */
	}
	int r = hk_rmtree_at(trash, name, err);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Everything in DATA/.trash (fd, whose own lock the caller holds): what
 * cleanups that failed or were killed left there, entries another is
 * removing skipped; then .trash itself when empty (a cleanup about to
 * rename into it makes it again). Closes fd. */
static int empty_locked(int parent, int fd, struct hk_err *err)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int r = 0;

	if (!d) {
		close(fd);
		return hk_fail(err, errno, "read %s", TRASH);
	}
	/* past an entry that cannot go, to the others (outside attack,
	 * eleventh round, F2); the first failure is the one reported */
	while ((e = readdir(d))) {
		struct hk_err one = {0};
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    remove_entry(dirfd(d), e->d_name, ENTRY_TRY, &one) < 0 && r == 0) {
			r = -1;
			if (err)
				*err = one;
		}
	}
	if (r == 0)
		unlinkat(parent, TRASH, AT_REMOVEDIR);
	closedir(d);
	return r < 0 ? hk_err_prefix(err, "%s", TRASH) : 0;
}

static int open_trash(int parent)
{
	return openat(parent, TRASH, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Whatever is in DATA/.trash. One emptier at a time (under the lock of
 * .trash); the others leave it to it. */
static int empty_trash(int parent, struct hk_err *err)
{
	int fd = open_trash(parent);

	if (fd < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "open %s", TRASH);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 0;
	}
	return empty_locked(parent, fd, err);
}

/* Is an emptier at work in DATA/.trash (its lock held)? */
static bool trash_busy(int parent)
{
	int fd = open_trash(parent);
	bool busy = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;

	if (fd >= 0)
		close(fd);
	return busy;
}

/* Out of DATA under a name of its own in DATA/.trash: from here on the
 * container's name is free, whether the removal succeeds or not. */
static int to_trash(int parent, const char *name, char trashed[64], struct hk_err *err)
{
	unsigned char b[12] = {0};

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return hk_fail(err, errno, "getrandom");
	int n = snprintf(trashed, 64, TRASH "/");
	for (size_t i = 0; i < sizeof(b); i++)
		n += snprintf(trashed + n, (size_t)(64 - n), "%02x", b[i]);
	/* twice: an emptier may remove an empty .trash in between */
	for (int tries = 0; tries < 2; tries++) {
		if (mkdirat(parent, TRASH, 0700) < 0 && errno != EEXIST)
			return hk_fail(err, errno, "mkdir %s", TRASH);
		if (renameat(parent, name, parent, trashed) == 0)
			return 0;
		if (errno != ENOENT)
			break;
	}
	return hk_fail(err, errno, "rename %s to %s", name, trashed);
}

/* Does name in parent still lead to the directory dirfd (locked)? */
static bool still_there(int parent, const char *name, int dirfd)
{
	struct stat a, b;

	return fstatat(parent, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstat(dirfd, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Where it is, everything but the token first, the token, then the
 * directory: a cleanup killed half-way leaves a directory the next one
 * still knows for its own. */
static int remove_in_place(int parent, const char *name, int dirfd, struct hk_err *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return hk_fail(err, errno, "read %s", name);
	}
	while (r == 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, OWNER_FILE) != 0)
			r = hk_rmtree_at(dirfd, e->d_name, err);
	closedir(d);
	if (r < 0)
		return -1;
	if (unlinkat(dirfd, OWNER_FILE, 0) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "remove %s/%s", name, OWNER_FILE);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "remove %s", name);
	return 0;
}

/* trashed: TRASH "/" and the entry's name, which the caller holds the
 * lock of (overlay_remove's dirfd). */
static int empty(int parent, const char *trashed, const char *name, struct hk_err *err)
{
	int fd = open_trash(parent), r = 0;

	if (fd < 0 && errno != ENOENT)
		r = hk_fail(err, errno, "open %s", TRASH);
	else if (fd >= 0)
		r = remove_entry(fd, trashed + sizeof(TRASH), ENTRY_HELD, err);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return hk_err_prefix(err,
				     "%s (what is left of it stays in %s, removed by the next "
				     "cleanup)",
				     name, TRASH);
	return empty_trash(parent, err);
}

static int remove_dir(int parent, const char *name, int dirfd, struct overlay_trash *later,
		      struct hk_err *err)
{
	char trashed[64];
	struct hk_err terr = {0};

	if (to_trash(parent, name, trashed, &terr) < 0) {
		hk_debug("launch: %s", terr.msg);
		return remove_in_place(parent, name, dirfd, err);
	}
	/* Left for later only when no emptier is at work: a container
	 * relaunched in a loop, each leaving a big tree, must not pile up
	 * removals (outside attack, tenth round, F1); this cleanup then
	 * removes its own, as launch did before it had an after-care. */
	if (later && !trash_busy(parent)) {
		later->parent = fcntl(parent, F_DUPFD_CLOEXEC, 3);
		/* the same open file, so the same lock */
		later->entry = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
		if (later->parent >= 0 && later->entry >= 0) {
			snprintf(later->name, sizeof(later->name), "%s", trashed);
			return 0;
		}
		overlay_trash_clear(later);
	}
	return empty(parent, trashed, name, err);
}

/* TRASH "/" and hex digits, as to_trash names them: nothing else is taken
 * for an entry of .trash (outside attack, eleventh round, F3). */
static bool trash_name(const char *name)
{
	const char *hex = name + sizeof(TRASH);

	if (strncmp(name, TRASH "/", sizeof(TRASH)) != 0 || !*hex || strlen(hex) > 48)
		return false;
	return strspn(hex, "0123456789abcdef") == strlen(hex);
}

/* Its own entry, held (t->entry): still the directory at that name? */
static int held_entry(int trash, const struct overlay_trash *t, struct hk_err *err)
{
	if (!still_there(trash, t->name + sizeof(TRASH), t->entry))
		return hk_fail(err, 0, "%s: not the directory handed over", t->name);
	return 0;
}

/* The after-care's: its own entry, then, when no other emptier is at work
 * (the lock of .trash), whatever else is there. It never waits for another
 * emptier: a caller reading launch's stderr would wait for another
 * container's tree (outside attack, eleventh round, F1). Its entry comes
 * locked (t->entry) and no sweep touches it; without t->entry, it may be
 * gone already, removed by an emptier before it, or be in one's hands:
 * waited for, it is its own tree. */
int overlay_trash_empty(struct overlay_trash *t, struct hk_err *err)
{
	if (t->parent < 0) {
		overlay_trash_clear(t);
		return 0;
	}
	if (!trash_name(t->name)) {
		overlay_trash_clear(t);
		return hk_fail(err, EINVAL, "%.64s: not an entry of %s", t->name, TRASH);
	}
	int fd = open_trash(t->parent), r = 0;
	bool sweep = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
	enum entry_lock how = t->entry >= 0 ? ENTRY_HELD : ENTRY_WAIT;
	if (fd < 0 && errno != ENOENT)
		r = hk_fail(err, errno, "open %s", TRASH);
	else if (fd >= 0 && ((how == ENTRY_HELD && held_entry(fd, t, err) < 0) ||
			     remove_entry(fd, t->name + sizeof(TRASH), how, err) < 0))
		r = hk_err_prefix(err,
				  "%s (what is left of it stays in %s, removed by the next "
				  "cleanup)",
				  t->name, TRASH);
	else if (sweep)
		r = empty_locked(t->parent, TAKE_FD(fd), err);
	if (fd >= 0)
		close(fd);
	overlay_trash_clear(t);
	return r;
}

void overlay_trash_clear(struct overlay_trash *t)
{
	if (t->parent >= 0)
		close(t->parent);
	if (t->entry >= 0)
		close(t->entry);
	t->parent = t->entry = -1;
}

int overlay_remove(const char *dir, bool keep, const char *owner, struct overlay_trash *later,
		   struct hk_err *err)
{
	_cleanup_free_ char *copy = xstrdup(dir);
	char *slash = strrchr(copy, '/');

	if (!slash || !slash[1])
		return hk_fail(err, 0, "%s: not a container's directory", dir);
	*slash = '\0';
	const char *data = *copy ? copy : "/";
	const char *name = slash + 1;
	_cleanup_close_ int parent = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dirfd =
		parent < 0 ? -1
			   : openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "open %s", dir);
	/* One cleanup at a time (a killed launch's hook may still run when
	 * delete runs it again); the next finds what the last left. */
	if (flock(dirfd, LOCK_EX) < 0)
		return hk_fail(err, errno, "lock %s", dir);
	if (!still_there(parent, name, dirfd))
		return 0; /* removed (or trashed) while we waited */
	int own = owner ? owned_by(dirfd, owner) : 1;
	if (own == 0) {
		hk_debug("launch: %s belongs to another container: left alone", dir);
		return 0;
	}
	if (own < 0) {
		/* nothing made in it yet if it is the launch's */
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			hk_debug("launch: %s: %s: left alone", dir, strerror(errno));
		return 0;
	}
	/* --net pasta's: it holds the network namespace, it never sees it go */
	launch_pasta_stop(dirfd);
	if (unmount_all(dir, err) < 0)
		return -1;
	/* --userns auto: the container root's search permission on DATA goes
	 * before its id range is given back */
	uint32_t uid = userns_recorded_uid(dir);
	struct stat st;
	/* an older husk's: the uid and gid ranges started at the same id */
	if (!uid && fstat(dirfd, &st) == 0 && st.st_gid != 0 && st.st_gid != getegid())
		uid = (uint32_t)st.st_gid;
	if (uid)
		traverse_revoke(data, uid, dir);
	/* kept on purpose: never taken for a leftover (overlay_reclaim); its
	 * --userns auto ids stay claimed as long as the layer they own is
	 * there (given back, they went to the next container, which could
	 * then read and write the kept layer: outside attack, second round,
	 * F8) */
	if (!keep)
		userns_release(dir);
	if (keep)
		return launch_new_file(dirfd, KEPT_FILE, "", err) < 0 && err->errnum != EEXIST
			       ? hk_err_prefix(err, "%s", dir)
			       : (hk_err_clear(err), 0);
	return remove_dir(parent, name, dirfd, later, err);
}
