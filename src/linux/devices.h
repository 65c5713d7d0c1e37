/* /dev inside the container: the default devices, linux.devices, and the
 * usual symlinks (fd, stdin, stdout, stderr, ptmx). */
#ifndef HUSK_LINUX_DEVICES_H
#define HUSK_LINUX_DEVICES_H

#include <stdbool.h>

struct hk_err;
struct hk_rootfs;

/* The default nodes, linux.devices and the links. bind_host: bind the
 * host's node of the same path instead of mknod, which a user namespace
 * refuses (user_namespaces(7)). Paths are resolved with rootfs_resolve:
 * beneath the mount on /dev, never through a symlink. */
int devices_setup(const struct hk_rootfs *r, bool bind_host, struct hk_err *err);

#endif
