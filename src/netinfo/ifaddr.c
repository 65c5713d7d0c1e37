#include "netinfo/ifaddr.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
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

int net_ifaddrs_of(pid_t pid, struct net_ifaddr **v, size_t *n, struct hk_err *err)
{
	char path[64];
	_cleanup_close_ int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int theirs = -1;

	*v = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (own < 0 || theirs < 0)
		return hk_fail(err, errno, "open %s", own < 0 ? "/proc/self/ns/net" : path);
	if (setns(theirs, CLONE_NEWNET) < 0)
		return hk_fail(err, errno, "enter the network namespace of pid %d", (int)pid);
	int r = list_here(v, n, err);
	if (setns(own, CLONE_NEWNET) < 0)
		abort(); /* cannot happen: our own namespace, which we could leave */
	return r;
}
