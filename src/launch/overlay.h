/* A launched container's directory (DATA/<id>/): config.json for the
 * record, and the root filesystem: an overlayfs of the read-only source
 * (a rootfs directory or the image's layers) under a writable layer of the
 * container's own (upper/, work/), mounted on rootfs/. */
#ifndef HUSK_LAUNCH_OVERLAY_H
#define HUSK_LAUNCH_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;
struct overlay_trash;

/* Make DATA when missing, walked as --root is (common/trusted.h: no link
 * or directory on the way that anyone but root or husk's user controls),
 * check that it is husk's user's alone (closing it to others); returns
 * its path as the kernel names it, malloc'd. */
char *overlay_data_dir(const char *data_dir, struct hk_err *err);
/* Make DATA/<id>, dir (it must not exist), with owner in dir/.owner and
 * root (the state root's identity, overlay_root_id) beside it. 1 (and no
 * err) when dir exists. */
int overlay_make_dir(const char *dir, const char *owner, const char *root, struct hk_err *err);
/* dir exists: when it was made under the state root root (which has no
 * container of its name: the caller holds that name's state) and not kept
 * (--keep), it is what a cleanup that failed or was killed left: removed,
 * 1. 0 when it is another's (a container of another --root sharing DATA)
 * or kept. */
int overlay_reclaim(const char *dir, const char *root, struct hk_err *err);
/* The identity of the state root (its fd): "dev:ino", malloc'd. */
char *overlay_root_id(int rootfd);
/* Mount the overlay on dir/rootfs: lowers (open directories), top first;
 * no writable layer when read_only. owner: who owns the writable layer's
 * root (the container's root user on the host), -1 to leave it root's.
 * The layers are handed to overlayfs as those fds (fsconfig
 * FSCONFIG_SET_FD, Linux 6.13; before, /proc/self/fd/N), never as paths
 * looked up again. */
int overlay_mount(const char *dir, const int *lowers, size_t n, bool read_only, uid_t owner,
		  gid_t group, struct hk_err *err);
/* Unmount dir/rootfs (when mounted) and, unless keep, remove dir; with
 * owner, only if dir/.owner holds it (an empty dir without goes too).
 * dir is first renamed into DATA/.trash, so that its name is free at once
 * whatever happens to the removal; what earlier removals left there goes
 * too. */
int overlay_remove(const char *dir, bool keep, const char *owner, struct overlay_trash *later,
		   struct hk_err *err);
/* What overlay_remove left for later: with `later`, dir is renamed into
 * DATA/.trash and no more; its files are removed by overlay_trash_empty,
 * which a caller can run off its critical path. parent is -1 when nothing
 * was left (kept, another's, or removed in place). entry keeps the entry
 * locked (the lock overlay_remove took) until it is removed: another
 * cleanup's sweep of .trash leaves it alone meanwhile, however long the
 * after-care takes to come to it (outside attack, twelfth round, F1). */
struct overlay_trash {
	int parent;    /* DATA, open */
	int entry;     /* the entry, open and locked; -1: not held */
	char name[64]; /* .trash/<random> */
};
#define OVERLAY_TRASH_INIT                \
	{                                 \
		.parent = -1, .entry = -1 \
	}
/* Remove what was left (t->name must be .trash/ and hex digits), then,
 * unless another emptier is at work (the lock of .trash), whatever else is
 * in .trash; never waits for another emptier. Closes t->parent. */
int overlay_trash_empty(struct overlay_trash *t, struct hk_err *err);
void overlay_trash_clear(struct overlay_trash *t);

#endif
