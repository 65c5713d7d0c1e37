/* A launch's state before its directory and mounts exist, and the mount
 * namespace those mounts live in (see reserve.c). */
#ifndef HUSK_LAUNCH_RESERVE_H
#define HUSK_LAUNCH_RESERVE_H

struct hk_err;
struct hk_state_dir;

#define LAUNCH_OWNER_LEN 32

/* A random token (hex) naming one launch: DIR/.owner and the hooks'
 * --owner. */
void launch_new_owner(char owner[LAUNCH_OWNER_LEN + 1]);
/* Make the container's state dir under root, locked, with a "creating"
 * state whose poststop hook (self launch --cleanup DIR --owner OWNER)
 * removes dir. */
int launch_reserve(const char *root, const char *id, const char *self, const char *dir,
		   const char *owner, struct hk_state_dir *sd, struct hk_err *err);
/* Remove a reservation create did not take over (sd->fd >= 0). */
void launch_unreserve(struct hk_state_dir *sd);

/* Enter a mount namespace of launch's own (slave of the host's); *host
 * keeps the host's, for launch_mountns_leave. */
int launch_mountns_enter(int *host, struct hk_err *err);
/* Back to the host's mount namespace (and the same working directory). */
void launch_mountns_leave(int *host);

#endif
