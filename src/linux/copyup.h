/* The "tmpcopyup" mount option (runc's and crun's extension, which podman
 * uses for --tmpfs and --read-only): a new tmpfs starts with a copy of what
 * the directory under it held. */
#ifndef HUSK_LINUX_COPYUP_H
#define HUSK_LINUX_COPYUP_H

struct hk_err;

/* Copy the tree of directory src (any fd, O_PATH is fine) into directory
 * dst: files, directories, symlinks (as links, never followed), device
 * nodes and fifos, with their modes and owners. Every step goes through an
 * fd with O_NOFOLLOW: src lies in the container's rootfs, which may be
 * hostile. */
int copyup_tree(int src, int dst, struct hk_err *err);

#endif
