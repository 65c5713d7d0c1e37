/* Published ports: `[hostip:]hostport:containerport[/tcp|udp]`, parsed and
 * compared with no I/O. */
#ifndef HUSK_NETINFO_PORTS_H
#define HUSK_NETINFO_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_err;

enum net_proto { NET_TCP = 6, NET_UDP = 17 };

struct net_port {
	uint32_t host_ip;   /* host byte order; 0: every address of the host */
	uint16_t host_port; /* 0: a free one, which the kernel picks at bind */
	uint16_t cont_port;
	uint8_t proto; /* enum net_proto */
};

/* Room for "255.255.255.255:65535:65535/udp". */
#define NET_PORT_STRLEN 40

int net_port_parse(const char *spec, struct net_port *out, struct hk_err *err);

/* An image's exposed port, a key of its config's ExposedPorts: PORT,
 * PORT/tcp or PORT/udp, nothing else (no host port, no range: the image
 * never chooses the host's ports). It is published on every host address
 * and a host port the kernel picks among its ephemeral ones, as `docker
 * run -P` does; at most NET_EXPOSED_MAX of them per container. */
#define NET_EXPOSED_MAX 64
int net_exposed_parse(const char *key, struct net_port *out, struct hk_err *err);
/* Add the exposed ports ex to *v: once each, and none that an explicit
 * publication in *v already maps (the same container port and protocol,
 * as docker's -p wins over -P). Refused past NET_EXPOSED_MAX. */
int net_ports_add_exposed(struct net_port **v, size_t *n, const struct net_port *ex, size_t n_ex,
			  struct hk_err *err);

/* The spec again, in the canonical form (hostip only when given; only
 * the container port and protocol while the host port is still to pick). */
void net_port_fmt(const struct net_port *p, char buf[NET_PORT_STRLEN]);
const char *net_proto_name(uint8_t proto);
int net_proto_parse(const char *s, uint8_t *out);
/* Two publications clash when one packet could match both: the same
 * protocol and host port, and the same host address or either on all. A
 * host port still to pick clashes with nothing. */
bool net_port_clash(const struct net_port *a, const struct net_port *b);
/* The first clash inside one list (a container publishing a host port
 * twice): index of the later one, or -1. */
int net_ports_self_clash(const struct net_port *v, size_t n, size_t *first);

#endif
