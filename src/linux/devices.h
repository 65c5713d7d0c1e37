/* /dev inside the container: the default devices, linux.devices, and the
 * usual symlinks (fd, stdin, stdout, stderr, ptmx). */
#ifndef HUSK_LINUX_DEVICES_H
#define HUSK_LINUX_DEVICES_H

#include <stdbool.h>

struct hk_err;
struct hk_spec;

/* with_defaults: also create null, zero, full, random, urandom, tty and the
 * symlinks (false when /dev is bound from the host). bind_host: bind the
 * host's node of the same path instead of mknod, which a user namespace
 * refuses (user_namespaces(7)). */
int devices_setup(int rootfd, const struct hk_spec *spec, bool with_defaults, bool bind_host,
		  struct hk_err *err);

#endif
