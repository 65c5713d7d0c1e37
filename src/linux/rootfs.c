#include "linux/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/rootless.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/devices.h"
#include "linux/mount.h"
#include "spec/spec.h"

static bool is_type(const struct hk_mount *m, const char *type)
{
	return m->type && strcmp(m->type, type) == 0;
}

/* The filesystem a mount must turn out to be: proc and sysfs, and the
 * binds of them at /proc and /sys (a rootless config binds the host's /sys:
 * still sysfs). 0: any. */
static unsigned long kernel_magic(const struct hk_mount *m)
{
	if (is_type(m, "proc") || (mount_is_bind(m) && strcmp(m->destination, "/proc") == 0))
		return PROC_SUPER_MAGIC;
	if (is_type(m, "sysfs") || (mount_is_bind(m) && strcmp(m->destination, "/sys") == 0))
		return SYSFS_MAGIC;
	return 0;
}

/* proc, sysfs and whatever is mounted on /proc, /sys or /dev land on the
 * directory of that name without any symlink followed, and are checked to
 * be there once the root is in place (rootfs_finish). */
static bool strict_mount(const struct hk_mount *m)
{
	return kernel_magic(m) || strcmp(m->destination, "/proc") == 0 ||
	       strcmp(m->destination, "/sys") == 0 || strcmp(m->destination, "/dev") == 0;
}

/* The files of procfs a bind may cover: what lxcfs emulates (runc's list,
 * kept the same so that engines see the same refusals). */
static bool lxcfs_file(const char *dest)
{
	static const char *const files[] = {
		"/proc/cpuinfo",  "/proc/diskstats",
		"/proc/loadavg",  "/proc/meminfo",
		"/proc/slabinfo", "/proc/stat",
		"/proc/swaps",    "/proc/uptime",
		"/proc/net/dev",  "/proc/sys/kernel/ns_last_pid",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(dest, files[i]) == 0)
			return true;
	return false;
}

/* A bind named inside /proc (not /proc itself) is refused unless lxcfs's:
 * a bind over /proc/self/attr or /proc/sys disables an LSM or a mask
 * (CVE-2019-16884), as runc refuses it. */
static int check_proc_name(const struct hk_mount *m, struct hk_err *err)
{
	if (!mount_is_bind(m) || !rootfs_holds("/proc", m->destination) ||
	    strcmp(m->destination, "/proc") == 0 || lxcfs_file(m->destination))
		return 0;
	return hk_fail(err, EPERM,
		       "%s is inside /proc: only proc itself and the files lxcfs emulates "
		       "(/proc/cpuinfo, /proc/meminfo, ...) may be bind mounted there",
		       m->destination);
}

/* Where the destination turned out to be: procfs or sysfs only when the
 * config names /proc or /sys itself, never because a symbolic link of the
 * rootfs led there (a volume over /proc/sys or /sys/fs/cgroup by way of an
 * image's link; runc 1.1 refuses the /proc case for binds only). */
static int check_landing(const struct hk_mount *m, int destfd, struct hk_err *err)
{
	struct statfs sfs;

	if (fstatfs(destfd, &sfs) < 0)
		return hk_fail(err, errno, "fstatfs");
	if ((unsigned long)sfs.f_type == PROC_SUPER_MAGIC && !rootfs_holds("/proc", m->destination))
		return hk_fail(err, EPERM,
			       "%s leads inside /proc (through a symbolic link of the rootfs)",
			       m->destination);
	if ((unsigned long)sfs.f_type == SYSFS_MAGIC && !rootfs_holds("/sys", m->destination))
		return hk_fail(err, EPERM,
			       "%s leads inside /sys (through a symbolic link of the rootfs)",
			       m->destination);
	return 0;
}

/* The destination of a mount: a file for a bind of a file, else a
 * directory. The source is the tree husk opened (src), if it did. */
static int open_destination(const struct hk_rootfs *r, const struct hk_mount *m, int src,
			    struct hk_err *err)
{
	struct stat st;
	enum hk_rootfs_want want = HK_WANT_DIR;

	if (mount_is_bind(m) && m->source &&
	    (src >= 0 ? fstat(src, &st) : stat(m->source, &st)) == 0 && !S_ISDIR(st.st_mode))
		want = HK_WANT_FILE;
	return rootfs_resolve(r, m->destination, want, strict_mount(m), err);
}

/* v1: a tmpfs with one directory per hierarchy, each a bind of the
 * container's cgroup there; the tmpfs itself gets the mount's read-only
 * flag once the binds are in place. */
static int mount_cgroup_tree(const struct hk_rootfs_ctx *ctx, int destfd,
			     const struct hk_mount_opts *o, struct hk_err *err)
{
	char *data[] = {(char *)(uintptr_t) "mode=755"};
	struct hk_mount_opts tmpfs = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
		.data = data,
		.n_data = 1,
	};

	_cleanup_close_ int top = mount_fs_at("tmpfs", "cgroup", destfd, &tmpfs, err);
	if (top < 0)
		return -1;
	/* The directories are made in the new tmpfs itself (top), which no
	 * one but us can reach yet. */
	for (size_t i = 0; i < ctx->n_cg_mounts; i++) {
		_cleanup_close_ int fd = rootfs_mkdir_beneath(top, ctx->cg_mounts[i].name, err);
		if (fd < 0)
			return -1;
		_cleanup_close_ int mnt = mount_bind_at(ctx->cg_mounts[i].host_dir, fd, o, err);
		if (mnt < 0)
			return -1;
	}
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	if ((o->attr_set & MOUNT_ATTR_RDONLY) && hk_mount_setattr(top, "", AT_EMPTY_PATH, &ro) < 0)
		return hk_fail(err, errno, "make the tmpfs read-only");
	return TAKE_FD(top);
}

/* A "cgroup" mount shows the container's own cgroup of each hierarchy (v1),
 * or of the unified one (v2, bound directly). */
static int mount_cgroup(const struct hk_rootfs_ctx *ctx, const struct hk_mount *m, int destfd,
			struct hk_err *err)
{
	struct hk_mount_opts o = m->opts; /* changed below: a copy */
	int r;

	o.rbind = false;
	/* CVE-2023-25809: without a cgroup namespace of its own the container
	 * must not write cgroupfs, whatever the options say. */
	if (!spec_ns(ctx->spec, HK_NS_CGROUP)) {
		o.attr_set |= MOUNT_ATTR_RDONLY;
		o.attr_clr &= ~(unsigned)MOUNT_ATTR_RDONLY;
	}
	if (ctx->n_cg_mounts == 0) {
		/* No cgroup of its own (an unprivileged user without a
		 * delegated one): the host's hierarchy, read-only whatever the
		 * options say, so that nothing in it can be changed from here. */
		o.rbind = true;
		o.attr_set |= MOUNT_ATTR_RDONLY;
		o.attr_clr &= ~(unsigned)MOUNT_ATTR_RDONLY;
		o.recursive_attr = true;
		r = mount_bind_at("/sys/fs/cgroup", destfd, &o, err);
	} else if (ctx->n_cg_mounts == 1 && !ctx->cg_mounts[0].name[0])
		r = mount_bind_at(ctx->cg_mounts[0].host_dir, destfd, &o, err);
	else
		r = mount_cgroup_tree(ctx, destfd, &o, err);
	return r < 0 ? hk_err_prefix(err, "mount cgroup on %s", m->destination) : r;
}

/* What to change when the kernel refuses a mount to a user namespace. */
static int refusal_hint(const struct hk_spec *s, const struct hk_mount *m, struct hk_err *err)
{
	const struct hk_namespace *net = spec_ns(s, HK_NS_NET);
	size_t len = strlen(err->msg);
	const char *hint = NULL;

	if (err->errnum != EPERM || (!spec_ns(s, HK_NS_USER) && !hk_rootless()))
		return -1;
	if (is_type(m, "sysfs") && (!net || net->path))
		hint = " (in a user namespace sysfs needs a new network namespace; or bind /sys "
		       "with rbind as `husk spec --rootless` does)";
	else if (is_type(m, "proc"))
		hint = " (in a user namespace proc needs a new pid namespace)";
	else if (is_type(m, "mqueue"))
		hint = " (in a user namespace mqueue needs a new ipc namespace)";
	else if (!mount_is_bind(m))
		hint = " (this filesystem cannot be mounted in a user namespace; bind it instead)";
	if (hint)
		snprintf(err->msg + len, sizeof(err->msg) - len, "%s", hint);
	return -1;
}

static int mount_it(const struct hk_rootfs_ctx *ctx, const struct hk_mount *m, int destfd,
		    const char *mode, int *src, struct hk_err *err)
{
	if (*src >= 0) {
		if (mount_tree_at(*src, m, destfd, err) < 0)
			return hk_err_prefix(err, "mount bind on %s", m->destination);
		return TAKE_FD(*src);
	}
	if (is_type(m, "cgroup") || is_type(m, "cgroup2")) {
		if (ctx->before_cgroup_mount && ctx->before_cgroup_mount(ctx->data, err) < 0)
			return -1;
		return mount_cgroup(ctx, m, destfd, err);
	}
	if (!mount_is_bind(m) && (!m->type || !*m->type || is_type(m, "none")))
		return hk_fail(err, 0, "mount %s: no type and not a bind mount", m->destination);
	/* a tmpcopyup's copy is memory the container's cgroup pays for */
	if (m->opts.tmpcopyup && ctx->before_cgroup_mount &&
	    ctx->before_cgroup_mount(ctx->data, err) < 0)
		return -1;
	/* linux.mountLabel (SELinux): the filesystems husk makes get it as
	 * their context; proc, sysfs and cgroups have their own labelling. */
	_cleanup_free_ char *context = NULL;
	const char *extra[2];
	size_t n = 0;
	if (ctx->spec->mount_label && !is_type(m, "proc") && !is_type(m, "sysfs"))
		extra[n++] = context = xasprintf("context=\"%s\"", ctx->spec->mount_label);
	if (*mode)
		extra[n++] = mode;
	int fd = mount_at_data(m, destfd, extra, n, err);
	if (fd < 0) {
		hk_err_prefix(err, "mount %s on %s", m->type ? m->type : "bind", m->destination);
		return refusal_hint(ctx->spec, m, err);
	}
	return fd;
}

/* A tmpfs without mode= takes the mode of the directory it covers, when
 * there was one (runc since 1.1.8 and crun pass it as mode=; before, runc
 * chmod'ed the tmpfs after the mount); one husk makes stays tmpfs's 1777.
 * mode= given wins. */
static void tmpfs_mode(const struct hk_rootfs *r, const struct hk_mount *m, char out[16])
{
	mode_t mode;

	out[0] = '\0';
	if (!is_type(m, "tmpfs"))
		return;
	for (size_t i = 0; i < m->n_options; i++)
		if (strncmp(m->options[i], "mode=", 5) == 0)
			return;
	if (rootfs_dir_mode(r, m->destination, strict_mount(m), &mode))
		snprintf(out, 16, "mode=%04o", (unsigned)mode);
}

/* Mount i is made on the very fd its destination resolved to, and its own
 * root kept in r for the paths below it. */
static int mount_one(const struct hk_rootfs_ctx *ctx, struct hk_rootfs *r, size_t i,
		     struct hk_err *err)
{
	const struct hk_mount *m = &r->mounts[i];
	int none = -1, *src = r->srcs ? &r->srcs[i] : &none;
	char mode[16];

	if (check_proc_name(m, err) < 0)
		return -1;
	tmpfs_mode(r, m, mode);
	_cleanup_close_ int destfd = open_destination(r, m, *src, err);
	if (destfd < 0)
		return hk_err_prefix(err, "mount %s", m->destination);
	if (check_landing(m, destfd, err) < 0)
		return hk_err_prefix(err, "mount %s", m->destination);
	int fd = mount_it(ctx, m, destfd, mode, src, err);
	if (fd < 0)
		return -1;
	r->mnts[i] = fd;
	r->n_made = i + 1;
	return 0;
}

static bool dev_is_bound(const struct hk_rootfs *r)
{
	for (size_t i = 0; i < r->n_mounts; i++)
		if (strcmp(r->mounts[i].destination, "/dev") == 0 && mount_is_bind(&r->mounts[i]))
			return true;
	return false;
}

/* Make the host's mounts slaves of ours (so nothing we do propagates back),
 * and the root a mount point of its own, as pivot_root requires. */
static int prepare_root(const struct hk_spec *s, struct hk_err *err)
{
	unsigned long prop = MS_SLAVE | MS_REC;
	if (s->rootfs_propagation & (MS_PRIVATE | MS_UNBINDABLE))
		prop = MS_PRIVATE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return hk_fail(err, errno, "make / a %s mount",
			       prop & MS_SLAVE ? "slave" : "private");
	if (mount(s->root_path, s->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return hk_fail(err, errno, "bind %s onto itself", s->root_path);
	return 0;
}

static int do_pivot(const struct hk_rootfs_ctx *ctx, int rootfd, struct hk_err *err)
{
	if (fchdir(rootfd) < 0)
		return hk_fail(err, errno, "chdir to the container's root");
	/* No pivot_root of a mount namespace shared with the host: a chroot,
	 * as runc does. */
	if (!spec_ns(ctx->spec, HK_NS_MNT)) {
		if (chroot(".") < 0)
			return hk_fail(err, errno, "chroot into the container's root");
		return chdir("/") < 0 ? hk_fail(err, errno, "chdir /") : 0;
	}
	if (ctx->no_pivot) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return hk_fail(err, errno, "move the root onto / (--no-pivot)");
		if (chroot(".") < 0)
			return hk_fail(err, errno, "chroot (--no-pivot)");
		return chdir("/") < 0 ? hk_fail(err, errno, "chdir /") : 0;
	}
	/* pivot_root(".", ".") stacks the old root on the new one (pivot_root(2)).
	 * "." still names the new root until we step onto the old one: only
	 * then do MS_SLAVE and the detach reach the old root and not ours. */
	_cleanup_close_ int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		return hk_fail(err, errno, "open the old root");
	if (hk_pivot_root(".", ".") < 0)
		return hk_fail(err, errno, "pivot_root");
	if (fchdir(oldroot) < 0)
		return hk_fail(err, errno, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return hk_fail(err, errno, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return hk_fail(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return hk_fail(err, errno, "chdir /");
	if (ctx->spec->rootfs_propagation &&
	    mount(NULL, "/", NULL, ctx->spec->rootfs_propagation, NULL) < 0)
		return hk_fail(err, errno, "set linux.rootfsPropagation on /");
	return 0;
}

int rootfs_mount_all(const struct hk_rootfs_ctx *ctx, struct hk_rootfs *r, struct hk_err *err)
{
	const struct hk_spec *s = ctx->spec;

	*r = (struct hk_rootfs){
		.spec = s, .mounts = ctx->mounts, .n_mounts = ctx->n_mounts, .root = -1};
	/* Without a mount namespace of its own the container shares husk's:
	 * nothing is mounted (spec/ refused what would be), it is only
	 * chrooted (do_pivot). */
	if (spec_ns(s, HK_NS_MNT) && prepare_root(s, err) < 0)
		return -1;
	r->root = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->root < 0)
		return hk_fail(err, errno, "open root %s", s->root_path);
	if (!spec_ns(s, HK_NS_MNT))
		return 0;
	r->mnts = xcalloc(r->n_mounts ? r->n_mounts : 1, sizeof(*r->mnts));
	r->srcs = xcalloc(r->n_mounts ? r->n_mounts : 1, sizeof(*r->srcs));
	for (size_t i = 0; i < r->n_mounts; i++)
		r->mnts[i] = r->srcs[i] = -1;
	if (ctx->open_sources && ctx->open_sources(ctx->data, r->srcs, err) < 0) {
		rootfs_release(r);
		return -1;
	}
	for (size_t i = 0; i < r->n_mounts; i++) {
		if (mount_one(ctx, r, i, err) < 0) {
			rootfs_release(r);
			return -1;
		}
	}
	/* A /dev bound from elsewhere is left as it is, as runc does: the
	 * nodes husk makes (and the ones it replaces) would be the bound
	 * directory's, on the host. */
	/* Nodes are bound from the host wherever mknod is refused: in a user
	 * namespace of the container's, or in one husk itself runs in (a
	 * rootless engine's, as runc decides it), or for an ordinary user. */
	bool in_userns = spec_ns(s, HK_NS_USER) || hk_rootless();
	if (!dev_is_bound(r) && devices_setup(r, in_userns, err) < 0) {
		rootfs_release(r);
		return -1;
	}
	return 0;
}

int rootfs_pivot(const struct hk_rootfs_ctx *ctx, const struct hk_rootfs *r, struct hk_err *err)
{
	return do_pivot(ctx, r->root, err);
}

/* 1: a and b are the root of one mount, 0: not, -1: statx failed. Without
 * STATX_MNT_ID (Linux < 5.8): the root of one filesystem, as two mounts of
 * it cannot be told apart there. */
static int same_mount(int a, int b)
{
	struct statx sa, sb;

	if (statx(a, "", AT_EMPTY_PATH, STATX_MNT_ID, &sa) < 0 ||
	    statx(b, "", AT_EMPTY_PATH, STATX_MNT_ID, &sb) < 0)
		return -1;
	if (sa.stx_mask & sb.stx_mask & STATX_MNT_ID)
		return sa.stx_mnt_id == sb.stx_mnt_id;
	return sa.stx_dev_major == sb.stx_dev_major && sa.stx_dev_minor == sb.stx_dev_minor &&
	       sa.stx_ino == sb.stx_ino;
}

/* Mount i, if later mounts leave it in sight, must be where its
 * destination leads now, without a symlink: a co-container that swapped a
 * directory of a shared rootfs while it was mounted has it land elsewhere
 * (issue 23). And proc and sysfs must be what they say. */
static int check_mount(const struct hk_rootfs *r, size_t i, struct hk_err *err)
{
	const struct hk_mount *m = &r->mounts[i];
	unsigned long magic = kernel_magic(m);
	struct statfs sfs;

	for (size_t k = i + 1; k < r->n_made; k++)
		if (rootfs_holds(r->mounts[k].destination, m->destination))
			return 0;
	_cleanup_close_ int fd = rootfs_resolve_strict(r->root, m->destination, err);
	if (fd < 0)
		return hk_err_prefix(err, "mount %s, checked in the new root", m->destination);
	int same = same_mount(r->mnts[i], fd);
	if (same < 0)
		return hk_fail(err, errno, "mount %s: statx", m->destination);
	if (!same)
		return hk_fail(err, 0,
			       "%s is not the mount husk made there (was the rootfs changed "
			       "while it was mounted?)",
			       m->destination);
	if (magic && (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != magic))
		return hk_fail(err, 0, "%s is not %s", m->destination,
			       magic == PROC_SUPER_MAGIC ? "procfs" : "sysfs");
	return 0;
}

/* Hide a path: /dev/null over a file, an empty read-only tmpfs over a
 * directory. Paths that do not exist are fine (config.md maskedPaths).
 * The path is resolved beneath the mount holding it (the /proc or /sys
 * checked above), not from the root, so that whatever /proc leads to by
 * now, the procfs made for it is the one masked. */
static int mask_path(const struct hk_rootfs *r, const char *path, struct hk_err *err)
{
	_cleanup_close_ int fd = rootfs_resolve(r, path, HK_WANT_EXISTING, false, err);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : hk_err_prefix(err, "maskedPaths");
	if (fstat(fd, &st) < 0)
		return hk_fail(err, errno, "maskedPaths: stat %s", path);
	struct hk_mount_opts o = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	if (S_ISDIR(st.st_mode)) {
		char *data[] = {(char *)(uintptr_t) "size=0", (char *)(uintptr_t) "mode=555"};
		o.data = data;
		o.n_data = 2;
		_cleanup_close_ int mnt = mount_fs_at("tmpfs", "tmpfs", fd, &o, err);
		return mnt < 0 ? hk_err_prefix(err, "maskedPaths: %s", path) : 0;
	}
	/* CVE-2025-31133: the /dev/null bound over a masked file is checked to
	 * be the null device on the very fd that is bound, never taken by a
	 * path that could have been swapped for a link to something else. */
	_cleanup_close_ int null = rootfs_resolve(r, "/dev/null", HK_WANT_EXISTING, true, err);
	struct stat ns;
	if (null < 0 || fstat(null, &ns) < 0)
		return hk_err_prefix(err, "maskedPaths: %s", path);
	if (!S_ISCHR(ns.st_mode) || major(ns.st_rdev) != 1 || minor(ns.st_rdev) != 3)
		return hk_fail(err, 0, "maskedPaths: /dev/null is not the null device (1:3)");
	/* A masked file reads as empty and takes writes, as with runc: the
	 * bind of the null device must allow devices (no nodev); read-only
	 * still keeps its node's mode and owner from being changed. */
	o.attr_set &= ~(unsigned)MOUNT_ATTR_NODEV;
	_cleanup_close_ int mnt = mount_bind_fd(null, "/dev/null", fd, &o, err);
	return mnt < 0 ? hk_err_prefix(err, "maskedPaths: %s", path) : 0;
}

/* Bind a path onto itself read-only, keeping nosuid/nodev/noexec; resolved
 * as masked paths are. */
static int readonly_path(const struct hk_rootfs *r, const char *path, struct hk_err *err)
{
	_cleanup_close_ int fd = rootfs_resolve(r, path, HK_WANT_EXISTING, false, err);

	if (fd < 0)
		return errno == ENOENT ? 0 : hk_err_prefix(err, "readonlyPaths");
	_cleanup_close_ int tree = hk_open_tree(
		fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (tree < 0)
		return hk_fail(err, errno, "readonlyPaths: clone %s", path);
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	if (hk_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
		return hk_fail(err, errno, "readonlyPaths: make %s read-only", path);
	if (hk_move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hk_fail(err, errno, "readonlyPaths: mount over %s", path);
	return 0;
}

static int finish(struct hk_rootfs *r, struct hk_err *err)
{
	const struct hk_spec *s = r->spec;

	for (size_t i = 0; i < r->n_made; i++)
		if (strict_mount(&r->mounts[i]) && check_mount(r, i, err) < 0)
			return -1;
	for (size_t i = 0; i < s->n_readonly_paths; i++)
		if (readonly_path(r, s->readonly_paths[i], err) < 0)
			return -1;
	for (size_t i = 0; i < s->n_masked_paths; i++)
		if (mask_path(r, s->masked_paths[i], err) < 0)
			return -1;
	if (s->root_readonly) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		if (hk_mount_setattr(r->root, "", AT_EMPTY_PATH, &attr) < 0)
			return hk_fail(err, errno, "make the root read-only");
	}
	return 0;
}

int rootfs_finish(struct hk_rootfs *r, struct hk_err *err)
{
	/* From here on the root is "/" (after pivot_root or chroot). */
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		rootfs_release(r);
		return hk_fail(err, errno, "open /");
	}
	hk_closep(&r->root);
	r->root = root;
	int rc = finish(r, err);
	rootfs_release(r);
	return rc;
}
