/* One entry of config.json "mounts", done with the new mount API so that the
 * destination is always an fd resolved inside the root, never a path. */
#ifndef HUSK_LINUX_MOUNT_H
#define HUSK_LINUX_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "spec/spec.h" /* struct hk_mount, struct hk_mount_opts */

struct hk_err;

bool mount_is_bind(const struct hk_mount *m);

/* Each of the mounting functions below returns an fd on the root of the
 * mount it attached (O_PATH-like, for resolving paths beneath it or
 * checking where it is; the caller closes it), or -1 with err filled. */

/* Mount m onto the directory or file destfd (an O_PATH fd). */
int mount_at(const struct hk_mount *m, int destfd, struct hk_err *err);
/* The same with more filesystem options (SELinux's context=, a tmpfs's
 * mode=) for a filesystem mount; ignored for a bind. */
int mount_at_data(const struct hk_mount *m, int destfd, const char *const *extra, size_t n_extra,
		  struct hk_err *err);
/* Bind the host path src onto destfd with the given attributes. */
int mount_bind_at(const char *src, int destfd, const struct hk_mount_opts *o, struct hk_err *err);
/* Attach tree, a detached bind of m's source made elsewhere (open_tree
 * OPEN_TREE_CLONE), onto destfd with m's options; tree stays the caller's
 * and is the mount's root once attached. */
int mount_tree_at(int tree, const struct hk_mount *m, int destfd, struct hk_err *err);
/* The same with the source given as an fd (O_PATH is fine). */
int mount_bind_fd(int srcfd, const char *what, int destfd, const struct hk_mount_opts *o,
		  struct hk_err *err);
/* A fresh filesystem of type fstype onto destfd. */
int mount_fs_at(const char *fstype, const char *source, int destfd, const struct hk_mount_opts *o,
		struct hk_err *err);
/* Change propagation of the mount at destfd. */
int mount_propagation(int destfd, unsigned long flags, struct hk_err *err);

#endif
