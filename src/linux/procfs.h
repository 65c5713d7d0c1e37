/* husk's own writes into /proc, through a procfs instance nobody else can
 * reach: a fresh, detached mount (fsopen + fsmount) whose files are opened
 * beneath it without symlinks or mount crossings, and checked to be procfs.
 * A container's mounts or links over /proc cannot redirect them
 * (CVE-2025-52881). */
#ifndef HUSK_LINUX_PROCFS_H
#define HUSK_LINUX_PROCFS_H

#include <stdbool.h>
#include <stdint.h>

struct hk_err;

/* A private procfs of the caller's pid namespace; an fd of its root.
 * Rootless, the kernel refuses one where the pid namespace is not of a
 * user namespace husk is privileged in (an ordinary user, or root of a
 * rootless engine's namespace, in the host's pid namespace): then, rather
 * than failing, the procfs mounted at /proc, opened without following a
 * link and checked to be the root of a procfs, which procfs_write never
 * leaves (no mount crossings, no links). */
int procfs_open(struct hk_err *err);
/* Write value to rel (e.g. "sys/net/ipv4/ip_forward", "<pid>/oom_score_adj"). */
int procfs_write(int procfd, const char *rel, const char *value, struct hk_err *err);

/* The number after "Key:" in the text of /proc/<pid>/status (base 16 for
 * the Cap* masks, 10 for the rest); false when the line is missing. */
bool procfs_status_u64(const char *status, const char *key, int base, uint64_t *out);

#endif
