/* The container's root filesystem: the mounts of config.json, pivot_root,
 * and the finishing touches (read-only root, masked and read-only paths).
 * Paths inside it (it may be hostile) are resolved by rootfs-path.h. */
#ifndef HUSK_LINUX_ROOTFS_H
#define HUSK_LINUX_ROOTFS_H

#include <stdbool.h>
#include <sys/types.h>

#include "linux/rootfs-path.h"

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
	/* The mounts to make, in order: the spec's, then husk's own (struct
	 * hk_derived); what spec->mounts says is not read. */
	const struct hk_mount *mounts;
	size_t n_mounts;
	const struct hk_cg_mount *cg_mounts;
	size_t n_cg_mounts;
	bool no_pivot;
	/* Called before the first cgroup mount (the container's cgroups must
	 * exist by then) and before a tmpcopyup's copy (memory the container's
	 * cgroup must be charged for); may be NULL, called more than once. */
	int (*before_cgroup_mount)(void *data, struct hk_err *err);
	/* When not NULL: gets the trees of the bind mounts whose sources husk
	 * opens on the host's side (runtime/mountsrc.h), fds[i] for mount i
	 * (-1: none), once the mount namespace is prepared. */
	int (*open_sources)(void *data, int *fds, struct hk_err *err);
	void *data;
};

/* Everything from "make / a slave" to /dev, in the container's mount
 * namespace; fills *out (rootfs_release it, or hand it to rootfs_finish). */
int rootfs_mount_all(const struct hk_rootfs_ctx *ctx, struct hk_rootfs *out, struct hk_err *err);
/* pivot_root into r's root; ends with cwd at "/". */
int rootfs_pivot(const struct hk_rootfs_ctx *ctx, const struct hk_rootfs *r, struct hk_err *err);
/* After pivot_root: checks that /proc, /sys and /dev are the mounts made
 * for them, then read-only paths, masked paths and the read-only root;
 * releases r. */
int rootfs_finish(struct hk_rootfs *r, struct hk_err *err);

#endif
