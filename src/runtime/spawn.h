/* clone3 of the container's first process and the parent's side of the
 * setup handshake. */
#ifndef HUSK_RUNTIME_SPAWN_H
#define HUSK_RUNTIME_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec/spec.h"

struct hk_seccomp_bpf;

struct hk_err;
struct hk_cgroup;

struct hk_spawn {
	/* in */
	const struct hk_spec *spec;
	const struct hk_seccomp_bpf *seccomp_bpf; /* spec's filter, compiled */
	const char *id;
	pid_t host_pid;   /* in the child: its pid as husk sees it (from GO) */
	bool in_cgroup;   /* in the child: husk said CGROUP */
	uint32_t cg_kept; /* in the child: the hierarchies it is in (cg_kept) */
	bool user_joined; /* in the child: in its user namespace joined by path */
	bool recorded;    /* in the child: husk said DONE (create may be gone) */
	bool listened;    /* in the child: ... and a foreground run reads on */
	struct hk_cgroup *cgroup;
	int state_fd; /* O_PATH fd of the state dir: the child opens exec.fifo in it */
	int ns_fds[HK_NS_COUNT];
	bool no_pivot;
	int preserve_fds;    /* all fds from 3 that go to the container */
	int listen_fds;      /* how many of them are LISTEN_FDS */
	int runtime_mntns;   /* > 0: setns to it right after the clone */
	bool host_sources;   /* husk opens bind mount sources (runtime/mountsrc.h) */
	bool netdevs_moved;  /* linux.netDevices done (in husk) */
	bool pidns_in_child; /* the pid namespace by path is the child's to join */
	bool prefaulted;     /* in the child: its pages mapped right after the clone */
	int timens_fd;       /* in the child: /proc/self/timens_offsets, or -1 */
	const char *keyring; /* the session keyring's name; NULL: the caller's */
	/* Called once a cgroup manager that makes the cgroup after the
	 * clone (systemd's scope) has made it: create records it in the
	 * state at once, so that a create killed later leaves a state that
	 * knows its scope (seventh outside attack, F1). */
	int (*cgroup_made)(struct hk_spawn *sp, void *data, struct hk_err *err);
	void *cgroup_made_data;
	/* What husk adds to the spec (which it never changes): mounts after
	 * the spec's, the process's environment (spec_derive). */
	struct hk_derived derived;
	/* out */
	pid_t pid;
	int pidfd;
	int sock;       /* parent's end of the sync socket, kept for `run` */
	int pty_master; /* the terminal's master when process.terminal, else -1 */
};

/* Start the child and wait until it reports its world ready (or fails, in
 * which case it is killed and reaped before returning). */
int spawn_container(struct hk_spawn *sp, struct hk_err *err);

/* The child's side: builds the container and execs; never returns. */
void __attribute__((noreturn)) child_main(struct hk_spawn *sp, int sock);

#endif
