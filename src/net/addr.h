/* IPv4 addresses and routes over rtnetlink. */
#ifndef HUSK_NET_ADDR_H
#define HUSK_NET_ADDR_H

#include <stddef.h>
#include <stdint.h>

struct hk_err;
struct net_nl;
struct net_subnet;

/* Give device `index` the address addr/prefix (host byte order). */
int net_addr_add(struct net_nl *nl, int index, const char *dev, uint32_t addr, unsigned prefix,
		 struct hk_err *err);
/* 1 when device `index` has exactly addr/prefix, 0 when not, -1 error. */
int net_addr_has(struct net_nl *nl, int index, uint32_t addr, unsigned prefix, struct hk_err *err);
/* The default route through gw on device `index` (main table). */
int net_route_add_default(struct net_nl *nl, int index, uint32_t gw, struct hk_err *err);
/* A route already present (any table, the default route aside) whose
 * destination overlaps s: 1 and a description ("10.0.0.0/8 dev eth0") in
 * desc, 0 when none, -1 error. */
int net_route_overlap(struct net_nl *nl, const struct net_subnet *s, char *desc, size_t size,
		      struct hk_err *err);

#endif
