/* config.json decoded into plain C structs. Nothing after spec/ sees JSON.
 * Arrays are pointer + count; strings are owned by the struct. */
#ifndef HUSK_SPEC_SPEC_H
#define HUSK_SPEC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec/resources.h"

struct hk_err;

enum hk_ns_type {
	HK_NS_PID,
	HK_NS_NET,
	HK_NS_MNT,
	HK_NS_IPC,
	HK_NS_UTS,
	HK_NS_CGROUP,
	HK_NS_USER,
	HK_NS_TIME,
	HK_NS_COUNT
};

struct hk_namespace {
	enum hk_ns_type type;
	char *path; /* NULL: create a new one; else join this one */
};

/* One range of linux.uidMappings / gidMappings (or of a mount's). */
struct hk_idmap {
	uint32_t container_id, host_id, size;
};

/* An idmapped mount (config.md: the idmap and ridmap options, a mount's
 * uidMappings and gidMappings). */
enum hk_mount_idmap {
	HK_IDMAP_NONE,
	HK_IDMAP_MOUNT,     /* the mount itself */
	HK_IDMAP_RECURSIVE, /* ridmap: every mount of the tree */
};

/* A mount's options split into what the kernel wants where, decoded with
 * the spec (spec_mount_opts_parse). */
struct hk_mount_opts {
	unsigned int attr_set, attr_clr; /* MOUNT_ATTR_* for the mount itself */
	bool recursive_attr;             /* r* variants: apply to the whole tree */
	unsigned long propagation;       /* MS_SHARED|MS_SLAVE|... (| MS_REC) */
	bool bind, rbind;
	bool tmpcopyup; /* a tmpfs starts with a copy of what it covers */
	char **data;    /* filesystem options, "key" or "key=value" */
	size_t n_data;
};

struct hk_mount {
	char *destination; /* absolute, cleaned */
	char *type;        /* NULL for a bind mount given only by options */
	char *source;      /* bind: absolute host path (resolved against the bundle) */
	char **options;
	size_t n_options;
	struct hk_mount_opts opts; /* options, decoded */
	enum hk_mount_idmap idmap;
	/* The idmap's ranges; none: the container's user namespace's. */
	struct hk_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
};

struct hk_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct hk_caps {
	bool present; /* process.capabilities given at all */
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

/* A set of CPU or NUMA node numbers, from a list such as "0-3,7". */
#define HK_IDSET_MAX 1024
struct hk_idset {
	bool set; /* given and not empty */
	uint64_t bits[HK_IDSET_MAX / 64];
};

/* process.scheduler: the fields of sched_setattr(2), checked. */
struct hk_sched {
	bool set;
	uint32_t policy; /* SCHED_* */
	int32_t nice;
	uint32_t priority;
	uint64_t flags; /* SCHED_FLAG_* */
	uint64_t runtime, deadline, period;
};

/* process.ioPriority: ioprio_set(2)'s class and level. */
struct hk_ioprio {
	bool set;
	int klass; /* IOPRIO_CLASS_RT, _BE or _IDLE */
	int level; /* 0 (highest) .. 7 */
};

/* linux.memoryPolicy: set_mempolicy(2)'s mode, its flags and the nodes. */
struct hk_mempolicy {
	bool set;
	int mode;           /* MPOL_* */
	unsigned int flags; /* MPOL_F_* */
	struct hk_idset nodes;
};

struct hk_process {
	bool terminal;
	bool has_console_size;
	unsigned short console_height, console_width;
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	bool has_umask;
	mode_t umask;
	char **args;
	size_t n_args;
	char **env;
	size_t n_env;
	char *cwd;
	struct hk_caps caps;
	struct hk_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile; /* NULL or non-empty */
	char *selinux_label;
	struct hk_sched sched;
	struct hk_ioprio ioprio;
	/* execCPUAffinity, for an exec'd process (not the container's first) */
	struct hk_idset cpus_initial, cpus_final;
};

struct hk_device {
	char type; /* 'c', 'b', 'u', 'p' */
	char *path;
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

/* A device cgroup rule; major/minor -1 means any. */
struct hk_dev_rule {
	bool allow;
	char type; /* 'a', 'c', 'b' */
	int64_t major, minor;
	char access[4]; /* subset of "rwm" */
};

/* linux.timeOffsets of one clock. */
struct hk_time_offset {
	bool set;
	int64_t secs;
	uint32_t nanosecs;
};

struct hk_kv {
	char *key;
	char *value;
};

/* One of linux.netDevices: a host interface moved into the container. */
struct hk_netdev {
	char *name;     /* on the host */
	char *new_name; /* in the container; NULL: the same */
};

/* linux.seccomp, checked but still as names: libseccomp is linux/'s. */
enum hk_scmp_action {
	HK_SCMP_KILL,
	HK_SCMP_KILL_PROCESS,
	HK_SCMP_KILL_THREAD,
	HK_SCMP_TRAP,
	HK_SCMP_ERRNO,
	HK_SCMP_TRACE,
	HK_SCMP_ALLOW,
	HK_SCMP_LOG,
	HK_SCMP_NOTIFY,
};

enum hk_scmp_op {
	HK_SCMP_NE,
	HK_SCMP_LT,
	HK_SCMP_LE,
	HK_SCMP_EQ,
	HK_SCMP_GE,
	HK_SCMP_GT,
	HK_SCMP_MASKED_EQ,
};

#define HK_SCMP_FLAG_LOG 1u
#define HK_SCMP_FLAG_SPEC_ALLOW 2u
#define HK_SCMP_FLAG_WAIT_KILLABLE_RECV 4u

struct hk_seccomp_arg {
	unsigned int index;
	uint64_t value, value_two;
	enum hk_scmp_op op;
};

struct hk_seccomp_rule {
	char **names;
	size_t n_names;
	enum hk_scmp_action action;
	bool has_errno;
	uint32_t errno_ret; /* ERRNO: the errno; TRACE: the tracer's message */
	struct hk_seccomp_arg *args;
	size_t n_args;
};

struct hk_seccomp {
	bool present;
	enum hk_scmp_action default_action;
	bool has_default_errno;
	uint32_t default_errno;
	char **archs; /* "SCMP_ARCH_X86_64", ... (checked names) */
	size_t n_archs;
	unsigned int flags; /* HK_SCMP_FLAG_* */
	char *listener_path;
	char *listener_metadata;
	struct hk_seccomp_rule *rules;
	size_t n_rules;
};

/* config.json "hooks": when each kind runs is the runtime's business
 * (runtime/hooks.c); here they are only decoded. */
enum hk_hook_kind {
	HK_HOOK_PRESTART,
	HK_HOOK_CREATE_RUNTIME,
	HK_HOOK_CREATE_CONTAINER,
	HK_HOOK_START_CONTAINER,
	HK_HOOK_POSTSTART,
	HK_HOOK_POSTSTOP,
	HK_HOOK_KINDS
};

struct hk_hook {
	char *path; /* absolute */
	char **args;
	size_t n_args;
	char **env;
	size_t n_env;
	int timeout; /* seconds, 0: none */
};

struct hk_hook_list {
	struct hk_hook *v;
	size_t n;
};

struct hk_spec {
	char *text; /* the config.json it was parsed from, as it was */
	size_t text_len;
	char *oci_version;
	char *bundle;    /* absolute bundle directory */
	char *root_path; /* absolute */
	bool root_readonly;
	char *hostname;
	char *domainname;
	struct hk_process process;
	struct hk_mount *mounts;
	size_t n_mounts;
	struct hk_namespace *namespaces;
	size_t n_namespaces;
	char *cgroups_path;
	struct hk_dev_rule *dev_rules;
	size_t n_dev_rules;
	struct hk_resources resources; /* linux.resources but devices */
	struct hk_device *devices;
	size_t n_devices;
	char **masked_paths;
	size_t n_masked_paths;
	char **readonly_paths;
	size_t n_readonly_paths;
	unsigned long rootfs_propagation; /* MS_* or 0 when absent */
	struct hk_idmap *uid_mappings;
	size_t n_uid_mappings;
	struct hk_idmap *gid_mappings;
	size_t n_gid_mappings;
	struct hk_time_offset monotonic, boottime;
	struct hk_kv *sysctl;
	size_t n_sysctl;
	struct hk_kv *annotations;
	size_t n_annotations;
	struct hk_hook_list hooks[HK_HOOK_KINDS];
	struct hk_seccomp seccomp;
	char *mount_label; /* linux.mountLabel, NULL or non-empty */
	struct hk_netdev *netdevs;
	size_t n_netdevs;
	bool has_personality;
	unsigned long personality; /* PER_LINUX or PER_LINUX32 */
	struct hk_mempolicy mempolicy;
};

/* Read bundle/config.json, decode and validate it. bundle may be relative. */
struct hk_spec *spec_load(const char *bundle, struct hk_err *err);
/* bundle/config.json's text (a regular file, read without waiting on a fifo
 * or device); *abs: the bundle's absolute path, when not NULL. */
char *spec_read_config(const char *bundle, char **abs, size_t *len, struct hk_err *err);
/* The same, refusing a symbolic link at config.json (exec, whose bundle
 * the container may write). */
char *spec_read_config_nofollow(const char *bundle, char **abs, size_t *len, struct hk_err *err);
/* Decode and validate a JSON text; bundle must be absolute. */
struct hk_spec *spec_parse(const char *json, size_t len, const char *bundle, struct hk_err *err);
/* The same from the tree of that text, built rather than parsed (husk
 * launch's): root is only read. The text must be valid UTF-8 (the caller
 * checks: no parse does it here). */
struct json_object;
struct hk_spec *spec_from_json(struct json_object *root, const char *json, size_t len,
			       const char *bundle, struct hk_err *err);
void spec_free(struct hk_spec *spec);
/* An OCI process object on its own (`exec --process FILE`). */
struct hk_process *spec_parse_process(const char *json, size_t len, struct hk_err *err);
/* The "process" of a config's text, nothing else decoded or checked (exec
 * reads the bundle's config, which the container may be able to write: its
 * root.path is not looked at on the host). */
struct hk_process *spec_parse_config_process(const char *json, size_t len, struct hk_err *err);
/* Free what a process owns and zero it (the struct itself stays). */
void spec_process_clear(struct hk_process *p);
static inline void spec_freep(struct hk_spec **p)
{
	spec_free(*p);
}
#define _cleanup_spec_ __attribute__((cleanup(spec_freep)))

/* What husk derives for a container from a validated spec, which stays as
 * it was decoded: the mounts husk adds (the notify socket's) after the
 * spec's, and the process's environment with what husk adds to it
 * (NOTIFY_SOCKET, LISTEN_FDS, LISTEN_PID, HOME). */
struct hk_derived {
	struct hk_mount *mounts; /* the spec's (shallow copies), then husk's own */
	size_t n_mounts;
	size_t n_spec_mounts; /* mounts from here on are husk's, owned */
	char **env;           /* NULL-terminated, owned */
	size_t n_env;
};

/* d from s's mounts (s may be NULL: none) and p's environment. */
void spec_derive(const struct hk_spec *s, const struct hk_process *p, struct hk_derived *d);
/* A mount of husk's, after the others: zeroed, owned by d. */
struct hk_mount *spec_derived_add_mount(struct hk_derived *d);
/* kv ("NAME=value", malloc'd) appended to the environment, owned by d. */
void spec_derived_add_env(struct hk_derived *d, char *kv);
/* The value of name in d's environment, NULL when it has none. */
const char *spec_derived_getenv(const struct hk_derived *d, const char *name);
void spec_derived_free(struct hk_derived *d);

/* The name a moved network interface has in the container. */
const char *spec_netdev_name(const struct hk_netdev *d);
/* A bind mount: type "bind", or a bind or rbind option (config.md). */
bool spec_mount_is_bind(const struct hk_mount *m);
/* A mount's options decoded into *out (spec_mount_opts_free it); fails on
 * an option husk knows of and does not do yet. */
int spec_mount_opts_parse(char **options, size_t n, struct hk_mount_opts *out, struct hk_err *err);
void spec_mount_opts_free(struct hk_mount_opts *o);
/* Every option name spec_mount_opts_parse understands (not the
 * filesystem-specific ones it passes on), for `husk features`. */
const char *const *spec_mount_option_names(size_t *n);
/* The namespace entry of a type, or NULL when the config does not list it. */
const struct hk_namespace *spec_ns(const struct hk_spec *spec, enum hk_ns_type type);
/* The namespace (enum hk_ns_type) a sysctl key belongs to, -1 for a key
 * of no namespace (one that would change the host). */
int spec_sysctl_ns(const char *key);
const char *spec_ns_name(enum hk_ns_type type);

/* CAP_* name of a capability number, NULL past the table (the last known
 * is returned by spec_cap_last()). */
const char *spec_cap_name(int cap);
/* CAP_* name to number, -1 when unknown. */
int spec_cap_from_name(const char *name);
int spec_cap_last(void);

const char *spec_hook_kind_name(enum hk_hook_kind kind);
/* The names linux.memoryPolicy knows (for `features`). */
const char *const *spec_mempolicy_modes(size_t *n);
const char *const *spec_mempolicy_flags(size_t *n);
void spec_seccomp_clear(struct hk_seccomp *s);
void spec_hook_list_clear(struct hk_hook_list *l);
/* Hook lists to and from JSON objects (state.json keeps the ones that run
 * after create). obj is a json-c object (spec/json.h's hk_json). */
struct json_object;
int spec_decode_hook_list(struct json_object *hooks, const char *path, enum hk_hook_kind kind,
			  struct hk_hook_list *out, struct hk_err *err);
struct json_object *spec_hook_list_json(const struct hk_hook_list *l);

/* The JSON `husk spec` writes: runc's default, or its rootless variant. */
char *spec_default_json(bool rootless);

#endif
