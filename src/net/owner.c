#include "net/owner.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"

/* Socket states as sock_diag reports them (include/net/tcp_states.h).
 * BOUND_INACTIVE (Linux 6.9) is a socket bound but neither listening nor
 * connected: how a port is reserved (husk's own holder, podman's conmon).
 * Older kernels ignore the bit in the request and never dump those. */
enum { ST_LISTEN = 10, ST_CLOSE = 7, ST_BOUND_INACTIVE = 13 };

enum { RANK_NONE, RANK_CLOSING, RANK_CONNECTION, RANK_BOUND };

static const uint8_t v6_zero[16];
static const uint8_t v6_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The IPv4 address a socket is bound to, as the kernel compares it with
 * an IPv4 bind: a v4-mapped IPv6 address counts as its IPv4 address and
 * [::] as 0.0.0.0 unless the socket is IPv6 only. false: no conflict. */
static bool v4_view(const struct inet_diag_msg *m, bool v6only, uint32_t *a)
{
	const uint8_t *b = (const uint8_t *)m->id.idiag_src;

	if (m->idiag_family == AF_INET) {
		*a = ntohl(m->id.idiag_src[0]);
		return true;
	}
	if (memcmp(b, v6_zero, 16) == 0) {
		*a = 0;
		return !v6only;
	}
	if (memcmp(b, v6_mapped, 12) == 0) {
		*a = ntohl(m->id.idiag_src[3]);
		return true;
	}
	return false;
}

static int rank_of(const struct inet_diag_msg *m, bool v6only, const struct net_port *p)
{
	uint32_t a;

	if (ntohs(m->id.idiag_sport) != p->host_port || !v4_view(m, v6only, &a))
		return RANK_NONE;
	if (p->host_ip && a && a != p->host_ip)
		return RANK_NONE;
	/* TIME_WAIT (and half-open) entries have no inode: no file, no process */
	if (!m->idiag_inode)
		return RANK_CLOSING;
	if (m->idiag_state == ST_LISTEN || m->idiag_state == ST_BOUND_INACTIVE ||
	    m->idiag_state == ST_CLOSE) /* UDP unconnected, TCP bound */
		return RANK_BOUND;
	return RANK_CONNECTION;
}

static void fmt_addr(const struct inet_diag_msg *m, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(m->idiag_family, m->id.idiag_src, a, sizeof(a));
	snprintf(buf, size, m->idiag_family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 ntohs(m->id.idiag_sport));
}

static bool is_v6only(const struct nlmsghdr *h, const struct inet_diag_msg *m)
{
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a = (const struct rtattr *)(m + 1);

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(a) >= 1)
			return *(const uint8_t *)RTA_DATA(a) != 0;
	return false;
}

static void consider(const struct nlmsghdr *h, const struct net_port *p, int *best,
		     struct net_owner *o)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return;
	int r = rank_of(m, m->idiag_family == AF_INET6 && is_v6only(h, m), p);
	if (r <= *best)
		return;
	*best = r;
	o->kind = r == RANK_CLOSING ? NET_OWNER_CLOSING : NET_OWNER_SOCKET;
	o->inode = m->idiag_inode;
	fmt_addr(m, o->addr, sizeof(o->addr));
}

/* Every socket of one family and p's protocol on p's port (the kernel
 * filters on the port for a dump, and so do we). */
static void dump(int family, const struct net_port *p, int *best, struct net_owner *o)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.r = {.sdiag_family = (uint8_t)family,
		      .sdiag_protocol = p->proto,
		      .idiag_states = ~0u,
		      .id = {.idiag_sport = htons(p->host_port)}},
	};
	long buf[8192 / sizeof(long)];

	if (fd < 0 || send(fd, &req, sizeof(req), 0) < 0)
		return;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		int len = (int)n;
		for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				return;
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
				consider(h, p, best, o);
		}
	}
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool holds_link(int procfd, const char *pid, const char *want)
{
	char path[64], link[64];
	struct dirent *e;
	bool found = false;

	snprintf(path, sizeof(path), "%s/fd", pid);
	int fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		hk_closep(&fd);
		return false;
	}
	while (!found && (e = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	closedir(d);
	return found;
}

/* A process name is the process's to choose: only printable ASCII of it
 * reaches the user's terminal. */
static void read_comm(int procfd, const char *pid, char *out, size_t size)
{
	char path[64];

	snprintf(path, sizeof(path), "%s/comm", pid);
	snprintf(out, size, "?");
	_cleanup_close_ int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, size - 1);
	if (n <= 0) {
		snprintf(out, size, "?");
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	for (char *c = out; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
}

/* The first process (lowest pid) with the socket among its fds. */
static void find_process(struct net_owner *o)
{
	char want[48];
	struct dirent *e;
	DIR *proc = opendir("/proc");

	if (!proc)
		return;
	snprintf(want, sizeof(want), "socket:[%lu]", o->inode);
	while ((e = readdir(proc))) {
		if (!all_digits(e->d_name) || !holds_link(dirfd(proc), e->d_name, want))
			continue;
		o->pid = (pid_t)strtol(e->d_name, NULL, 10);
		read_comm(dirfd(proc), e->d_name, o->comm, sizeof(o->comm));
		break;
	}
	closedir(proc);
}

void net_owner_find(const struct net_port *p, struct net_owner *o)
{
	int best = RANK_NONE;

	*o = (struct net_owner){.kind = NET_OWNER_NONE};
	dump(AF_INET, p, &best, o);
	dump(AF_INET6, p, &best, o);
	if (o->kind == NET_OWNER_SOCKET)
		find_process(o);
}

void net_owner_fmt(const struct net_owner *o, char *buf, size_t size)
{
	switch (o->kind) {
	case NET_OWNER_SOCKET:
		if (o->pid)
			snprintf(buf, size, "by %s (pid %d) on %s", o->comm, (int)o->pid, o->addr);
		else
			snprintf(buf, size, "by a socket on %s that no process in sight holds",
				 o->addr);
		return;
	case NET_OWNER_CLOSING:
		snprintf(buf, size,
			 "by connections closing on %s (TIME_WAIT: free again within a minute)",
			 o->addr);
		return;
	case NET_OWNER_NONE:
	default:
		buf[0] = '\0';
		return;
	}
}
