#include "runtime/sync.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/esc.h"

/* The one send loop: m whole, with fd as SCM_RIGHTS when fd >= 0. Without
 * an fd it is send(2) (sendto), not sendmsg, so the syscalls a message
 * takes stay those a seccomp profile is likelier to allow. */
static int send_msg(int sock, const struct hk_sync_msg *m, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)m, .iov_len = sizeof(*m)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = fd >= 0 ? sendmsg(sock, &msg, MSG_NOSIGNAL)
			    : send(sock, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

int sync_send(int fd, enum hk_sync_type type, const struct hk_err *payload)
{
	struct hk_sync_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (payload)
		m.err = *payload;
	return send_msg(fd, &m, -1);
}

int sync_send_value(int sock, enum hk_sync_type type, int32_t value)
{
	struct hk_sync_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.value = value;
	return send_msg(sock, &m, -1);
}

int sync_send_fd(int sock, enum hk_sync_type type, int fd)
{
	return sync_send_fd_payload(sock, type, fd, NULL);
}

int sync_send_fd_payload(int sock, enum hk_sync_type type, int fd, const struct hk_err *payload)
{
	struct hk_sync_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (payload)
		m.err = *payload;
	return send_msg(sock, &m, fd);
}

/* Take what the control messages carry: the sender's pid (SO_PASSCRED) and
 * at most one fd; any further fds are closed. */
static void take_control(struct msghdr *msg, struct hk_sync_in *in)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred)))
			in->sender = ((struct ucred *)(void *)CMSG_DATA(c))->pid;
		if (c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (in->fd < 0)
				in->fd = fd;
			else
				close(fd);
		}
	}
}

int sync_read(int sock, struct hk_sync_in *in, struct hk_err *err)
{
	struct hk_sync_msg m;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;
	bool reset = false;

	memset(in, 0, sizeof(*in));
	in->fd = -1;
	/* A peer that exits with a message of ours unread resets the socket,
	 * and recvmsg reports that once, before the messages still queued for
	 * us (the process's error among them): read again once. */
	for (;;) {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != ECONNRESET || reset)
			break;
		reset = true;
	}
	if (n < 0)
		return hk_fail(err, errno, "read from the container process");
	take_control(&msg, in);
	if (n == 0)
		return 0;
	/* Every message has one fixed size: anything else is refused whole. */
	if (n != (ssize_t)sizeof(m) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (in->fd >= 0)
			close(in->fd);
		in->fd = -1;
		return hk_fail(err, 0, "malformed message from the container process");
	}
	m.err.msg[sizeof(m.err.msg) - 1] = '\0';
	in->type = m.type;
	in->value = m.value;
	in->payload = m.err;
	return 0;
}

int sync_recv(int fd, uint32_t *type, struct hk_err *payload, struct hk_err *err)
{
	struct hk_sync_in in;

	if (sync_read(fd, &in, err) < 0)
		return -1;
	if (in.fd >= 0)
		close(in.fd);
	*type = in.type;
	if (payload)
		*payload = in.payload;
	return 0;
}

int sync_send_cgfds(int sock, int *fds, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		if (r == 0 && sync_send_fd(sock, HK_SYNC_CGFD, fds[i]) < 0)
			r = -1;
		close(fds[i]);
	}
	return r;
}

int sync_wait_go(int sock, pid_t *host_pid, struct hk_err *err)
{
	struct hk_sync_in in;

	for (;;) {
		if (sync_read(sock, &in, err) < 0)
			return -1;
		if (in.type != HK_SYNC_CGFD || in.fd < 0)
			break;
		if (cg_enter_self(in.fd, err) < 0)
			return -1;
	}
	if (in.fd >= 0)
		close(in.fd);
	if (in.type != HK_SYNC_GO)
		return hk_fail(err, 0, "husk went away during setup");
	*host_pid = in.value;
	return 0;
}

void sync_report_error(int sock, bool husk_reads, const struct hk_err *err)
{
	struct hk_sync_msg m;
	char text[2048];

	memset(&m, 0, sizeof(m));
	m.type = HK_SYNC_ERROR;
	m.err = *err;
	if (husk_reads) {
		errno = 0;
		if (send_msg(sock, &m, -1) == 0)
			return;
		if (errno == EPERM || errno == EACCES || errno == ENOSYS) {
			/* A seccomp profile without sendto: write is in every
			 * profile a program can run under. No SIGPIPE for it. */
			signal(SIGPIPE, SIG_IGN);
			if (write(sock, &m, sizeof(m)) == (ssize_t)sizeof(m))
				return;
		}
	}
	hk_esc_into(err->msg, HK_ESC_TEXT, text, sizeof(text));
	dprintf(STDERR_FILENO, "husk: %s\n", text);
}

int sync_write(int sock, enum hk_sync_type type)
{
	struct hk_sync_msg m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.type = type;
	do
		n = write(sock, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(m) ? 0 : -1;
}

int sync_read_value(int sock, enum hk_sync_type want, int32_t *value)
{
	struct hk_sync_msg m;
	ssize_t n;

	do
		n = read(sock, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(m) || m.type != (uint32_t)want)
		return -1;
	*value = m.value;
	return 0;
}
