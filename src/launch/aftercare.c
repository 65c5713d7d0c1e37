/* The sending side of husk-launch's after-care (aftercare.h). */
#include "launch/aftercare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "launch/overlay.h"
#include "runtime/sync.h"

int aftercare_hold_mntns(int sock, struct hk_err *err)
{
	_cleanup_close_ int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (ns < 0)
		return hk_fail(err, errno, "open /proc/self/ns/mnt");
	if (sync_send_fd(sock, HK_SYNC_HOLD, ns) < 0)
		return hk_fail(err, errno, "after-care: send the mount namespace");
	return 0;
}

int aftercare_trash(int sock, const struct overlay_trash *t, struct hk_err *err)
{
	struct hk_err name = {0};

	snprintf(name.msg, sizeof(name.msg), "%s", t->name);
	if (sync_send_fd_payload(sock, HK_SYNC_TRASH, t->parent, &name) < 0 ||
	    (t->entry >= 0 && sync_send_fd(sock, HK_SYNC_ENTRY, t->entry) < 0))
		return hk_fail(err, errno, "after-care: send %s", t->name);
	return 0;
}
