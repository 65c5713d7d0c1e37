/* What husk net knows about each attached container, one record per
 * container in the state directory (default /run/husk-net), all of them
 * read and changed under one flock so that concurrent attaches never
 * lease one address twice. A record is written before anything is made
 * for its container and removed after everything is gone, so after a
 * crash at any point the record still names what to clean up (gc). */
#ifndef HUSK_NETINFO_LEASE_H
#define HUSK_NETINFO_LEASE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "netinfo/ipam.h"
#include "netinfo/ports.h"

struct hk_err;

/* Not inside husk's default state root (/run/husk), where a container
 * named "net" would have its state directory, and `delete --force net`
 * took the leases and the lock for one. Where it was before; records
 * found there are moved over by the first command using the default. */
#define NET_DIR_DEFAULT "/run/husk-net"
#define NET_DIR_OLD "/run/husk/net"

struct net_lease {
	char *id;
	pid_t pid;                     /* 0 when attached by namespace path */
	unsigned long long start_time; /* of pid: guards against pid reuse */
	char *netns;                   /* namespace path, or NULL */
	unsigned long long netns_ino;  /* inode of the namespace */
	char bridge[IF_NAMESIZE];
	struct net_subnet subnet;
	uint32_t addr;
	char veth[IF_NAMESIZE]; /* the host's end */
	struct net_port *ports;
	size_t n_ports;
	pid_t holder_pid;                /* the process holding the ports, or 0 */
	unsigned long long holder_start; /* of holder_pid */
};

struct net_store {
	int dirfd;
	int lockfd;
	bool exclusive; /* the lock: no writer is at work but this one */
};

/* Open (making it if needed) the state directory and take its lock,
 * shared or exclusive. The default directory first takes over the records
 * of NET_DIR_OLD, if there are any. */
int net_store_open(struct net_store *st, const char *dir, bool exclusive, struct hk_err *err);
/* Move the records of the directory old into st (locked exclusively),
 * under old's lock, then remove old; no directory old: nothing to do. A
 * record in both is refused. (Exposed for the unit tests.) */
int net_store_migrate(struct net_store *st, const char *old, struct hk_err *err);
void net_store_close(struct net_store *st);

/* Every record, sorted by id. Under the exclusive lock, the temp files of
 * writers that died half way (killed between write and rename) go. */
int net_store_load(struct net_store *st, struct net_lease **out, size_t *n, struct hk_err *err);
int net_store_put(struct net_store *st, const struct net_lease *l, struct hk_err *err);
/* Removing a record that is not there is not an error. */
int net_store_del(struct net_store *st, const char *id, struct hk_err *err);

/* The record of container id in dir, for readers outside husk net
 * (inspect): no lock and nothing made (a record is replaced whole by a
 * rename, never written in place). 1 found, 0 none (or no dir), -1 error. */
int net_lease_find(const char *dir, const char *id, struct net_lease *out, struct hk_err *err);

/* Records as text, one "key value" line each (no JSON library below cli/). */
char *net_lease_format(const struct net_lease *l);
int net_lease_parse(const char *text, const char *what, struct net_lease *l, struct hk_err *err);
void net_lease_free(struct net_lease *l);
void net_leases_free(struct net_lease *v, size_t n);

/* A file name safe container id: not empty, no '/', not "." or "..". */
int net_id_check(const char *id, struct hk_err *err);

/* Whether the container behind a record still exists: its pid alive with
 * the same start time, or its namespace path still the same namespace. */
bool net_lease_alive(const struct net_lease *l);
/* Whether a hook whose state names pid (0: none) may take l as its
 * container's record: l names that pid; or, with no pid to compare, l's
 * container is gone (its process, or for a record attached by --netns
 * alone its namespace). A record naming a live process of another pid is
 * never the caller's: two containers alive at once have two pids. */
bool net_lease_is_callers(const struct net_lease *l, pid_t pid);

#endif
