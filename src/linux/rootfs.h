/* The container's root filesystem: safe resolution of paths inside it (it may
 * be hostile), the mounts of config.json, pivot_root, and the finishing
 * touches (read-only root, masked and read-only paths). */
#ifndef HUSK_LINUX_ROOTFS_H
#define HUSK_LINUX_ROOTFS_H

#include <stdbool.h>
#include <sys/types.h>

struct hk_err;
struct hk_spec;

/* A cgroup hierarchy to show at a "cgroup" mount: name (e.g. "memory", or
 * "" for a v2-only host) and the host directory of the container's cgroup. */
struct hk_cg_mount {
	const char *name;
	const char *host_dir;
};

struct hk_rootfs_ctx {
	const struct hk_spec *spec;
	const struct hk_cg_mount *cg_mounts;
	size_t n_cg_mounts;
	bool no_pivot;
	/* Called before the first cgroup mount (the container's cgroups must
	 * exist by then); may be NULL. */
	int (*before_cgroup_mount)(void *data, struct hk_err *err);
	void *data;
};

/* openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) of path below rootfd. */
int rootfs_open(int rootfd, const char *path, int flags, struct hk_err *err);
/* Create path (and its parents) as a directory inside the root; returns an
 * O_PATH fd to it. Symlinks are resolved inside the root, never out of it. */
int rootfs_mkdir_p(int rootfd, const char *path, mode_t mode, struct hk_err *err);
/* Create path as an empty file (parents as directories) unless it exists;
 * returns an O_PATH fd to it. */
int rootfs_mkfile(int rootfd, const char *path, struct hk_err *err);

/* Everything from "make / a slave" to /dev, in the container's mount
 * namespace; returns an O_PATH fd of the root for rootfs_pivot. */
int rootfs_mount_all(const struct hk_rootfs_ctx *ctx, struct hk_err *err);
/* pivot_root into rootfd (closed by the caller); ends with cwd at "/". */
int rootfs_pivot(const struct hk_rootfs_ctx *ctx, int rootfd, struct hk_err *err);
/* After pivot_root: masked paths, read-only paths, read-only root. */
int rootfs_finish(const struct hk_spec *spec, struct hk_err *err);

#endif
