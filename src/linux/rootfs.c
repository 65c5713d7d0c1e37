#include "linux/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/devices.h"
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

int rootfs_mkfile(int rootfd, const char *path, struct hk_err *err)
{
	int fd = rootfs_open(rootfd, path, O_PATH, NULL);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : hk_fail(err, errno, "open %s in the container's root", path);

	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : dir;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd = rootfs_mkdir_p(rootfd, slash ? dir : "/", 0755, err);
	if (dfd < 0)
		return -1;
	int f = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f < 0 && errno != EEXIST)
		return hk_fail(err, errno, "create %s in the container's root", path);
	if (f >= 0)
		close(f);
	return rootfs_open(rootfd, path, O_PATH, err);
}

static bool is_type(const struct hk_mount *m, const char *type)
{
	return m->type && strcmp(m->type, type) == 0;
}

/* The destination of a mount: a file for a bind of a file, else a
 * directory. proc and sysfs must land on a real directory, not a symlink
 * (a rootfs that makes /proc a symlink to somewhere else is refused). */
static int open_destination(int rootfd, const struct hk_mount *m, struct hk_err *err)
{
	struct stat st;

	if (mount_is_bind(m) && m->source && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode))
		return rootfs_mkfile(rootfd, m->destination, err);
	int fd = rootfs_mkdir_p(rootfd, m->destination, 0755, err);
	if (fd >= 0 && (is_type(m, "proc") || is_type(m, "sysfs"))) {
		struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_DIRECTORY,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS};
		int strict = hk_openat2(rootfd, m->destination + 1, &how);
		if (strict < 0) {
			close(fd);
			return hk_fail(err, errno, "%s must not be reached through a symlink",
				       m->destination);
		}
		close(strict);
	}
	return fd;
}

/* v1: a tmpfs with one directory per hierarchy, each a bind of the
 * container's cgroup there; the tmpfs itself gets the mount's read-only
 * flag once the binds are in place. */
static int mount_cgroup_tree(const struct hk_rootfs_ctx *ctx, int rootfd, const struct hk_mount *m,
			     int destfd, const struct hk_mount_opts *o, struct hk_err *err)
{
	char *data[] = {(char *)(uintptr_t) "mode=755"};
	struct hk_mount_opts tmpfs = {
		.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
		.data = data,
		.n_data = 1,
	};

	if (mount_fs_at("tmpfs", "cgroup", destfd, &tmpfs, err) < 0)
		return -1;
	/* destfd still names the directory under the new tmpfs: resolve again. */
	for (size_t i = 0; i < ctx->n_cg_mounts; i++) {
		_cleanup_free_ char *sub =
			xasprintf("%s/%s", m->destination, ctx->cg_mounts[i].name);
		_cleanup_close_ int fd = rootfs_mkdir_p(rootfd, sub, 0755, err);
		if (fd < 0 || mount_bind_at(ctx->cg_mounts[i].host_dir, fd, o, err) < 0)
			return -1;
	}
	if (!(o->attr_set & MOUNT_ATTR_RDONLY))
		return 0;
	_cleanup_close_ int top = rootfs_open(rootfd, m->destination, O_PATH | O_DIRECTORY, err);
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	if (top < 0 || hk_mount_setattr(top, "", AT_EMPTY_PATH, &ro) < 0)
		return top < 0 ? -1 : hk_fail(err, errno, "make the tmpfs read-only");
	return 0;
}

/* A "cgroup" mount shows the container's own cgroup of each hierarchy (v1),
 * or of the unified one (v2, bound directly). */
static int mount_cgroup(const struct hk_rootfs_ctx *ctx, int rootfd, const struct hk_mount *m,
			int destfd, struct hk_err *err)
{
	struct hk_mount_opts o;
	int r;

	if (mount_parse_options(m->options, m->n_options, &o, err) < 0)
		return -1;
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
		r = mount_cgroup_tree(ctx, rootfd, m, destfd, &o, err);
	mount_opts_free(&o);
	return r < 0 ? hk_err_prefix(err, "mount cgroup on %s", m->destination) : 0;
}

/* What to change when the kernel refuses a mount to a user namespace. */
static int refusal_hint(const struct hk_spec *s, const struct hk_mount *m, struct hk_err *err)
{
	const struct hk_namespace *net = spec_ns(s, HK_NS_NET);
	size_t len = strlen(err->msg);
	const char *hint = NULL;

	if (err->errnum != EPERM || (!spec_ns(s, HK_NS_USER) && geteuid() == 0))
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

static int mount_one(const struct hk_rootfs_ctx *ctx, int rootfd, const struct hk_mount *m,
		     struct hk_err *err)
{
	_cleanup_close_ int destfd = open_destination(rootfd, m, err);

	if (destfd < 0)
		return hk_err_prefix(err, "mount %s", m->destination);
	if (is_type(m, "cgroup") || is_type(m, "cgroup2")) {
		if (ctx->before_cgroup_mount && ctx->before_cgroup_mount(ctx->data, err) < 0)
			return -1;
		return mount_cgroup(ctx, rootfd, m, destfd, err);
	}
	if (!mount_is_bind(m) && (!m->type || !*m->type || is_type(m, "none")))
		return hk_fail(err, 0, "mount %s: no type and not a bind mount", m->destination);
	/* linux.mountLabel (SELinux): the filesystems husk makes get it as
	 * their context; proc, sysfs and cgroups have their own labelling. */
	_cleanup_free_ char *context = NULL;
	if (ctx->spec->mount_label && !is_type(m, "proc") && !is_type(m, "sysfs"))
		context = xasprintf("context=\"%s\"", ctx->spec->mount_label);
	if (mount_at_data(m, destfd, context, err) < 0) {
		hk_err_prefix(err, "mount %s on %s", m->type ? m->type : "bind", m->destination);
		return refusal_hint(ctx->spec, m, err);
	}
	return 0;
}

static bool dev_is_bound(const struct hk_spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, "/dev") == 0 && mount_is_bind(&s->mounts[i]))
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

int rootfs_mount_all(const struct hk_rootfs_ctx *ctx, struct hk_err *err)
{
	const struct hk_spec *s = ctx->spec;

	if (prepare_root(s, err) < 0)
		return -1;
	int rootfd = open(s->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return hk_fail(err, errno, "open root %s", s->root_path);
	for (size_t i = 0; i < s->n_mounts; i++) {
		if (mount_one(ctx, rootfd, &s->mounts[i], err) < 0) {
			close(rootfd);
			return -1;
		}
	}
	bool in_userns = spec_ns(s, HK_NS_USER) || geteuid() != 0;
	if (devices_setup(rootfd, s, !dev_is_bound(s), in_userns, err) < 0) {
		close(rootfd);
		return -1;
	}
	return rootfd;
}

int rootfs_pivot(const struct hk_rootfs_ctx *ctx, int rootfd, struct hk_err *err)
{
	return do_pivot(ctx, rootfd, err);
}

/* Hide a path: /dev/null over a file, an empty read-only tmpfs over a
 * directory. Paths that do not exist are fine (config.md maskedPaths). */
static int mask_path(int rootfd, const char *path, struct hk_err *err)
{
	_cleanup_close_ int fd = rootfs_open(rootfd, path, O_PATH | O_NOFOLLOW, NULL);
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "maskedPaths: open %s", path);
	if (fstat(fd, &st) < 0)
		return hk_fail(err, errno, "maskedPaths: stat %s", path);
	struct hk_mount_opts o = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	if (S_ISDIR(st.st_mode)) {
		char *data[] = {(char *)(uintptr_t) "size=0", (char *)(uintptr_t) "mode=555"};
		o.data = data;
		o.n_data = 2;
		if (mount_fs_at("tmpfs", "tmpfs", fd, &o, err) < 0)
			return hk_err_prefix(err, "maskedPaths: %s", path);
		return 0;
	}
	/* CVE-2025-31133: the /dev/null bound over a masked file is checked to
	 * be the null device on the very fd that is bound, never taken by a
	 * path that could have been swapped for a link to something else. */
	_cleanup_close_ int null = rootfs_open(rootfd, "/dev/null", O_PATH | O_NOFOLLOW, err);
	struct stat ns;
	if (null < 0 || fstat(null, &ns) < 0)
		return hk_err_prefix(err, "maskedPaths: %s", path);
	if (!S_ISCHR(ns.st_mode) || major(ns.st_rdev) != 1 || minor(ns.st_rdev) != 3)
		return hk_fail(err, 0, "maskedPaths: /dev/null is not the null device (1:3)");
	if (mount_bind_fd(null, "/dev/null", fd, &o, err) < 0)
		return hk_err_prefix(err, "maskedPaths: %s", path);
	return 0;
}

/* Bind a path onto itself read-only, keeping nosuid/nodev/noexec. */
static int readonly_path(int rootfd, const char *path, struct hk_err *err)
{
	_cleanup_close_ int fd = rootfs_open(rootfd, path, O_PATH | O_NOFOLLOW, NULL);

	if (fd < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "readonlyPaths: open %s", path);
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

int rootfs_finish(const struct hk_spec *s, struct hk_err *err)
{
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return hk_fail(err, errno, "open /");
	for (size_t i = 0; i < s->n_readonly_paths; i++)
		if (readonly_path(rootfd, s->readonly_paths[i], err) < 0)
			return -1;
	for (size_t i = 0; i < s->n_masked_paths; i++)
		if (mask_path(rootfd, s->masked_paths[i], err) < 0)
			return -1;
	if (s->root_readonly) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		if (hk_mount_setattr(rootfd, "", AT_EMPTY_PATH, &attr) < 0)
			return hk_fail(err, errno, "make the root read-only");
	}
	return 0;
}
