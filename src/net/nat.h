/* NAT through nftables (libnftables), in one table of husk's own,
 * `ip husk`; nothing outside it is read or changed. Its rules never change
 * per container: they look addresses and ports up in sets and maps, and a
 * container adds and removes only elements, so one container's rules are
 * found and removed by key, with no rule handles to track:
 *
 *   nets, bridges   subnets and bridges of husk's networks: traffic from
 *                   a subnet leaving through a non-bridge interface is
 *                   masqueraded (outbound NAT)
 *   pub_any         proto . hostport : addr . port, for ports published on
 *                   every host address
 *   pub_ip          hostip . proto . hostport : addr . port
 *
 * DNAT happens in prerouting (from outside, never for 127.0.0.0/8) and
 * output (from the host itself, 127.0.0.1 included) for packets to a
 * local address. Two filter chains, policy accept, drop what husk's
 * networks make possible and nothing else: input, packets for 127.0.0.0/8
 * arriving outside lo (route_localnet is on for the bridges) that answer
 * no connection and were not DNATed; forward, packets to a
 * husk bridge that are no answer, not DNATed from outside husk's bridges
 * and not the bridge's own traffic (a machine routing the subnet through
 * the host, another husk bridge). */
#ifndef HUSK_NET_NAT_H
#define HUSK_NET_NAT_H

#include <stddef.h>
#include <stdint.h>

#include "netinfo/ipam.h"
#include "netinfo/ports.h"

struct hk_err;

#define NET_NFT_TABLE "husk"

/* The nft commands that make the table, its sets, maps and chains, and
 * (re)write its rules; then add the network and the container's ports.
 * Exposed for the unit tests; the caller frees. */
char *net_nat_attach_cmds(const char *bridge, const struct net_subnet *s,
			  const struct net_port *ports, size_t n, uint32_t addr);
/* `delete element` commands for one container's ports, one per line. */
char *net_nat_unpublish_cmds(const struct net_port *ports, size_t n);

/* Run the attach commands as one transaction: all or nothing. */
int net_nat_attach(const char *bridge, const struct net_subnet *s, const struct net_port *ports,
		   size_t n, uint32_t addr, struct hk_err *err);
/* Remove one container's elements; those already gone are not an error. */
int net_nat_unpublish(const struct net_port *ports, size_t n, struct hk_err *err);
/* A bridge husk removes: out of the table's sets (its name, its subnet);
 * elements already gone are no error. */
int net_nat_forget_bridge(const char *bridge, const struct net_subnet *s, struct hk_err *err);
/* husk's table, when no bridge of husk's is left: 1 removed, 0 there was
 * none, -1 (err). */
int net_nat_remove(struct hk_err *err);
/* The same only when no set or map of the table has an element left
 * (another state directory's bridges, subnets, ports): 1 removed, 0 kept
 * or none, -1 (err). */
int net_nat_remove_unused(struct hk_err *err);

#endif
