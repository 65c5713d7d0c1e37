/* IPv4 subnets and address leases, as arithmetic only (no I/O): which
 * addresses a subnet offers, which one to hand out next. Addresses are in
 * host byte order. The records that make leases last are lease.c's. */
#ifndef HUSK_NETINFO_IPAM_H
#define HUSK_NETINFO_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_err;

struct net_subnet {
	uint32_t net; /* network address, host bits zero */
	unsigned prefix;
};

/* Widest and narrowest subnets a bridge may have: /30 leaves one address
 * for a container next to the gateway. */
#define NET_PREFIX_MIN 8
#define NET_PREFIX_MAX 30
#define NET_ADDR_STRLEN 16
#define NET_SUBNET_STRLEN 19

/* "a.b.c.d/n", strictly: host bits must be zero. */
int net_subnet_parse(const char *s, struct net_subnet *out, struct hk_err *err);
/* An address in dotted quad, strictly (no shorthand forms). */
int net_addr_parse(const char *s, uint32_t *out);
void net_addr_fmt(uint32_t addr, char buf[NET_ADDR_STRLEN]);
void net_subnet_fmt(const struct net_subnet *s, char buf[NET_SUBNET_STRLEN]);

uint32_t net_subnet_mask(const struct net_subnet *s);
/* The gateway is the subnet's first host address, on the bridge. */
uint32_t net_subnet_gateway(const struct net_subnet *s);
bool net_subnet_contains(const struct net_subnet *s, uint32_t addr);
bool net_subnet_overlap(const struct net_subnet *a, const struct net_subnet *b);
/* How many addresses containers can lease (all but network, gateway and
 * broadcast). */
uint32_t net_subnet_capacity(const struct net_subnet *s);

/* The lowest address of s that is neither the network, the gateway, the
 * broadcast address nor in used[0..n). Fails naming the subnet when every
 * address is taken. */
int net_ipam_pick(const struct net_subnet *s, const uint32_t *used, size_t n, uint32_t *out,
		  struct hk_err *err);

/* A locally administered unicast MAC made from the address, so a
 * container keeps its MAC as long as it keeps its address (neighbours'
 * ARP caches stay right after a restart). */
void net_mac_from_addr(uint32_t addr, uint8_t mac[6]);

#endif
