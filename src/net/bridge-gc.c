/* The bridges husk makes are recorded in the net state directory
 * (NAME.bridge: its subnet), so that `husk net gc` can remove one that no
 * container uses any more, with its elements in husk's nftables table,
 * and the table itself once no container and no bridge of husk's is left.
 * A bridge husk did not make (there before: the user's) has no record and
 * is never removed; a recorded one with a port husk does not know of
 * (a device someone else attached to it) is kept. Forwarding
 * (net.ipv4.ip_forward), which an attach turns on, stays on: other
 * programs (docker, libvirt) rely on it too, and husk cannot know who. */
#include "net/bridge-gc.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "net/addr.h"
#include "net/link.h"
#include "net/nat.h"

#define RECORD_SUFFIX ".bridge"

/* This network namespace's inode: a record names a device of its own. */
static unsigned long long netns_ino(void)
{
	struct stat st;
	return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

int net_bridge_record(struct net_store *st, const char *name, int index, const struct net_subnet *s,
		      struct hk_err *err)
{
	char sub[NET_SUBNET_STRLEN];
	_cleanup_free_ char *file = xasprintf("%s" RECORD_SUFFIX, name);

	net_subnet_fmt(s, sub);
	_cleanup_free_ char *text = xasprintf("%s\n%d\n%llu\n", sub, index, netns_ino());
	return hk_write_atomic(st->dirfd, file, text, strlen(text), err);
}

/* NAME of NAME.bridge (a name a device may have), or NULL. */
static char *record_name(const char *entry)
{
	size_t len = strlen(entry), sl = strlen(RECORD_SUFFIX);

	if (entry[0] == '.' || len <= sl || len - sl >= IF_NAMESIZE ||
	    strcmp(entry + len - sl, RECORD_SUFFIX) != 0)
		return NULL;
	char *name = xasprintf("%.*s", (int)(len - sl), entry);
	if (strchr(name, '/')) {
		free(name);
		return NULL;
	}
	return name;
}

static bool in_use(const char *name, const struct net_lease *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].bridge, name) == 0)
			return true;
	return false;
}

/* A recorded bridge no lease names: 1 removed, 0 kept (or only its record
 * went: the device was gone, or is not the one husk made: another
 * ifindex, no bridge, without the gateway's address), -1 (err). A record
 * of another network namespace's is left alone. */
static int remove_idle(struct net_nl *nl, struct net_store *st, const char *name,
		       struct hk_err *err)
{
	_cleanup_free_ char *file = xasprintf("%s" RECORD_SUFFIX, name);
	size_t len;
	_cleanup_free_ char *text = hk_read_fileat(st->dirfd, file, 128, &len, err);
	struct net_subnet s;
	struct net_link br;
	char sub[NET_SUBNET_STRLEN];
	int index = 0;
	unsigned long long ino = 0;

	if (!text)
		return -1;
	if (sscanf(text, "%18s %d %llu", sub, &index, &ino) != 3 ||
	    net_subnet_parse(sub, &s, err) < 0)
		return hk_fail(err, 0, "net state %s: not a bridge record", file);
	if (ino != netns_ino()) {
		hk_debug("net gc: %s is another network namespace's", file);
		return 0;
	}
	int r = net_link_get(nl, name, &br, err);
	if (r < 0)
		return -1;
	bool bridge = r > 0 && strcmp(br.kind, "bridge") == 0 && br.index == index;
	if (bridge) {
		int has = net_addr_has(nl, br.index, net_subnet_gateway(&s), s.prefix, err);
		if (has < 0)
			return -1;
		bridge = has > 0;
	}
	if (bridge) {
		int ports = net_link_count_ports(nl, br.index, err);
		if (ports < 0)
			return -1;
		if (ports > 0) {
			hk_debug("net gc: bridge %s has %d port(s) of no container of husk's: kept",
				 name, ports);
			return 0;
		}
	}
	if (net_nat_forget_bridge(name, &s, err) < 0 || (bridge && net_link_del(nl, name, err) < 0))
		return -1;
	if (unlinkat(st->dirfd, file, 0) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "remove net state %s", file);
	return bridge;
}

static void add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

int net_bridges_gc(struct net_nl *nl, struct net_store *st, const struct net_lease *leases,
		   size_t n_leases, char ***gone, size_t *n_gone, bool *table, struct hk_err *err)
{
	int fd = dup(st->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t kept = 0;
	int r = 0;

	*table = false;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return hk_fail(err, errno, "read the net state directory");
	}
	rewinddir(d);
	while (r == 0 && (e = readdir(d))) {
		_cleanup_free_ char *name = record_name(e->d_name);
		if (!name)
			continue;
		if (in_use(name, leases, n_leases)) {
			kept++;
			continue;
		}
		int got = remove_idle(nl, st, name, err);
		if (got < 0)
			r = hk_err_prefix(err, "gc bridge %s", name);
		else if (got == 1)
			add(gone, n_gone, name);
		else if (faccessat(st->dirfd, e->d_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			kept++;
	}
	closedir(d);
	if (r == 0 && kept == 0 && n_leases == 0) {
		/* shared by every state directory in this namespace: only once
		 * it names no bridge and publishes no port of anyone's */
		int removed = net_nat_remove_unused(err);
		if (removed < 0)
			return -1;
		*table = removed == 1;
	}
	return r;
}
