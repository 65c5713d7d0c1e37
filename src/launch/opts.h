/* husk launch's options, as the command line gives them: the types every
 * file of launch/ shares (launch.h declares what launch does with them). */
#ifndef HUSK_LAUNCH_OPTS_H
#define HUSK_LAUNCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct launch_volume {
	char *host; /* absolute, resolved */
	char *ctr;  /* absolute */
	bool ro;
};

/* DEFAULT: bridge for root, pasta for an ordinary user (as podman's) */
enum launch_net {
	LAUNCH_NET_DEFAULT,
	LAUNCH_NET_BRIDGE,
	LAUNCH_NET_NONE,
	LAUNCH_NET_HOST,
	LAUNCH_NET_CONTAINER,
	LAUNCH_NET_PASTA,
};

/* -d's output.log: at most max_files files of max_size bytes (--log-opt
 * max-size, max-file, as docker's json-file driver). */
struct launch_log_opts {
	int64_t max_size;
	int max_files;
};

/* --pids-limit's default: podman's (docker sets none); for an ordinary
 * user none, as rootless podman's where the user has no cgroup of their
 * own (cgroup v1): a limit needs one */
#define LAUNCH_PIDS_LIMIT 2048
#define LAUNCH_PIDS_DEFAULT (-1)

#define LAUNCH_LOG_MAX_SIZE (10 << 20)
#define LAUNCH_LOG_MAX_FILES 3

struct launch_opts {
	const char *root;   /* husk's state root (--root) */
	const char *name;   /* NULL: generated */
	const char *source; /* rootfs directory or image */
	char **args;        /* CMD ARGS (NULL-terminated), may be empty */
	size_t n_args;
	const char *entrypoint; /* NULL: the image's */
	bool rm, detach, interactive, tty, keep, read_only, init;
	bool no_ro_tmpfs; /* --read-only-tmpfs=false */
	char **env;       /* KEY=VAL */
	size_t n_env;
	const char *workdir, *user, *hostname;
	struct launch_volume *volumes;
	size_t n_volumes;
	enum launch_net net;
	const char *net_container; /* --net container:NAME */
	char **publish;
	size_t n_publish;
	bool publish_all; /* -P: the image's ExposedPorts */
	const char *bridge, *subnet;
	int64_t memory;    /* bytes, 0: no limit */
	int64_t cpu_quota; /* us per 100 ms, 0: no limit */
	int64_t pids;      /* 0: no limit; LAUNCH_PIDS_DEFAULT: the default */
	bool userns_auto;
	char **cap_add, **cap_drop;
	size_t n_cap_add, n_cap_drop;
	const char *seccomp;   /* NULL: the default profile; "unconfined"; a file */
	unsigned share;        /* 1 << HK_NS_*: namespaces left shared with the host */
	const char *data_dir;  /* per-container dirs (writable layer); NULL: default */
	const char *cache_dir; /* unpacked layers; NULL: default */
	int64_t max_ratio;     /* --max-layer-ratio (image.h's max_ratio) */
	struct launch_log_opts log;
	const char *self;      /* husk-launch's own path, for the cleanup hook */
	const char *husk;      /* husk's path, for the network hooks */
	const char *init_path; /* husk-init */
	int aftercare;         /* husk-launch's after-care socket (aftercare.h); < 0: none */
};

#define LAUNCH_DATA_DIR "/var/lib/husk/containers"
#define LAUNCH_CACHE_DIR "/var/lib/husk/images"
/* an ordinary user's (launch/user.h) */
#define LAUNCH_USER_DATA_DIR "$XDG_DATA_HOME/husk (~/.local/share/husk)"
#define LAUNCH_USER_CACHE_DIR "$XDG_CACHE_HOME/husk (~/.cache/husk)"

#endif
