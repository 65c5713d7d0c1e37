/* --userns auto: search permission on the data directory (and the one
 * above it) for the container root's host uid only (see traverse.c). */
#ifndef HUSK_LAUNCH_TRAVERSE_H
#define HUSK_LAUNCH_TRAVERSE_H

#include <stdint.h>

struct hk_err;

/* ACL entry user:uid:--x on data_dir and its parent (when husk's user
 * owns them and, for the parent, others may not search it). */
int traverse_grant(const char *data_dir, uint32_t uid, struct hk_err *err);
/* Drop those entries again (best effort: the cleanup goes on). */
void traverse_revoke(const char *data_dir, uint32_t uid);

#endif
