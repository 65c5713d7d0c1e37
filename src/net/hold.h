/* Published host ports, held the way Docker and podman hold them: each
 * host address and port is bound in the host's network namespace, so the
 * kernel itself says whether it is free (its rules: 0.0.0.0 against any
 * address, a dual-stack [::] socket against IPv4), and stays bound for
 * the container's life, so no program binds it later and has its traffic
 * silently go to the container.
 *
 * The sockets are bound without SO_REUSEADDR or SO_REUSEPORT and TCP ones
 * do not listen: a bound socket without SO_REUSEADDR refuses every later
 * bind of the port, with or without those options, while one bound with
 * SO_REUSEADDR and not listening lets another SO_REUSEADDR socket bind and
 * even listen. Not listening, the holder never accepts a connection: one
 * that misses the DNAT (the nft table flushed) is refused, as before.
 *
 * The holder is a process of its own: the hook forks it into a session
 * of its own (it goes to init when the hook exits); it keeps the sockets,
 * a pidfd of the container's process when there is one and nothing else
 * (stdio on /dev/null, cwd /, no other fd of the hook: not the net state
 * lock, not the container's namespace), and exits when the container's process
 * exits or when detach or gc kills it, by pid and start time. It starts
 * uncommitted: until net_holder_commit it exits as soon as the hook is
 * gone, so a hook that dies half way leaves no holder the records do not
 * name. */
#ifndef HUSK_NET_HOLD_H
#define HUSK_NET_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "netinfo/ports.h"

struct hk_err;

struct net_bound {
	int *fds;
	size_t n;
};

struct net_holder {
	pid_t pid;
	unsigned long long start; /* of pid: guards against pid reuse */
	int ctl;                  /* until committed; -1 after */
};

/* The name the holder shows in ps, top and /proc/PID/comm. */
#define NET_HOLDER_COMM "husk-ports"

/* Bind every port's host address and port; the first that the kernel
 * refuses fails the whole with the port, the address and, where the
 * kernel tells, the process that holds it. A port without a host port
 * gets one the kernel picks (an ephemeral one: ip_local_port_range), and
 * another while taken(port, data) says it is mapped already; p is
 * updated with the ports picked. */
typedef bool (*net_port_taken_fn)(const struct net_port *p, void *data);
int net_ports_bind(struct net_port *p, size_t n, net_port_taken_fn taken, void *data,
		   struct net_bound *b, struct hk_err *err);
void net_bound_close(struct net_bound *b);

/* Start the holder of container id's ports with b's sockets (closed here,
 * the holder keeps them), watching the process pid (0: none) if it still
 * has start time start. */
int net_holder_start(struct net_bound *b, const char *id, pid_t pid, unsigned long long start,
		     struct net_holder *h, struct hk_err *err);
/* The record naming the holder is written: from now on it stays. */
int net_holder_commit(struct net_holder *h, struct hk_err *err);
/* A holder never committed: stop it. For _cleanup_. */
void net_holder_abandon(struct net_holder *h);
/* Kill the holder pid if it is still the process started at start, and
 * wait until it is gone (its ports free). Gone already: not an error. */
int net_holder_stop(pid_t pid, unsigned long long start, struct hk_err *err);

#endif
