/* The container's root filesystem as an overlayfs (see overlay.h), made
 * with the new mount API. The lower layers are never written: a rootfs
 * directory given to husk launch stays byte for byte as it was. */
#include "launch/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/rmtree.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "launch/userns.h"

char *overlay_make_dir(const char *data_dir, const char *id, struct hk_err *err)
{
	if (hk_mkdir_p(data_dir, 0700, err) < 0)
		return NULL;
	char *dir = xasprintf("%s/%s", data_dir, id);
	if (mkdir(dir, 0700) < 0) {
		hk_fail(err, errno == EEXIST ? 0 : errno,
			errno == EEXIST ? "container %s exists already (its directory %s is there)"
					: "mkdir %s%s",
			errno == EEXIST ? id : dir, errno == EEXIST ? dir : "");
		free(dir);
		return NULL;
	}
	return dir;
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

/* With --userns auto the container's root is an unprivileged host uid: it
 * must be able to walk down to its rootfs. The container's directory and
 * the two above it (the data directory and its parent, which husk made
 * 0700) get search permission for others, nothing more (no listing). */
static int grant_traverse(const char *dir, struct hk_err *err)
{
	_cleanup_free_ char *p = xstrdup(dir);
	struct stat st;

	for (int level = 0; level < 3; level++) {
		if (stat(p, &st) < 0)
			return hk_fail(err, errno, "stat %s", p);
		if (!(st.st_mode & S_IXOTH) && st.st_uid == geteuid() &&
		    chmod(p, (st.st_mode & 07777) | S_IXGRP | S_IXOTH) < 0)
			return hk_fail(err, errno, "chmod %s", p);
		char *slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
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

	if (make_layer_dirs(dir, read_only, owner, group, err) < 0 ||
	    (owner != (uid_t)-1 && grant_traverse(dir, err) < 0)) {
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

int overlay_remove(const char *dir, bool keep, struct hk_err *err)
{
	_cleanup_free_ char *target = xasprintf("%s/rootfs", dir);
	_cleanup_free_ char *copy = xstrdup(dir);

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
	userns_release(dir);
	if (keep)
		return 0;
	char *slash = strrchr(copy, '/');
	if (!slash || !slash[1])
		return hk_fail(err, 0, "%s: not a container's directory", dir);
	*slash = '\0';
	_cleanup_close_ int parent = open(*copy ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "open %s", copy);
	return hk_rmtree_at(parent, slash + 1, err);
}
