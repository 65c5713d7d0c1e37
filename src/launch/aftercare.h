/* husk-launch's after-care (cmd/husk-launch/aftercare.c): a process of its
 * own that takes over what launch's caller need not wait for. launch hands
 * it, over a socket, things to hold and work to do later:
 *   AFTERCARE_HOLD   fd: launch's mount namespace, held until the work
 *                    comes or launch ends, so that its teardown (an RCU
 *                    grace period to wait for) is the after-care's and not
 *                    on launch's way;
 *   AFTERCARE_TRASH  fd: DATA, with the name of a directory in DATA/.trash
 *                    (launch/overlay.h, overlay_trash) to empty;
 *   AFTERCARE_END    launch is done: nothing more will come. */
#ifndef HUSK_LAUNCH_AFTERCARE_H
#define HUSK_LAUNCH_AFTERCARE_H

struct hk_err;

enum { AFTERCARE_HOLD = 'H', AFTERCARE_TRASH = 'T', AFTERCARE_END = 'E' };

/* One message: what, fd (-1: none), name (NULL: none, else < 64 bytes). */
int aftercare_send(int sock, char what, int fd, const char *name, struct hk_err *err);
/* Hand it our own mount namespace (launch's, once entered). */
int aftercare_hold_mntns(int sock, struct hk_err *err);

#endif
