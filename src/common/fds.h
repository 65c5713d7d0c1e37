/* The fds husk was started with. --preserve-fds N (and LISTEN_FDS) hand a
 * container the fds 3 .. 3+N-1, but only those its caller really passed:
 * an fd husk opens itself lands on the lowest free number, so in a gap of
 * that range (fd 4 when the caller passed 3 and 5), and must never reach
 * the container (the host's pid namespace, the state directory whose lock
 * the container's copy would hold forever). */
#ifndef HUSK_COMMON_FDS_H
#define HUSK_COMMON_FDS_H

#include <stddef.h>

struct hk_err;

/* Record which fds from 3 up are open: first thing in main, before husk
 * opens anything (an exec of husk starts over: everything of husk's is
 * close-on-exec). Reads /proc/self/fd; when that fails, the failure is
 * reported by the calls below, and only when fds are to be preserved. */
void hk_fds_record(void);
/* Clear close-on-exec on the recorded fds among 3 .. 3+n-1; the others in
 * that range (husk's own) are left as they are. */
int hk_fds_preserve(int n, struct hk_err *err);
/* /dev/null on whichever of 0, 1 and 2 is closed: first thing in a program
 * that opens fds of its own and then writes to stdout or hands its stdio
 * on (husk-launch), so that none of those lands on a standard number. 0,
 * or -1 when /dev/null cannot be opened. */
int hk_fds_stdio_open(void);
/* Set close-on-exec on every fd from 3 up but the recorded ones among
 * 3 .. 3+n-1. */
int hk_fds_cloexec_others(int n, struct hk_err *err);
/* Close every fd from 3 up but keep[] and the recorded ones among
 * 3 .. 3+n-1. */
int hk_fds_close_others(const int *keep, size_t nkeep, int n, struct hk_err *err);

#endif
