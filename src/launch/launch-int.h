/* Inside launch/: the plan a launch follows, and the spec built from it. */
#ifndef HUSK_LAUNCH_LAUNCH_INT_H
#define HUSK_LAUNCH_LAUNCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launch/opts.h"

struct hk_err;
struct img_config;
typedef struct json_object hk_json;

struct launch_plan {
	const struct launch_opts *o;
	const struct img_config *image; /* NULL for a rootfs directory */
	const char *image_id;           /* hex, or NULL */
	const char *id;
	const char *data;   /* the data directory, resolved */
	const char *dir;    /* the container's directory (the bundle): DATA/<id> */
	const char *rootfs; /* what root.path is */
	char **args;        /* the program, before husk-init */
	size_t n_args;
	char **env;
	size_t n_env;
	const char *cwd;
	uint32_t uid, gid;
	uint64_t caps;
	char *netns;               /* --net container:NAME: its network namespace, */
	int netns_fd;              /* open in netns_fd (when netns is set) */
	uint32_t map_uid, map_gid; /* --userns=auto: root's uid and gid ranges, */
	uint32_t map_size;         /* of map_size ids; else 0 */
	int rootfs_fd;             /* a rootfs directory SOURCE, open (O_PATH); else -1 */
	char **ports;              /* -p */
	size_t n_ports;
	char **exposed; /* -P: the image's ExposedPorts keys, as they are */
	size_t n_exposed;
	int log_fd;           /* -d: the logger's pipe, -1 otherwise */
	int dir_fd;           /* -dt: DIR (O_PATH), which the console socket's path names */
	int console_ctl;      /* -dt: closed once the create is done (console.h), or -1 */
	char *console_socket; /* -dt: /proc/self/fd/<dir_fd>/console.sock */
	int host_mntns;       /* the host's mount namespace, while launch is in its own */
	int cache_hold;       /* the image cache held shared until .layers is written, or -1 */
	char owner[33];       /* the token in DIR/.owner and the cleanup hooks */
	bool user;            /* run by an ordinary user, in its namespace (user.h) */
	bool ranged;          /* that namespace maps the user's subordinate ids */
};

/* The capability set: the default one, with --cap-add / --cap-drop. */
int launch_caps(const struct launch_opts *o, uint64_t *caps, struct hk_err *err);
/* The seccomp profile for a capability set (an OCI linux.seccomp object). */
hk_json *launch_seccomp_default(uint64_t caps);
/* config.json for the plan (malloc'd JSON text). */
char *launch_spec_json(const struct launch_plan *p, hk_json **tree, struct hk_err *err);
/* The program, environment, cwd and user from the options and image. */
int launch_process(struct launch_plan *p, struct hk_err *err);
void launch_plan_clear(struct launch_plan *p);

#endif
