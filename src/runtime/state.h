/* Per-container state under --root/<id>: a directory locked with flock,
 * state.json written atomically, and exec.fifo until the container starts. */
#ifndef HUSK_RUNTIME_STATE_H
#define HUSK_RUNTIME_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spec/spec.h"

struct hk_err;
struct hk_spec;
struct hk_kv;
struct hk_cgroup;

enum hk_status { HK_CREATING, HK_CREATED, HK_RUNNING, HK_STOPPED, HK_PAUSED };

struct hk_state {
	char *id;
	enum hk_status status; /* as recorded; see state_status() for the live one */
	pid_t pid;
	unsigned long long start_time; /* /proc/<pid>/stat field 22: guards pid reuse */
	/* husk's binary at create (device, inode): until start the process runs
	 * it; once it runs anything else, it has been started. */
	unsigned long long exe_dev, exe_ino;
	/* create --no-new-keyring: exec keeps its caller's session keyring
	 * too, instead of joining the container's (linux/keyring.h) */
	bool no_new_keyring;
	char *keyring; /* the container's session keyring, by name */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339, UTC */
	struct hk_kv *annotations;
	size_t n_annotations;
	struct hk_cgroup *cgroup;
	/* The namespaces the process was in once create had made them (inode
	 * numbers; for time, its time_for_children), 0 where not recorded (a
	 * state written by an older husk): what inspect reports, whatever
	 * the container's processes did since. */
	unsigned long long ns[HK_NS_COUNT];
	/* The hooks that run after create, kept from config.json. */
	struct hk_hook_list poststart, poststop;
};

/* A container's locked state directory. */
struct hk_state_dir {
	int rootfd; /* --root */
	int fd;     /* <root>/<id>, flock'ed */
	char *id;
	char *path; /* <root>/<id>, for messages */
	bool has_owner;
	uid_t owner;    /* the dir's, as opened (has_owner) */
	bool has_state; /* state.json may be there: a rewrite exchanges it */
};

#define HK_ID_MAX 1024

int state_validate_id(const char *id, struct hk_err *err);
/* Open (and with create, make) the --root directory: never through a
 * link, and only if no one but root and husk's user can change it or a
 * directory on the way (common/trusted.h). */
int state_root_open(const char *root, bool create, struct hk_err *err);
/* Make <root>/<id> and lock it; fails if the container exists. */
int state_dir_create(const char *root, const char *id, struct hk_state_dir *sd, struct hk_err *err);
/* Open and lock an existing container; exclusive for changes. Its
 * directory must be husk's user's alone (owned, not writable by others)
 * and not a link; so must state.json (state_read). */
int state_dir_open(const char *root, const char *id, bool exclusive, struct hk_state_dir *sd,
		   struct hk_err *err);
/* For list: open under an open --root, without the lock. A reader needs
 * none: state.json is replaced whole by rename, never written in place.
 * The result cannot be removed. */
int state_dir_peek(int rootfd, const char *root, const char *id, struct hk_state_dir *sd,
		   struct hk_err *err);
void state_dir_close(struct hk_state_dir *sd);
/* Remove the directory with everything in it. */
/* A directory of the state root that holds anything a create would not
 * have left (husk net's records, another tool's files): true, with err. */
bool state_dir_foreign(struct hk_state_dir *sd, struct hk_err *err);
int state_dir_remove(struct hk_state_dir *sd, struct hk_err *err);

int state_write(struct hk_state_dir *sd, const struct hk_state *st, struct hk_err *err);
/* NULL and err when absent or unreadable. */
/* The config the container was created from, kept in its state dir at
 * create (mode 0600): exec and inspect take it from there, never again
 * from the bundle, which the container itself may be able to change (its
 * root.path "."), as runc keeps its config in its state. */
int state_write_config(struct hk_state_dir *sd, const struct hk_spec *spec, struct hk_err *err);
struct hk_spec *state_load_config(struct hk_state_dir *sd, const struct hk_state *st,
				  struct hk_err *err);
struct hk_state *state_read(struct hk_state_dir *sd, struct hk_err *err);
void state_free(struct hk_state *st);

/* Live status: is the process there (same start time), has it started,
 * is its cgroup frozen? */
enum hk_status state_status(struct hk_state_dir *sd, const struct hk_state *st);
const char *state_status_name(enum hk_status s);
/* A pidfd for the container's process, only if it is still the same
 * process (start time) and is a container's at all: in a mount namespace
 * neither husk's nor pid 1's. -1 and err otherwise: errnum ESRCH when it
 * is gone ("container X: its process is gone"), else a refusal naming the
 * pid and state.json (errnum EPERM). */
int state_pidfd(const struct hk_state_dir *sd, const struct hk_state *st, struct hk_err *err);
/* exec.fifo for start to read: refused unless it is a fifo (not a link)
 * of husk's user. */
int state_open_fifo(const struct hk_state_dir *sd, struct hk_err *err);

/* --pid-file: the pid in decimal, written atomically (a temp file of an
 * unpredictable name, created exclusively, renamed over it: see
 * hk_write_atomic), so a reader never sees a half-written file and nobody
 * who can write that directory can have husk write elsewhere. */
int state_write_pid_file(const char *path, pid_t pid, struct hk_err *err);

/* Open and lock a container's state (exclusive for changes), read it, and
 * hand both to fn; everything is released after. */
typedef int (*state_with_fn)(struct hk_state_dir *sd, struct hk_state *st, void *data,
			     struct hk_err *err);
int state_with(const char *root, const char *id, bool exclusive, state_with_fn fn, void *data,
	       struct hk_err *err);

/* Container ids under the open root, sorted. */
int state_list_ids(int rootfd, char ***ids, size_t *n, struct hk_err *err);

#endif
