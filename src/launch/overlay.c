/* The container's root filesystem as an overlayfs (see overlay.h), made
 * with the new mount API. The lower layers are never written: a rootfs
 * directory given to husk launch stays byte for byte as it was. */
#include "launch/overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/rmtree.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "launch/newfile.h"
#include "launch/traverse.h"
#include "launch/userns.h"

/* DATA holds every container's writable layer, output and record: it
 * must be husk's user's alone. One made by someone else is refused (they
 * could swap what launch puts there); one open to others, say by an older
 * husk that made it searchable for --userns auto, is closed again. The
 * group's search bit stays: with an ACL it is the mask that lets the
 * container roots' entries through (traverse.c). */
static mode_t close_bits(int fd)
{
	bool acl = fgetxattr(fd, "system.posix_acl_access", NULL, 0) > 0;
	return acl ? 0067 : 0077;
}

char *overlay_data_dir(const char *data_dir, struct hk_err *err)
{
	struct stat st;

	if (hk_mkdir_p(data_dir, 0700, err) < 0)
		return NULL;
	char *real = realpath(data_dir, NULL);
	if (!real) {
		hk_fail(err, errno, "data directory %s", data_dir);
		return NULL;
	}
	_cleanup_close_ int fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		hk_fail(err, errno, "data directory %s", real);
	} else if (st.st_uid != geteuid()) {
		hk_fail(err, 0,
			"data directory %s: owned by uid %u, not by husk's user (uid %u): its "
			"owner could change what launch puts there",
			real, (unsigned)st.st_uid, (unsigned)geteuid());
	} else if ((st.st_mode & close_bits(fd)) &&
		   fchmod(fd, st.st_mode & 0777 & ~close_bits(fd)) < 0) {
		hk_fail(err, errno, "data directory %s: chmod 0700", real);
	} else {
		return real;
	}
	free(real);
	return NULL;
}

#define OWNER_FILE ".owner"

int overlay_make_dir(const char *dir, const char *id, const char *owner, struct hk_err *err)
{
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			return hk_fail(err, 0, "container %s exists already (%s is there)", id,
				       dir);
		return hk_fail(err, errno, "mkdir %s", dir);
	}
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return hk_fail(err, errno, "open %s", dir);
	return launch_new_file(dfd, OWNER_FILE, owner, err) < 0 ? hk_err_prefix(err, "%s", dir) : 0;
}

/* 1: dir (dirfd) is the launch's that owner names; 0: another's; -1:
 * unknown (dir gone, or without the token: made by a launch killed right
 * after mkdir, or by an older husk). */
static int owned_by(int dirfd, const char *owner)
{
	_cleanup_free_ char *got = hk_read_fileat(dirfd, OWNER_FILE, 256, NULL, NULL);

	if (!got)
		return -1;
	return strcmp(got, owner) == 0 ? 1 : 0;
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

static int set_lowers(int fs, char *const *lowers, size_t n, struct hk_err *err)
{
	/* Linux 6.8 takes one layer at a time, no escaping needed. */
	for (size_t i = 0; i < n; i++) {
		if (hk_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) == 0)
			continue;
		if (i > 0 || errno != EINVAL)
			return hk_fail(err, errno, "overlay: lower layer %s", lowers[i]);
		_cleanup_free_ char *all = join_lowers(lowers, n);
		if (hk_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", all, 0) < 0)
			return hk_fail(err, errno, "overlay: lowerdir=%s", all);
		return 0;
	}
	return 0;
}

static int make_layer_dirs(const char *dir, bool read_only, uid_t owner, gid_t group,
			   struct hk_err *err)
{
	static const char *const names[] = {"rootfs", "upper", "work", "empty"};
	for (size_t i = 0; i < 4; i++) {
		bool need = i == 0 || (read_only ? i == 3 : i < 3);
		if (!need)
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
		if (mkdir(p, 0755) < 0)
			return hk_fail(err, errno, "mkdir %s", p);
		if (i == 1 && owner != (uid_t)-1 && chown(p, owner, group) < 0)
			return hk_fail(err, errno, "chown %s", p);
	}
	return 0;
}

int overlay_mount(const char *dir, char *const *lowers, size_t n, bool read_only, uid_t owner,
		  gid_t group, struct hk_err *err)
{
	_cleanup_free_ char *upper = xasprintf("%s/upper", dir);
	_cleanup_free_ char *work = xasprintf("%s/work", dir);
	_cleanup_free_ char *target = xasprintf("%s/rootfs", dir);
	_cleanup_free_ char *empty = xasprintf("%s/empty", dir);
	char **all = xcalloc(n + 1, sizeof(char *));

	if (make_layer_dirs(dir, read_only, owner, group, err) < 0) {
		free(all);
		return -1;
	}
	/* Without a writable layer overlayfs wants two lowers at least: an
	 * empty one on top changes nothing. */
	size_t k = 0;
	if (read_only)
		all[k++] = empty;
	for (size_t i = 0; i < n; i++)
		all[k++] = lowers[i];
	_cleanup_close_ int fs = hk_fsopen("overlay", FSOPEN_CLOEXEC);
	int r = fs < 0 ? hk_fail(err, errno, "fsopen overlay") : set_lowers(fs, all, k, err);
	free(all);
	if (r < 0)
		return -1;
	if (!read_only && (hk_fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
			   hk_fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0))
		return hk_fail(err, errno, "overlay: upperdir %s, workdir %s", upper, work);
	/* Layers are shared between containers: no index tying a lower
	 * layer to one upper. */
	(void)hk_fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0);
	if (hk_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hk_fail(err, errno, "mount overlay for %s", dir);
	_cleanup_close_ int mnt =
		hk_fsmount(fs, FSMOUNT_CLOEXEC, read_only ? MOUNT_ATTR_RDONLY : 0);
	if (mnt < 0)
		return hk_fail(err, errno, "fsmount overlay");
	if (hk_move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hk_fail(err, errno, "mount overlay on %s", target);
	return 0;
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

/* Everything but the token first, the token, then the directory: a
 * cleanup killed half-way leaves a directory the next one still knows
 * for its own. */
static int remove_dir(int parent, const char *name, int dirfd, struct hk_err *err)
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

int overlay_remove(const char *dir, bool keep, const char *owner, struct hk_err *err)
{
	_cleanup_free_ char *copy = xstrdup(dir);
	char *slash = strrchr(copy, '/');

	if (!slash || !slash[1])
		return hk_fail(err, 0, "%s: not a container's directory", dir);
	*slash = '\0';
	const char *data = *copy ? copy : "/";
	_cleanup_close_ int parent = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dirfd =
		parent < 0 ? -1
			   : openat(parent, slash + 1,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "open %s", dir);
	/* One cleanup at a time (a killed launch's hook may still run when
	 * delete runs it again); the next finds what the last left. */
	if (flock(dirfd, LOCK_EX) < 0)
		return hk_fail(err, errno, "lock %s", dir);
	int own = owner ? owned_by(dirfd, owner) : 1;
	if (own == 0) {
		hk_debug("launch: %s belongs to another container: left alone", dir);
		return 0;
	}
	if (own < 0) {
		/* gone, or nothing made in it yet if it is the launch's */
		if (unlinkat(parent, slash + 1, AT_REMOVEDIR) < 0 && errno != ENOENT)
			hk_debug("launch: %s: %s: left alone", dir, strerror(errno));
		return 0;
	}
	if (unmount_all(dir, err) < 0)
		return -1;
	/* --userns auto: DIR belongs to the container root's group, whose
	 * search permission on DATA goes before its id range is given back */
	struct stat st;
	if (fstat(dirfd, &st) == 0 && st.st_gid != 0 && st.st_gid != getegid())
		traverse_revoke(data, (uint32_t)st.st_gid);
	userns_release(dir);
	if (keep)
		return 0;
	return remove_dir(parent, slash + 1, dirfd, err);
}
