/* Who holds a host port, for the error of a publish the kernel refused
 * (EADDRINUSE): the sockets on that port from sock_diag, as `ss` finds
 * them, and the process holding the socket's inode among /proc/PID/fd, as
 * `ss -p` does. Best effort: whatever cannot be read just says less. */
#ifndef HUSK_NET_OWNER_H
#define HUSK_NET_OWNER_H

#include <stddef.h>
#include <sys/types.h>

#include "netinfo/ports.h"

enum net_owner_kind {
	NET_OWNER_NONE,    /* nothing found that explains the refusal */
	NET_OWNER_CLOSING, /* only connections closing (TIME_WAIT) */
	NET_OWNER_SOCKET,  /* a socket; pid 0 when no process here holds it */
};

struct net_owner {
	enum net_owner_kind kind;
	char addr[64]; /* the socket's local address and port, as ss prints it */
	unsigned long inode;
	pid_t pid;
	char comm[32]; /* printable characters only */
};

/* The socket in this network namespace that conflicts with binding p's
 * host address and port (the same protocol; 0.0.0.0 against any address,
 * a dual-stack [::] against any IPv4 address), a listening or bound one
 * first, and the process holding it. */
void net_owner_find(const struct net_port *p, struct net_owner *o);

/* "by python3 (pid 42) on 127.0.0.1:2222" and the like. */
void net_owner_fmt(const struct net_owner *o, char *buf, size_t size);

#endif
