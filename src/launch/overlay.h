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

/* Make DATA when missing, check that it is husk's user's alone (closing
 * it to others); returns its real path, malloc'd. */
char *overlay_data_dir(const char *data_dir, struct hk_err *err);
/* Make DATA/<id>, dir (it must not exist), with owner in dir/.owner. */
int overlay_make_dir(const char *dir, const char *id, const char *owner, struct hk_err *err);
/* Mount the overlay on dir/rootfs: lowers top first; no writable layer
 * when read_only. owner: who owns the writable layer's root (the
 * container's root user on the host), -1 to leave it root's. */
int overlay_mount(const char *dir, char *const *lowers, size_t n, bool read_only, uid_t owner,
		  gid_t group, struct hk_err *err);
/* Unmount dir/rootfs (when mounted) and, unless keep, remove dir; with
 * owner, only if dir/.owner holds it (an empty dir without goes too). */
int overlay_remove(const char *dir, bool keep, const char *owner, struct hk_err *err);

#endif
