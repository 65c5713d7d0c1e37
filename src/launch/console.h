/* launch -dt: a detached container's terminal, kept by a holder process
 * that `husk attach` connects to (console.c). */
#ifndef HUSK_LAUNCH_CONSOLE_H
#define HUSK_LAUNCH_CONSOLE_H

#include "launch/opts.h"

struct hk_err;

#define LAUNCH_CONSOLE_SOCK "console.sock"
#define LAUNCH_ATTACH_SOCK "attach.sock"
/* How many may attach at once. */
#define LAUNCH_ATTACH_MAX 8

/* In DIR (dirfd): output.log, console.sock and attach.sock, and the
 * holder (in the mount namespace host_mntns, when >= 0). The container's
 * --console-socket is /proc/self/fd/<dirfd>/console.sock; *ctl (close-on-
 * exec) is closed once the create is done, which ends a holder that never
 * got the terminal. */
int launch_console_start(int dirfd, const struct launch_log_opts *lo, int host_mntns, int *ctl,
			 struct hk_err *err);

#endif
