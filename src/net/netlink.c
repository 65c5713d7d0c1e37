#include "net/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"

int net_nl_open(struct net_nl *nl, struct hk_err *err)
{
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return hk_fail(err, errno, "netlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		net_nl_close(nl);
		return hk_fail(err, e, "bind netlink socket");
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

/* Run fn in the network namespace of nsfd, then come back: a netlink
 * socket belongs for its whole life to the namespace it was created in
 * (netlink(7)), and so does a /proc/sys/net file to the one it was opened
 * in, so visiting the namespace for the socket() or open() is enough. */
static int visit(int nsfd, int (*fn)(void *data, struct hk_err *err), void *data,
		 struct hk_err *err)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self < 0)
		return hk_fail(err, errno, "open /proc/thread-self/ns/net");
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return hk_fail(err, errno, "setns into the container's network namespace");
	int r = fn(data, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Staying in the wrong namespace would make every later step
		 * act on the container's: refuse to go on. -2: fn's result is
		 * there, for the caller to undo. */
		hk_fail(err, errno, "setns back into husk's network namespace");
		return r < 0 ? -1 : -2;
	}
	return r < 0 ? -1 : 0;
}

static int open_sock(void *data, struct hk_err *err)
{
	return net_nl_open(data, err);
}

int net_nl_open_in(struct net_nl *nl, int nsfd, struct hk_err *err)
{
	int r = visit(nsfd, open_sock, nl, err);

	if (r == -2)
		net_nl_close(nl);
	return r < 0 ? -1 : 0;
}

struct open_req {
	const char *path;
	int flags;
	int fd;
};

static int open_file(void *data, struct hk_err *err)
{
	struct open_req *o = data;

	o->fd = open(o->path, o->flags | O_CLOEXEC);
	if (o->fd < 0)
		return hk_fail(err, errno, "open %s in the container's network namespace", o->path);
	return 0;
}

int net_open_in(int nsfd, const char *path, int flags, struct hk_err *err)
{
	struct open_req o = {path, flags, -1};
	int r = visit(nsfd, open_file, &o, err);

	if (r == -2)
		hk_closep(&o.fd);
	return r < 0 ? -1 : o.fd;
}

void net_nl_close(struct net_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

struct nlmsghdr *net_nl_req(struct net_nl *nl, void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

static int recv_until_done(struct net_nl *nl, uint32_t seq, mnl_cb_t cb, void *data)
{
	char buf[NET_NL_BUFSZ];

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		errno = 0;
		int r = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
		if (r < 0)
			return errno ? -errno : -EPROTO;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

int net_nl_ack(struct net_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return recv_until_done(nl, nlh->nlmsg_seq, cb, data);
}

int net_nl_dump(struct net_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	nlh->nlmsg_flags |= NLM_F_DUMP;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return recv_until_done(nl, nlh->nlmsg_seq, cb, data);
}
