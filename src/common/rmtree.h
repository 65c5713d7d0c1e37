/* Removing a directory tree husk made (an unpacked layer, a container's
 * writable layer) whose contents a container or an image chose: never
 * follows a symlink and never crosses into another mount. */
#ifndef HUSK_COMMON_RMTREE_H
#define HUSK_COMMON_RMTREE_H

struct hk_err;

/* rm -rf dirfd/name; a name that does not exist is no error. */
int hk_rmtree_at(int dirfd, const char *name, struct hk_err *err);

#endif
