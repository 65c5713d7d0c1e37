/* User and time namespaces: the id maps the parent writes for the child,
 * and the time offsets the child sets for itself. */
#ifndef HUSK_LINUX_USERNS_H
#define HUSK_LINUX_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;
struct hk_spec;
struct hk_idmap;

/* Write /proc/<pid>/uid_map and gid_map: directly when husk is root, or when
 * an unprivileged user maps only its own ids (setgroups is then denied, as
 * the kernel requires); through newuidmap/newgidmap otherwise. */
int userns_write_maps(pid_t pid, const struct hk_spec *spec, struct hk_err *err);
/* In the child, once mapped or joined: become root of the user namespace,
 * staying non-dumpable (out of a co-container's ptrace). */
int userns_become_root(struct hk_err *err);
/* In the child, before it enters a user namespace: /proc/self/timens_offsets
 * opened for writing while it is still the host's root, so that the write
 * (checked against the opener's credentials) works without making the
 * child dumpable. -2 when linux.timeOffsets sets nothing. */
int userns_open_time_offsets(const struct hk_spec *spec, struct hk_err *err);
/* In the child: a new time namespace with linux.timeOffsets, entered now
 * (unshare only moves future children; setns moves us: time_namespaces(7)).
 * The offsets go to offsets_fd when >= 0, else by path. */
int userns_new_time(const struct hk_spec *spec, int offsets_fd, struct hk_err *err);
/* Whether setgroups(2) is denied for us (then only an empty list works). */
bool userns_setgroups_denied(void);

/* The text of /proc/<pid>/uid_map or gid_map ("inside outside count" a
 * line) as maps; -1 when a line is malformed. An empty text is no map. */
int userns_parse_map(const char *text, struct hk_idmap **maps, size_t *n);
/* An fd of a new user namespace with these maps (as root: any ranges), for
 * an idmapped mount; the process that made it is gone. */
int userns_with_maps(const struct hk_idmap *uid, size_t n_uid, const struct hk_idmap *gid,
		     size_t n_gid, struct hk_err *err);

#endif
