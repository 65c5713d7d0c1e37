#include "linux/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "linux/mount.h"
#include "linux/rootfs-path.h"
#include "spec/spec.h"

static const struct hk_device default_devices[] = {
	{.type = 'c', .path = (char *)(uintptr_t) "/dev/null", .major = 1, .minor = 3},
	{.type = 'c', .path = (char *)(uintptr_t) "/dev/zero", .major = 1, .minor = 5},
	{.type = 'c', .path = (char *)(uintptr_t) "/dev/full", .major = 1, .minor = 7},
	{.type = 'c', .path = (char *)(uintptr_t) "/dev/random", .major = 1, .minor = 8},
	{.type = 'c', .path = (char *)(uintptr_t) "/dev/urandom", .major = 1, .minor = 9},
	{.type = 'c', .path = (char *)(uintptr_t) "/dev/tty", .major = 5, .minor = 0},
};

static const struct {
	const char *name, *target;
} dev_links[] = {
	{"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

static mode_t type_bits(char type)
{
	switch (type) {
	case 'b':
		return S_IFBLK;
	case 'p':
		return S_IFIFO;
	default:
		return S_IFCHR;
	}
}

/* A device path is at or below /dev. */
static bool in_dev(const char *path)
{
	return rootfs_holds("/dev", path);
}

static bool node_matches(const struct stat *st, const struct hk_device *d)
{
	if ((st->st_mode & S_IFMT) != type_bits(d->type))
		return false;
	return d->type == 'p' || (major(st->st_rdev) == (unsigned)d->major &&
				  minor(st->st_rdev) == (unsigned)d->minor);
}

/* In a user namespace (no mknod) the host's node at the same path is
 * bound: it must be the device the config asks for, checked on the very
 * fd that is bound, so that a path outside /dev never binds a file of the
 * host. Device nodes and their directories are made beneath the
 * container's own /dev (the mount there, when there is one), never through
 * a symlink; elsewhere, through symlinks inside the root only. */
static int bind_node(const struct hk_rootfs *r, const struct hk_device *d, struct hk_err *err)
{
	struct stat st;
	struct hk_mount_opts o = {.attr_set = MOUNT_ATTR_NOEXEC};
	_cleanup_close_ int host = open(d->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (host < 0)
		return hk_fail(err, errno, "device %s: the host has no such node to bind", d->path);
	if (fstat(host, &st) < 0)
		return hk_fail(err, errno, "device %s: stat the host's node", d->path);
	if (!node_matches(&st, d))
		return hk_fail(err, 0,
			       "device %s: the host's node there is not %c %lld:%lld, refused",
			       d->path, d->type, (long long)d->major, (long long)d->minor);
	_cleanup_close_ int fd = rootfs_resolve(r, d->path, HK_WANT_FILE, in_dev(d->path), err);
	if (fd < 0)
		return hk_err_prefix(err, "device %s", d->path);
	_cleanup_close_ int mnt = mount_bind_fd(host, d->path, fd, &o, err);
	return mnt < 0 ? hk_err_prefix(err, "device %s", d->path) : 0;
}

/* In /dev (husk's tmpfs, usually) a node already there is replaced: its
 * type or numbers may differ from the config's. Elsewhere the rootfs's own
 * files are never removed: a node that is already the device is kept (a
 * container run again on the same rootfs), anything else is an error
 * (config-linux.md, devices). */
static int place_node(int dfd, const char *name, const struct hk_device *d, mode_t perm,
		      struct hk_err *err)
{
	struct stat st;

	if (in_dev(d->path) && unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "device %s: remove existing", d->path);
	if (mknodat(dfd, name, type_bits(d->type) | perm,
		    makedev((unsigned)d->major, (unsigned)d->minor)) == 0)
		return 1;
	if (errno != EEXIST || in_dev(d->path))
		return hk_fail(err, errno, "mknod %s", d->path);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return hk_fail(err, errno, "device %s: stat existing", d->path);
	if (!node_matches(&st, d))
		return hk_fail(err, 0,
			       "device %s: a file that is not %c %lld:%lld is already there",
			       d->path, d->type, (long long)d->major, (long long)d->minor);
	return 0;
}

static int make_node(const struct hk_rootfs *r, const struct hk_device *d, bool bind_host,
		     struct hk_err *err)
{
	if (bind_host)
		return bind_node(r, d, err);
	_cleanup_free_ char *dir = xstrdup(d->path);
	char *slash = strrchr(dir, '/');
	const char *name = slash + 1;
	*slash = '\0';
	_cleanup_close_ int dfd =
		rootfs_resolve(r, *dir ? dir : "/", HK_WANT_DIR, in_dev(d->path), err);
	mode_t perm = d->has_mode ? d->mode : 0666;

	if (dfd < 0)
		return hk_err_prefix(err, "device %s", d->path);
	int made = place_node(dfd, name, d, perm, err);
	if (made <= 0)
		return made;
	if ((d->has_uid || d->has_gid) &&
	    fchownat(dfd, name, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return hk_fail(err, errno, "chown %s", d->path);
	return 0;
}

static bool listed(const struct hk_spec *s, const char *path)
{
	for (size_t i = 0; i < s->n_devices; i++)
		if (strcmp(s->devices[i].path, path) == 0)
			return true;
	return false;
}

static int make_links(const struct hk_rootfs *r, struct hk_err *err)
{
	_cleanup_close_ int dev = rootfs_resolve(r, "/dev", HK_WANT_DIR, true, err);

	if (dev < 0)
		return -1;
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		struct stat st;
		/* /dev/ptmx may already be a device node (from linux.devices). */
		if (fstatat(dev, dev_links[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0 && errno != EEXIST)
			return hk_fail(err, errno, "symlink /dev/%s", dev_links[i].name);
	}
	return 0;
}

int devices_setup(const struct hk_rootfs *r, bool bind_host, struct hk_err *err)
{
	const struct hk_spec *s = r->spec;

	for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++)
		if (!listed(s, default_devices[i].path) &&
		    make_node(r, &default_devices[i], bind_host, err) < 0)
			return -1;
	for (size_t i = 0; i < s->n_devices; i++)
		if (make_node(r, &s->devices[i], bind_host, err) < 0)
			return -1;
	return make_links(r, err);
}
