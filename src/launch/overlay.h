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

/* Make DATA/<id> (it must not exist); returns its path, malloc'd. */
char *overlay_make_dir(const char *data_dir, const char *id, struct hk_err *err);
/* Mount the overlay on dir/rootfs: lowers top first; no writable layer
 * when read_only. owner: who owns the writable layer's root (the
 * container's root user on the host), -1 to leave it root's. */
int overlay_mount(const char *dir, char *const *lowers, size_t n, bool read_only, uid_t owner,
		  gid_t group, struct hk_err *err);
/* Unmount dir/rootfs (when mounted) and, unless keep, remove dir. */
int overlay_remove(const char *dir, bool keep, struct hk_err *err);

#endif
