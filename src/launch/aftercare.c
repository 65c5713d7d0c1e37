/* The sending side of husk-launch's after-care (aftercare.h). */
#include "launch/aftercare.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"

int aftercare_send(int sock, char what, int fd, const char *name, struct hk_err *err)
{
	char buf[65] = {what};
	size_t len = 1;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;

	if (name) {
		len += strlen(name);
		if (len > sizeof(buf) - 1)
			return hk_fail(err, ENAMETOOLONG, "after-care: %s", name);
		memcpy(buf + 1, name, len - 1);
	}
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	while ((n = sendmsg(sock, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)len)
		return hk_fail(err, n < 0 ? errno : EIO, "after-care: send");
	return 0;
}

int aftercare_hold_mntns(int sock, struct hk_err *err)
{
	_cleanup_close_ int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

	if (ns < 0)
		return hk_fail(err, errno, "open /proc/self/ns/mnt");
	return aftercare_send(sock, AFTERCARE_HOLD, ns, NULL, err);
}
