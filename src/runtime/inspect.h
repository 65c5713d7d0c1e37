/* `husk inspect`: what isolates a container, gathered from the host side
 * (/proc/<pid>, the container's cgroup, husk's own records), never from
 * anything the container could have written. Plain data for cli/ to print. */
#ifndef HUSK_RUNTIME_INSPECT_H
#define HUSK_RUNTIME_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The types of the report's fields, and netinfo's formatting of addresses
 * and ports, come with it: inspect's callers take them from here. */
#include "cgroup/cgroup.h"
#include "common/mountinfo.h"
#include "linux/caps.h"
#include "netinfo/ifaddr.h"
#include "netinfo/ipam.h"
#include "netinfo/ports.h"
#include "spec/spec.h"

struct hk_err;

/* A process of the container that is no longer in the namespace husk made
 * for it (it unshared or joined another since create). */
struct hk_inspect_moved {
	pid_t pid;
	unsigned long long ino; /* where it is now */
};

#define INSPECT_MOVED_MAX 16

struct hk_inspect_ns {
	bool known;    /* the kernel has this namespace type */
	bool recorded; /* ino is what create recorded; else pid 1's now (an older husk's state) */
	unsigned long long ino, host_ino;
	/* The processes that left it, the first INSPECT_MOVED_MAX of them. */
	struct hk_inspect_moved moved[INSPECT_MOVED_MAX];
	size_t n_moved, n_moved_all;
};

struct hk_inspect_cgroup {
	bool present;
	int version;
	struct hk_cg_dir *dirs; /* copies of the state's */
	size_t n_dirs;
	char *unit; /* the systemd manager's scope, or NULL (cgroupfs) */
	bool has_stats;
	struct hk_cg_stats stats; /* mem.usage/limit, pids_current/limit */
	bool has_cpu;
	int64_t cpu_quota; /* -1: none */
	uint64_t cpu_period;
};

struct hk_inspect_rootfs {
	char *path;   /* the state's rootfs: where it is on the host */
	char *fstype; /* of the container's "/" mount */
	char *source;
	char *root;    /* the directory of that filesystem mounted as "/" */
	char **lowers; /* overlay: lowerdir, top first */
	size_t n_lowers;
	char *upper, *work;
};

struct hk_inspect {
	char *id;
	const char *status; /* static */
	pid_t pid;          /* 0 when the process is gone */
	bool live;          /* the facts from /proc/<pid> were read */
	bool started;       /* the user's program runs (not created) */
	char *bundle;
	const char *host; /* the /proc entry standing for the host: "/proc/1" or "/proc/self" */
	struct hk_inspect_ns ns[HK_NS_COUNT];
	bool maps_known; /* a process is left in the user namespace husk made */
	struct hk_idmap *uid_map, *gid_map;
	size_t n_uid_map, n_gid_map;
	struct hk_inspect_cgroup cgroup;
	struct hk_capsets caps;
	unsigned long long caps_userns; /* the user namespace pid 1's capabilities count in */
	int cap_last;                   /* highest capability the kernel knows */
	uint64_t seccomp_mode, seccomp_filters, nnp;
	bool config_read; /* the bundle's config.json could be read */
	bool config_seccomp;
	size_t config_rules, config_syscalls;
	struct hk_inspect_rootfs rootfs;
	struct hk_mountinfo *mounts; /* every mount but "/" */
	size_t n_mounts;
	char *mounts_error;       /* why mounts and rootfs type are missing, or NULL */
	struct net_ifaddr *addrs; /* only when the network namespace is its own */
	size_t n_addrs;
	char *net_error; /* why addresses are missing, or NULL */
	bool has_lease;  /* husk net attached it */
	char bridge[IF_NAMESIZE];
	struct net_port *ports;
	size_t n_ports;
};

/* At create: the namespaces of the container's first process, once made
 * (time: time_for_children, where its program will run), into ns[] (0 for
 * a type the kernel lacks). */
void inspect_record_ns(pid_t pid, unsigned long long ns[HK_NS_COUNT]);

/* Everything about container id; a stopped container gives what is left
 * (bundle, config, cgroup). net_dir: husk net's records (NULL: default). */
int container_inspect(const char *root, const char *id, const char *net_dir, struct hk_inspect *out,
		      struct hk_err *err);
void container_inspect_free(struct hk_inspect *in);

/* Whether a namespace (the one husk made) is the host's (shared) or its
 * own. */
static inline bool inspect_ns_isolated(const struct hk_inspect_ns *ns)
{
	return ns->ino != ns->host_ino;
}

#endif
