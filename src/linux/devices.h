/* /dev inside the container: the default devices, linux.devices, and the
 * usual symlinks (fd, stdin, stdout, stderr, ptmx). */
#ifndef HUSK_LINUX_DEVICES_H
#define HUSK_LINUX_DEVICES_H

#include <stdbool.h>

struct hk_err;
struct hk_spec;

/* with_defaults: also create null, zero, full, random, urandom, tty and the
 * symlinks (false when /dev is bound from the host). */
int devices_setup(int rootfd, const struct hk_spec *spec, bool with_defaults, struct hk_err *err);

#endif
