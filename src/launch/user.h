/* husk launch run by an ordinary user (not root, in the initial user
 * namespace), as rootless podman runs a container: launch first makes a
 * user namespace in which the user is root (and, when the user has
 * subordinate ids in /etc/subuid and /etc/subgid, ids 1 and up are those,
 * mapped by newuidmap and newgidmap), with a mount namespace of its own,
 * and does everything else there: the image's layers are unpacked there
 * (their owners are the namespace's ids), the overlay is mounted there
 * (overlayfs may be mounted in a user namespace since Linux 5.11), and the
 * container is created there, the OCI face acting rootless in it, as
 * under rootless podman. */
#ifndef HUSK_LAUNCH_USER_H
#define HUSK_LAUNCH_USER_H

#include <stdbool.h>

struct hk_err;
struct launch_opts;

/* Not root, and in the initial user namespace. */
bool launch_by_user(void);

/* The user's default data (cache false) or cache directory:
 * $XDG_DATA_HOME/husk or ~/.local/share/husk, $XDG_CACHE_HOME/husk or
 * ~/.cache/husk; malloc'd. */
char *launch_user_default_dir(bool cache, struct hk_err *err);
/* $HUSK_CACHE or $HUSK_DATA, else root's default or the user's; malloc'd. */
char *launch_default_dir(bool cache, struct hk_err *err);

/* Enter the user's namespace (and a mount namespace of its own in it).
 * need_range: fail when the user has no subordinate ids (--userns auto);
 * otherwise, without them, only the user's own uid and gid are mapped, to
 * 0. *ranged tells which. After it, husk is rootless (hk_rootless) and the
 * trusted walks count as root's only the directories that were root's in
 * the walks made before it (hk_trusted_record_roots). */
int launch_user_enter(bool need_range, bool *ranged, struct hk_err *err);

/* Everything a launch by the user checks on the host, then
 * launch_user_enter: --net (no bridge), the state root, data and cache
 * directories walked as the user. */
int launch_user_prepare(struct launch_opts *o, bool *ranged, struct hk_err *err);
/* The same for a command that works on the data and cache directories
 * only (husk image prune): both walked as the user, then entered. */
int launch_user_prepare_dirs(const char *data_dir, const char *cache_dir, bool *ranged,
			     struct hk_err *err);

#endif
