/* Bridges husk made, recorded so that `husk net gc` may remove them once
 * idle (bridge-gc.c). */
#ifndef HUSK_NET_BRIDGE_GC_H
#define HUSK_NET_BRIDGE_GC_H

#include <stdbool.h>
#include <stddef.h>

#include "net/netlink.h"
#include "netinfo/ipam.h"
#include "netinfo/lease.h"

struct hk_err;

/* Record that husk made bridge name (ifindex index, in this network
 * namespace), for subnet s (st locked exclusively). */
int net_bridge_record(struct net_store *st, const char *name, int index, const struct net_subnet *s,
		      struct hk_err *err);
/* Remove each recorded bridge no lease of leases names and no other device
 * is attached to (names in *gone), and husk's nftables table when neither
 * a lease nor a recorded bridge is left (*table: it was there and went). */
int net_bridges_gc(struct net_nl *nl, struct net_store *st, const struct net_lease *leases,
		   size_t n_leases, char ***gone, size_t *n_gone, bool *table, struct hk_err *err);

#endif
