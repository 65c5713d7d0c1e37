/* launch without -t: a container never gets the operator's terminal (see
 * stdio.c). */
#ifndef HUSK_LAUNCH_STDIO_H
#define HUSK_LAUNCH_STDIO_H

#include <sys/types.h>

#include "launch/opts.h"

struct hk_err;

struct launch_stdio {
	int saved[3]; /* launch's own fds 0-2 while pipes stand in for them, or -1 */
	int ctl;      /* the copier goes when this closes */
	pid_t copier;
};

/* Put pipes in place of those of fds 0 (with -i), 1 and 2 that are
 * terminals, and start the process that copies between them and the
 * terminals, in the mount namespace host_mntns when >= 0 (-d: a terminal
 * on stdin becomes /dev/null). */
int launch_stdio_start(const struct launch_opts *o, int host_mntns, struct launch_stdio *s,
		       struct hk_err *err);
/* Launch's fds back, and the copier's last output out: after the
 * container's program has exited. */
void launch_stdio_finish(struct launch_stdio *s);

#endif
