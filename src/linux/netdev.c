/* linux.netDevices: host network interfaces moved into the container's
 * network namespace (config-linux.md), over rtnetlink, as runc 1.3 does:
 * each interface's permanent addresses of global scope are noted, it is
 * set down, moved and renamed in one RTM_NEWLINK (IFLA_NET_NS_FD with
 * IFLA_IFNAME: never under a name that clashes on either side), given its
 * addresses again there (the kernel drops them on the move) and set up.
 * Raw netlink: husk carries no netlink library. */
#include "linux/netdev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/spec.h"

#define MAX_ADDRS 64

struct nl_addr {
	unsigned char family, prefix;
	unsigned char addr[16];
};

struct nl_msg {
	struct nlmsghdr h;
	char body[1024];
};

static int nl_socket(struct hk_err *err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	return fd < 0 ? hk_fail(err, errno, "netlink socket") : fd;
}

static void *nl_start(struct nl_msg *m, unsigned short type, unsigned short flags, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->h.nlmsg_type = type;
	m->h.nlmsg_flags = NLM_F_REQUEST | flags;
	m->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	return NLMSG_DATA(&m->h);
}

static void nl_attr(struct nl_msg *m, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(void *)((char *)&m->h + NLMSG_ALIGN(m->h.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	m->h.nlmsg_len = (uint32_t)(NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len));
}

/* Send m, wait for its acknowledgement. -1 with errno set (the kernel's). */
static int nl_talk(int sock, struct nl_msg *m)
{
	char buf[4096];

	m->h.nlmsg_flags |= NLM_F_ACK;
	if (send(sock, m, m->h.nlmsg_len, 0) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			errno = -e;
			return e ? -1 : 0;
		}
	}
}

static int link_set(int sock, int index, const char *name, int nsfd, bool up)
{
	struct nl_msg m;
	struct ifinfomsg *ifi = nl_start(&m, RTM_NEWLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	if (nsfd < 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	} else {
		uint32_t fd = (uint32_t)nsfd;
		nl_attr(&m, IFLA_NET_NS_FD, &fd, sizeof(fd));
		nl_attr(&m, IFLA_IFNAME, name, strlen(name) + 1);
	}
	return nl_talk(sock, &m);
}

static void take_addr(struct ifaddrmsg *ifa, size_t len, struct nl_addr *out, size_t *n)
{
	uint32_t flags = ifa->ifa_flags;
	const void *local = NULL, *address = NULL;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;

	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_FLAGS)
			memcpy(&flags, RTA_DATA(a), sizeof(flags));
		else if (a->rta_type == IFA_LOCAL)
			local = RTA_DATA(a);
		else if (a->rta_type == IFA_ADDRESS)
			address = RTA_DATA(a);
	}
	/* Only addresses configured by hand (permanent) and not host or link
	 * scoped: the others mean nothing in another namespace (runc's rule). */
	if (!(flags & IFA_F_PERMANENT) || ifa->ifa_scope != RT_SCOPE_UNIVERSE || *n >= MAX_ADDRS)
		return;
	if (!local)
		local = address;
	if (!local)
		return;
	out[*n] = (struct nl_addr){.family = ifa->ifa_family, .prefix = ifa->ifa_prefixlen};
	memcpy(out[*n].addr, local, alen);
	(*n)++;
}

/* The addresses of interface index worth keeping. */
static int addrs_of(int sock, int index, struct nl_addr *out, size_t *n)
{
	struct nl_msg m;
	char buf[16384];
	struct ifaddrmsg *req = nl_start(&m, RTM_GETADDR, NLM_F_DUMP, sizeof(*req));

	req->ifa_family = AF_UNSPEC;
	*n = 0;
	if (send(sock, &m, m.h.nlmsg_len, 0) < 0)
		return -1;
	for (;;) {
		ssize_t len = recv(sock, buf, sizeof(buf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -1;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
				return -1;
			}
			struct ifaddrmsg *ifa = NLMSG_DATA(h);
			if (h->nlmsg_type == RTM_NEWADDR && (int)ifa->ifa_index == index)
				take_addr(ifa, IFA_PAYLOAD(h), out, n);
		}
	}
}

static int addr_add(int sock, int index, const struct nl_addr *a)
{
	struct nl_msg m;
	struct ifaddrmsg *ifa = nl_start(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	size_t alen = a->family == AF_INET ? 4 : 16;

	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->prefix;
	ifa->ifa_index = (unsigned)index;
	nl_attr(&m, IFA_LOCAL, a->addr, alen);
	nl_attr(&m, IFA_ADDRESS, a->addr, alen);
	if (a->family == AF_INET && a->prefix < 31) {
		uint32_t ip, host = a->prefix ? 0xffffffffu >> a->prefix : 0xffffffffu;
		memcpy(&ip, a->addr, 4);
		ip |= htonl(host);
		nl_attr(&m, IFA_BROADCAST, &ip, 4);
	}
	return nl_talk(sock, &m);
}

/* Down, addresses noted, moved and renamed: in husk's network namespace. */
static int move_one(int sock, const struct hk_netdev *d, int nsfd, struct nl_addr *addrs, size_t *n,
		    struct hk_err *err)
{
	int index = (int)if_nametoindex(d->name);

	if (index == 0)
		return hk_fail(err, errno,
			       "linux.netDevices.%s: no such interface in husk's network "
			       "namespace",
			       d->name);
	/* Listed first: setting an interface down flushes its IPv6 addresses
	 * (unless keep_addr_on_down, ip-sysctl.rst). */
	if (addrs_of(sock, index, addrs, n) < 0)
		return hk_fail(err, errno, "linux.netDevices.%s: list its addresses", d->name);
	if (link_set(sock, index, NULL, -1, false) < 0)
		return hk_fail(err, errno, "linux.netDevices.%s: set it down", d->name);
	if (link_set(sock, index, spec_netdev_name(d), nsfd, false) < 0)
		return hk_fail(
			err, errno,
			"linux.netDevices.%s: move it into the container's network namespace "
			"as %s",
			d->name, spec_netdev_name(d));
	return 0;
}

/* Addresses back and up: in the container's network namespace. */
static int set_up(int sock, const struct hk_netdev *d, const struct nl_addr *addrs, size_t n,
		  struct hk_err *err)
{
	const char *name = spec_netdev_name(d);
	int index = (int)if_nametoindex(name);

	if (index == 0)
		return hk_fail(err, errno, "linux.netDevices.%s: %s not found in the container",
			       d->name, name);
	for (size_t i = 0; i < n; i++) {
		char text[INET6_ADDRSTRLEN] = "?";
		if (addr_add(sock, index, &addrs[i]) == 0)
			continue;
		int e = errno;
		inet_ntop(addrs[i].family, addrs[i].addr, text, sizeof(text));
		return hk_fail(err, e, "linux.netDevices.%s: add %s/%u", d->name, text,
			       addrs[i].prefix);
	}
	if (link_set(sock, index, NULL, -1, true) < 0)
		return hk_fail(err, errno, "linux.netDevices.%s: set %s up", d->name, name);
	return 0;
}

/* Run fn(arg) in the network namespace nsfd, then back in husk's:
 * if_nametoindex and a new socket act in the caller's (netlink(7)). */
static int in_netns(int nsfd, int (*fn)(void *arg, struct hk_err *err), void *arg,
		    struct hk_err *err)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self < 0)
		return hk_fail(err, errno, "open /proc/thread-self/ns/net");
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return hk_fail(err, errno, "enter the container's network namespace");
	int r = fn(arg, err);
	if (setns(self, CLONE_NEWNET) < 0)
		return hk_fail(err, errno, "back to husk's network namespace");
	return r;
}

struct moved {
	const struct hk_spec *s;
	struct nl_addr (*addrs)[MAX_ADDRS];
	size_t *n;
};

/* Each name free in the container: the move and the rename are one
 * request, but the kernel moves first and renames after, so a clash would
 * leave the interface moved under its old name. */
static int names_free(void *arg, struct hk_err *err)
{
	const struct moved *m = arg;

	for (size_t i = 0; i < m->s->n_netdevs; i++) {
		const char *name = spec_netdev_name(&m->s->netdevs[i]);
		if (if_nametoindex(name) != 0)
			return hk_fail(
				err, 0,
				"linux.netDevices.%s: the container has an interface named %s "
				"already",
				m->s->netdevs[i].name, name);
	}
	return 0;
}

static int set_all_up(void *arg, struct hk_err *err)
{
	const struct moved *m = arg;
	_cleanup_close_ int sock = nl_socket(err);

	if (sock < 0)
		return -1;
	for (size_t i = 0; i < m->s->n_netdevs; i++)
		if (set_up(sock, &m->s->netdevs[i], m->addrs[i], m->n[i], err) < 0)
			return -1;
	return 0;
}

int netdev_move_all(const struct hk_spec *s, int nsfd, struct hk_err *err)
{
	if (geteuid() != 0)
		return hk_fail(err, 0,
			       "linux.netDevices: moving interfaces needs husk to run as root");
	_cleanup_free_ struct nl_addr(*addrs)[MAX_ADDRS] = xcalloc(s->n_netdevs, sizeof(*addrs));
	_cleanup_free_ size_t *n = xcalloc(s->n_netdevs, sizeof(*n));
	struct moved m = {s, addrs, n};

	if (in_netns(nsfd, names_free, &m, err) < 0)
		return -1;
	_cleanup_close_ int sock = nl_socket(err);
	if (sock < 0)
		return -1;
	for (size_t i = 0; i < s->n_netdevs; i++)
		if (move_one(sock, &s->netdevs[i], nsfd, addrs[i], &n[i], err) < 0)
			return -1;
	return in_netns(nsfd, set_all_up, &m, err);
}
