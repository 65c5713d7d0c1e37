#include "runtime/sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_send(int fd, enum hk_sync_type type, const struct hk_err *payload)
{
	struct hk_sync_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (payload)
		m.err = *payload;
	ssize_t n;
	do
		n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(m) ? 0 : -1;
}

int sync_recv_pid(int fd, uint32_t *type, struct hk_err *payload, pid_t *sender, struct hk_err *err)
{
	struct hk_sync_msg m;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (sender) {
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
	}
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = sender ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			*sender = ((struct ucred *)(void *)CMSG_DATA(c))->pid;
	if (n < 0)
		return hk_fail(err, errno, "read from the container process");
	if (n == 0) {
		*type = 0;
		return 0;
	}
	if (n != (ssize_t)sizeof(m))
		return hk_fail(err, 0, "short message from the container process");
	m.err.msg[sizeof(m.err.msg) - 1] = '\0';
	*type = m.type;
	if (payload)
		*payload = m.err;
	return 0;
}

int sync_recv(int fd, uint32_t *type, struct hk_err *payload, struct hk_err *err)
{
	return sync_recv_pid(fd, type, payload, NULL, err);
}

int sync_expect(int fd, enum hk_sync_type want, struct hk_err *err)
{
	struct hk_err payload = {0};
	uint32_t type;

	if (sync_recv(fd, &type, &payload, err) < 0)
		return -1;
	if (type == (uint32_t)want)
		return 0;
	if (type == HK_SYNC_ERROR) {
		*err = payload;
		return -1;
	}
	if (type == 0)
		return hk_fail(err, 0, "the container process exited during setup");
	return hk_fail(err, 0, "unexpected message %u from the container process", type);
}
