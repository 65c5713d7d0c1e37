/* Container networking, the way Docker's default bridge does it: a bridge
 * with the subnet's first address, one veth pair per container (its end
 * eth0 inside, with a leased address and the default route), outbound NAT
 * and published ports through nftables. Everything runs in the network
 * namespace of the calling process ("the host"). */
#ifndef HUSK_NET_NET_H
#define HUSK_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "netinfo/lease.h"
#include "netinfo/ports.h"

struct hk_err;

#define NET_BRIDGE_DEFAULT "husk0"
#define NET_SUBNET_DEFAULT "10.89.0.0/16"
#define NET_MTU_DEFAULT 1500
/* Ports one container may publish: each is a line of its lease, which is
 * read back whole (64 KiB at most), and a host port held. */
#define NET_PORTS_MAX 256

struct net_config {
	const char *dir;    /* state directory (leases, lock) */
	const char *bridge; /* created when missing */
	const char *subnet;
	unsigned mtu;
	const struct net_port *ports;
	size_t n_ports;
	const char *ifname; /* the container's end; NULL: eth0 */
};

/* The container: its id, and its network namespace by pid or by path. */
struct net_target {
	const char *id;
	pid_t pid;
	const char *netns;
};

/* Check everything that needs no lock and no kernel: names, subnet, MTU,
 * ports clashing among themselves. attach calls it first. */
int net_config_check(const struct net_config *cfg, struct hk_err *err);

/* Attach the container; on success *out is its record (free it with
 * net_lease_free). On failure nothing of it is left behind. */
int net_attach(const struct net_config *cfg, const struct net_target *t, struct net_lease *out,
	       struct hk_err *err);
/* Who asks for a detach. The command line (--id) names a container by id
 * alone: the operator's word. A hook has the OCI state of its container,
 * whose id another container may carry too (another --root, another
 * engine): its record is the one with the state's pid, or, when the
 * runtime gives none (runc's poststop: pid 0), one whose container is gone
 * (net_lease_is_callers); another container's record is left alone. */
struct net_caller {
	const char *id;
	bool hook;
	pid_t pid; /* the state's, 0 when none */
};

/* Remove everything of the caller's container: 1 when there was
 * something, 0 when it was not attached, or the record is another
 * container's (not an error: detach may run twice). */
int net_detach(const char *dir, const struct net_caller *c, struct hk_err *err);
/* What net_gc removed: the containers that no longer exist (detached),
 * the bridges husk made that none uses any more, and husk's nftables
 * table when nothing of husk's was left (net/bridge-gc.h). */
struct net_gc {
	char **ids;
	size_t n_ids;
	char **bridges;
	size_t n_bridges;
	bool table;
};
int net_gc(const char *dir, struct net_gc *out, struct hk_err *err);
void net_gc_clear(struct net_gc *g);
/* lo up in the network namespace at path netns (the CNI's loopback). */
int net_loopback_up(const char *netns, struct hk_err *err);
/* Every record, sorted by id. */
int net_list(const char *dir, struct net_lease **out, size_t *n, struct hk_err *err);

#endif
