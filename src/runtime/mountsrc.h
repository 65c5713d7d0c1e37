/* Bind mount sources opened on the host's side (issue 16). A container
 * with a user namespace would open them as its mapped root, which a 0700
 * host directory on the way refuses (Kubernetes hostUsers: false volumes,
 * podman --userns=auto -v); and an idmapped mount needs the host's root to
 * make. So, as runc does, husk opens each such source itself: when the
 * container process asks (HK_SYNC_MOUNTS, its mount namespace made), husk
 * enters that mount namespace, clones the source's tree (open_tree
 * OPEN_TREE_CLONE: a copy of the container's view of it, whose locked
 * mount flags stay locked), idmaps it if asked, and sends the fd over
 * (HK_SYNC_MNTFD, one per such mount, in order); the process attaches
 * it where the mount goes. */
#ifndef HUSK_RUNTIME_MOUNTSRC_H
#define HUSK_RUNTIME_MOUNTSRC_H

#include <stdbool.h>
#include <sys/types.h>

struct hk_derived;
struct hk_err;
struct hk_spec;

/* Before the clone: must mounts be opened on the host's side (*host)?
 * When husk runs as root and the container has a user namespace or an
 * idmapped mount; an idmapped mount without root is an error. */
int mountsrc_check(const struct hk_spec *s, const struct hk_derived *d, bool *host,
		   struct hk_err *err);

/* The container process's side: ask, and take one fd per mount that wants
 * one (fds[i], else left -1). The mounts are d's: the spec's, then husk's
 * own, in the order rootfs makes them. */
int mountsrc_request(int sock, const struct hk_spec *s, const struct hk_derived *d, int *fds,
		     struct hk_err *err);

/* husk's side, on HK_SYNC_MOUNTS: in the mount namespace of the process
 * (pid, pidfd), open and send the trees; back in husk's own after. */
int mountsrc_serve(int sock, int pidfd, pid_t pid, const struct hk_spec *s,
		   const struct hk_derived *d, struct hk_err *err);

#endif
