/* husk launch: run a program from a root filesystem directory or an OCI
 * image with a good engine's defaults, through the same create/start code
 * as the OCI face (runtime/container.c), so list/state/exec/kill/delete
 * see the container. */
#ifndef HUSK_LAUNCH_LAUNCH_H
#define HUSK_LAUNCH_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launch/opts.h"

struct hk_err;
struct overlay_trash;

/* A fresh container id: "hk" and 12 random hex digits. */
char *launch_new_id(void);
/* Launch; *status is the program's exit status (foreground) or 0. */
int launch_run(struct launch_opts *o, int *status, struct hk_err *err);
/* The poststop hook: unmount and (unless keep) remove a container's dir;
 * with owner (the --owner token), only a dir whose .owner holds it. With
 * later, the dir's files are left in DATA/.trash for the caller to remove
 * (overlay_trash_empty, launch/overlay.h). */
int launch_cleanup(const char *dir, bool keep, const char *owner, struct overlay_trash *later,
		   struct hk_err *err);

/* Option values (launch/parse.c), pure functions for the CLI and tests. */
int launch_parse_size(const char *s, int64_t *bytes, struct hk_err *err);
int launch_parse_cpus(const char *s, int64_t *quota, struct hk_err *err);
int launch_parse_volume(const char *s, struct launch_volume *v, struct hk_err *err);
int launch_parse_net(const char *s, struct launch_opts *o, struct hk_err *err);
int launch_parse_share(const char *s, unsigned *mask, struct hk_err *err);
/* --log-opt max-size=SIZE | max-file=N */
int launch_parse_log_opt(const char *s, struct launch_log_opts *lo, struct hk_err *err);
/* "UID[:GID]" (numbers); 1 when it is a name, to look up in the rootfs. */
int launch_parse_user(const char *s, uint32_t *uid, uint32_t *gid, bool *has_gid,
		      struct hk_err *err);
void launch_volume_clear(struct launch_volume *v);

#endif
