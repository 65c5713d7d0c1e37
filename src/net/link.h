/* Network devices over rtnetlink: bridges, veth pairs whose far end is
 * born inside a container's network namespace, up/down, delete. */
#ifndef HUSK_NET_LINK_H
#define HUSK_NET_LINK_H

#include <net/if.h>
#include <stdint.h>
#include <sys/types.h>

struct hk_err;
struct net_nl;
struct nlmsghdr;

struct net_link {
	int index;
	int master; /* ifindex of the bridge it is enslaved to, 0 if none */
	unsigned mtu;
	char name[IF_NAMESIZE];
	char kind[16]; /* "bridge", "veth", ... or "" */
};

/* Look a device up by name: 1 found, 0 no such device, -1 error. */
int net_link_get(struct net_nl *nl, const char *name, struct net_link *out, struct hk_err *err);
int net_link_add_bridge(struct net_nl *nl, const char *name, struct hk_err *err);
int net_link_set_up(struct net_nl *nl, int index, const char *name, struct hk_err *err);
/* How many devices have master as their master (a bridge's ports). */
int net_link_count_ports(struct net_nl *nl, int master, struct hk_err *err);
/* Delete by name; a device that is already gone is not an error. */
int net_link_del(struct net_nl *nl, const char *name, struct hk_err *err);

/* A veth pair: `host` enslaved to `master` and up in the namespace of nl;
 * `peer` created directly in the namespace of ns_fd (or of ns_pid when
 * ns_fd < 0), down, with the given MTU and MAC, so the container never sees
 * a device named after the host's end and no rename is needed. */
struct net_veth {
	const char *host;
	int master;
	const char *peer;
	int ns_fd;
	pid_t ns_pid;
	unsigned mtu;
	uint8_t mac[6];
};
/* Build the RTM_NEWLINK request into nlh (exposed for the unit tests). */
void net_link_build_veth(struct nlmsghdr *nlh, const struct net_veth *v);
int net_link_add_veth(struct net_nl *nl, const struct net_veth *v, struct hk_err *err);

#endif
