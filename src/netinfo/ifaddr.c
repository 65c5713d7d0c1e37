#include "netinfo/ifaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"

unsigned net_mask_prefix(const unsigned char *mask, size_t len)
{
	unsigned bits = 0;

	for (size_t i = 0; i < len; i++)
		for (int b = 7; b >= 0 && (mask[i] >> b) & 1; b--)
			bits++;
	return bits;
}

static bool convert(const struct ifaddrs *ifa, struct net_ifaddr *out)
{
	const void *addr, *mask = NULL;
	size_t len;
	int fam = ifa->ifa_addr ? ifa->ifa_addr->sa_family : AF_UNSPEC;

	if (fam == AF_INET) {
		addr = &((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr;
		if (ifa->ifa_netmask)
			mask = &((const struct sockaddr_in *)(const void *)ifa->ifa_netmask)
					->sin_addr;
		len = 4;
	} else if (fam == AF_INET6) {
		addr = &((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr;
		if (ifa->ifa_netmask)
			mask = &((const struct sockaddr_in6 *)(const void *)ifa->ifa_netmask)
					->sin6_addr;
		len = 16;
	} else {
		return false;
	}
	*out = (struct net_ifaddr){.family = fam};
	snprintf(out->ifname, sizeof(out->ifname), "%s", ifa->ifa_name);
	inet_ntop(fam, addr, out->addr, sizeof(out->addr));
	out->prefix = mask ? net_mask_prefix(mask, len) : (unsigned)len * 8;
	return true;
}

/* getifaddrs asks over a netlink socket, which works in the namespace it is
 * made in: the caller is in pid's namespace for the call. */
static int list_here(struct net_ifaddr **v, size_t *n, struct hk_err *err)
{
	struct ifaddrs *all = NULL;

	if (getifaddrs(&all) < 0)
		return hk_fail(err, errno, "getifaddrs");
	for (struct ifaddrs *i = all; i; i = i->ifa_next) {
		struct net_ifaddr a;
		if (!convert(i, &a))
			continue;
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = a;
	}
	freeifaddrs(all);
	return 0;
}

/* The addresses go back to the caller over a pipe: a header, then the
 * records. */
struct reply {
	int rc;
	struct hk_err err;
	size_t n;
};

#define MAX_ADDRS 16384

static bool read_exact(int fd, void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t r = read(fd, (char *)buf + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

/* In a child of its own, so that husk itself never leaves its network
 * namespace (a way back refused would strand it there). */
static void child_lists(int theirs, pid_t pid, int out)
{
	struct reply rep = {0};
	struct net_ifaddr *v = NULL;

	if (setns(theirs, CLONE_NEWNET) < 0)
		rep.rc =
			hk_fail(&rep.err, errno, "enter the network namespace of pid %d", (int)pid);
	else
		rep.rc = list_here(&v, &rep.n, &rep.err);
	if (rep.n > MAX_ADDRS)
		rep.n = MAX_ADDRS;
	if (hk_write_all(out, &rep, sizeof(rep)) == 0 && rep.n)
		hk_write_all(out, v, rep.n * sizeof(*v));
	_exit(0);
}

int net_ifaddrs_of(pid_t pid, struct net_ifaddr **v, size_t *n, struct hk_err *err)
{
	char path[64];
	_cleanup_close_ int theirs = -1;
	int p[2];

	*v = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (theirs < 0)
		return hk_fail(err, errno, "open %s", path);
	if (pipe2(p, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "pipe for pid %d's addresses", (int)pid);
	pid_t child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return hk_fail(err, errno, "fork to list pid %d's addresses", (int)pid);
	}
	if (child == 0) {
		close(p[0]);
		child_lists(theirs, pid, p[1]);
	}
	close(p[1]);
	struct reply rep;
	int rc = -1;
	if (!read_exact(p[0], &rep, sizeof(rep)) || rep.n > MAX_ADDRS) {
		hk_fail(err, EIO, "list pid %d's addresses: no answer", (int)pid);
	} else if (rep.rc < 0) {
		*err = rep.err;
		err->msg[sizeof(err->msg) - 1] = '\0';
	} else {
		*v = rep.n ? xmalloc(rep.n * sizeof(**v)) : NULL;
		if (rep.n && !read_exact(p[0], *v, rep.n * sizeof(**v))) {
			free(*v);
			*v = NULL;
			hk_fail(err, EIO, "list pid %d's addresses: answer cut short", (int)pid);
		} else {
			*n = rep.n;
			rc = 0;
		}
	}
	close(p[0]);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < *n; i++) {
		(*v)[i].ifname[sizeof((*v)[i].ifname) - 1] = '\0';
		(*v)[i].addr[sizeof((*v)[i].addr) - 1] = '\0';
	}
	return rc;
}
