/* Safe resolution of paths inside the container's root filesystem, which
 * may be hostile: openat2(RESOLVE_IN_ROOT), beneath the mounts made so far,
 * never through a symlink out. Used by the mount sequence (rootfs.h) and
 * by /dev's setup (devices.h). */
#ifndef HUSK_LINUX_ROOTFS_PATH_H
#define HUSK_LINUX_ROOTFS_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;
struct hk_spec;

/* What rootfs_mount_all made, kept until rootfs_finish: the root, and an
 * fd on the root of each mount of config.json. A path below a mount is
 * resolved beneath that fd, never again from the root, so that a
 * co-container swapping a directory of a shared rootfs for a symlink
 * cannot send it elsewhere between two lookups (issue 23). */
struct hk_rootfs {
	const struct hk_spec *spec;
	const struct hk_mount *mounts; /* the context's: the spec's, then husk's */
	size_t n_mounts;
	int root;      /* the container's root */
	int *mnts;     /* spec->mounts[i]'s root; -1: not made (yet) */
	int *srcs;     /* mount i's source tree, opened by husk; -1: none */
	size_t n_made; /* mounts made so far */
};

/* What rootfs_resolve opens. */
enum hk_rootfs_want {
	HK_WANT_DIR,      /* a directory, made with its parents when missing */
	HK_WANT_FILE,     /* a file (an empty one made when missing) */
	HK_WANT_EXISTING, /* whatever is there, a final symlink not followed */
};

/* Open path (clean, absolute) in the container: beneath the latest mount
 * made whose destination holds it, else beneath the root. No symlink is
 * followed at or below /proc, /sys or /dev (nor anywhere when strict),
 * except links a kernel filesystem or husk's own fresh ones hold that stay
 * beneath their mount; elsewhere a symlink on the way sends the lookup to
 * rootfs_mkdir_p / rootfs_mkfile / rootfs_open from the root, as before.
 * Returns an O_PATH fd; -1 with err and errno (ENOENT: nothing there). */
int rootfs_resolve(const struct hk_rootfs *r, const char *path, enum hk_rootfs_want want,
		   bool strict, struct hk_err *err);
/* The mode of the directory at path, if there is one (looked up as
 * rootfs_resolve would, nothing made): what a tmpfs mounted there without
 * mode= takes, as with runc and crun. */
bool rootfs_dir_mode(const struct hk_rootfs *r, const char *path, bool strict, mode_t *mode);
/* path, resolved beneath rootfd without following any symlink: an O_PATH
 * fd of the directory there. */
int rootfs_resolve_strict(int rootfd, const char *path, struct hk_err *err);
/* rel (relative, clean) beneath dirfd, made with its parents when missing,
 * no symlink followed. */
int rootfs_mkdir_beneath(int dirfd, const char *rel, struct hk_err *err);
/* dest is path, or a directory above it (both clean and absolute). */
bool rootfs_holds(const char *dest, const char *path);
/* Close every fd of r. */
void rootfs_release(struct hk_rootfs *r);

/* openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) of path below rootfd. */
int rootfs_open(int rootfd, const char *path, int flags, struct hk_err *err);
/* Create path (and its parents) as a directory inside the root; returns an
 * O_PATH fd to it. Symlinks are resolved inside the root, never out of it. */
int rootfs_mkdir_p(int rootfd, const char *path, mode_t mode, struct hk_err *err);
/* Create path as an empty file (parents as directories) unless it exists;
 * returns an O_PATH fd to it. */
int rootfs_mkfile(int rootfd, const char *path, struct hk_err *err);

#endif
