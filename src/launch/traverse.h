/* --userns auto: search permission on the data directory (and the one
 * above it) for the container root's host uid only (see traverse.c). */
#ifndef HUSK_LAUNCH_TRAVERSE_H
#define HUSK_LAUNCH_TRAVERSE_H

#include <stdint.h>

struct hk_err;

/* Where the file system has no ACLs: marks (in DATA) that launch opened
 * DATA, or its parent, to others' search (o+x), to be closed again when
 * no --userns auto container needs it any more. */
#define TRAVERSE_MARK_DATA ".userns/.o+x"
#define TRAVERSE_MARK_PARENT ".userns/.o+x-parent"

/* ACL entry user:uid:--x on data_dir and its parent (when husk's user
 * owns them and, for the parent, others may not search it). */
int traverse_grant(const char *data_dir, uint32_t uid, struct hk_err *err);
/* Drop those entries again, for the container whose directory is dir
 * (best effort: the cleanup goes on); the o+x of a file system without
 * ACLs goes with the last container that held a range. */
void traverse_revoke(const char *data_dir, uint32_t uid, const char *dir);

#endif
