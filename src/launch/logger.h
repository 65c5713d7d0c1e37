/* launch -d: the program's output in DIR/output.log, capped and rotated
 * (see logger.c). */
#ifndef HUSK_LAUNCH_LOGGER_H
#define HUSK_LAUNCH_LOGGER_H

#include "launch/launch.h"

struct hk_err;

/* Create dir/output.log and the process that fills it (in the mount
 * namespace host_mntns, when >= 0); *out: the pipe's end for the
 * container's stdout and stderr (close-on-exec). */
int launch_log_start(const char *dir, const struct launch_log_opts *lo, int host_mntns, int *out,
		     struct hk_err *err);

#endif
