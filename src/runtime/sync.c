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

int sync_recv(int fd, uint32_t *type, struct hk_err *payload, struct hk_err *err)
{
	struct hk_sync_msg m;
	ssize_t n;

	do
		n = recv(fd, &m, sizeof(m), 0);
	while (n < 0 && errno == EINTR);
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
