/* The addresses of the interfaces in another process's network namespace,
 * for `husk inspect`. Needs no libmnl: glibc's getifaddrs run from inside
 * that namespace, so it can go into the static husk binary. */
#ifndef HUSK_NETINFO_IFADDR_H
#define HUSK_NETINFO_IFADDR_H

#include <arpa/inet.h>
#include <net/if.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;

struct net_ifaddr {
	char ifname[IF_NAMESIZE];
	int family; /* AF_INET or AF_INET6 */
	char addr[INET6_ADDRSTRLEN];
	unsigned prefix;
};

/* Every IPv4 and IPv6 address in the network namespace of pid, in the
 * kernel's order, listed by a child of husk's that enters that namespace
 * (husk itself never leaves its own). */
int net_ifaddrs_of(pid_t pid, struct net_ifaddr **v, size_t *n, struct hk_err *err);
/* The prefix length of a netmask (the count of its leading one bits). */
unsigned net_mask_prefix(const unsigned char *mask, size_t len);

#endif
