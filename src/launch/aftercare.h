/* husk-launch's after-care (cmd/husk-launch/aftercare.c): a process of its
 * own that takes over what launch's caller need not wait for. launch hands
 * it, over runtime/sync.h's protocol, things to hold and work to do once
 * launch has exited (until then they wait in the socket, which holds the
 * fds):
 *   HK_SYNC_HOLD   fd: launch's mount namespace, held past launch's exit,
 *                  so that its teardown (an RCU grace period to wait for)
 *                  is the after-care's and not on launch's way;
 *   HK_SYNC_TRASH  fd: DATA, with the name of a directory in DATA/.trash
 *                  (launch/overlay.h, overlay_trash) to empty;
 *   HK_SYNC_ENTRY  fd: that directory, locked: in flight and then in the
 *                  after-care's hands the lock stays held, so that no other
 *                  cleanup's sweep of .trash takes it meanwhile;
 *   HK_SYNC_END    launch is done: nothing more will come (what ends the
 *                  after-care's wait when it has no pidfd of launch). */
#ifndef HUSK_LAUNCH_AFTERCARE_H
#define HUSK_LAUNCH_AFTERCARE_H

struct hk_err;
struct overlay_trash;

/* Hand it our own mount namespace (launch's, once entered). */
int aftercare_hold_mntns(int sock, struct hk_err *err);
/* Hand it t's entry to empty. */
int aftercare_trash(int sock, const struct overlay_trash *t, struct hk_err *err);

#endif
