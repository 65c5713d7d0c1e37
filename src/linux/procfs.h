/* husk's own writes into /proc, through a procfs instance nobody else can
 * reach: a fresh, detached mount (fsopen + fsmount) whose files are opened
 * beneath it without symlinks or mount crossings, and checked to be procfs.
 * A container's mounts or links over /proc cannot redirect them
 * (CVE-2025-52881). */
#ifndef HUSK_LINUX_PROCFS_H
#define HUSK_LINUX_PROCFS_H

struct hk_err;

/* A private procfs of the caller's pid namespace; an fd of its root. */
int procfs_open(struct hk_err *err);
/* Write value to rel (e.g. "sys/net/ipv4/ip_forward", "<pid>/oom_score_adj"). */
int procfs_write(int procfd, const char *rel, const char *value, struct hk_err *err);

#endif
