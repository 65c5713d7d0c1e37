/* The container lifecycle, as the OCI runtime spec (runtime.md) defines it:
 * create, start, state, kill, delete; plus run and list as runc has them. */
#ifndef HUSK_RUNTIME_CONTAINER_H
#define HUSK_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;
struct hk_spec;
struct hk_state_dir;

struct hk_create_opts {
	const char *root;
	const char *id;
	const char *bundle;
	const char *pid_file;       /* NULL: none */
	const char *console_socket; /* NULL: none */
	bool no_pivot;
	int preserve_fds;
	bool foreground; /* run without -d: husk stays and may proxy a terminal */
	/* A spec built in memory (husk launch), used instead of loading
	 * bundle/config.json; the caller keeps it. (The caller runs from a
	 * view of husk's binary already: linux/selfexe.h.) */
	struct hk_spec *spec;
	bool keep_stopped;   /* run: leave the stopped container for delete */
	bool no_new_keyring; /* keep the caller's session keyring (runc's flag) */
	bool systemd_cgroup; /* --systemd-cgroup: systemd makes the cgroup */
	/* The container's cgroup must not exist yet (husk launch, which
	 * names it after the container): joining one that exists would put
	 * the container's limits and device rules on whatever is there. */
	bool new_cgroup;
	/* > 0: a mount namespace husk goes back to once the container's has
	 * been copied from the one it runs in, before any hook runs (husk
	 * launch mounts the layers in a namespace of its own: nothing of the
	 * runtime's, a hook's port holder included, may keep it alive). */
	int runtime_mntns;
	/* A state dir the caller made and locked already (state_dir_create:
	 * husk launch writes a state first, so that a launch killed before
	 * create can be deleted). Create takes it over where it would make
	 * its own, setting the caller's fd to -1; if create fails before
	 * that point, it is still the caller's to remove. */
	struct hk_state_dir *reserved;
	/* run: start the container as soon as it is created, under create's
	 * lock (no other command can come between, and the state is not read
	 * back); needs an hk_created with start_err set. */
	bool start;
};

/* What `run` keeps of the process it created. */
struct hk_created {
	pid_t pid;
	unsigned long long start_time; /* the process's, as state.json has it */
	int pidfd;
	int sock;
	int pty; /* the terminal's master, to proxy; -1 when none */
	/* hk_create_opts.start: start's outcome (its error in start_err), and
	 * the NOTIFY_SOCKET listener to forward READY=1 from, -1 when none */
	int start_r;
	int notify;
	struct hk_err *start_err;
};

int container_create(const struct hk_create_opts *o, struct hk_created *out, struct hk_err *err);
int container_start(const char *root, const char *id, struct hk_err *err);
/* create + start; unless detach, wait (forwarding signals) and delete.
 * *status: the container's exit status, 128+N when killed by signal N. */
int container_run(const struct hk_create_opts *o, bool detach, int *status, struct hk_err *err);
int container_kill(const char *root, const char *id, int sig, bool all, struct hk_err *err);
/* force: kill a running container first, and a container that does not
 * exist (any more) is no error, as with runc. */
int container_delete(const char *root, const char *id, bool force, struct hk_err *err);
/* delete --force of the container whose process is pid, started at
 * start_time (/proc/<pid>/stat): one made since under the same id is left
 * alone (0). For those that delete what they ran: run, launch --rm. */
int container_delete_own(const char *root, const char *id, pid_t pid, unsigned long long start_time,
			 struct hk_err *err);

/* The OCI state of one container, as fields for cli/ to print. */
struct hk_container_info {
	char *id;
	pid_t pid;
	const char *status;
	char *bundle;
	char *rootfs;
	char *created;
	char *owner;
	/* The process create recorded and its start time, also once it has
	 * exited (pid is 0 then): what container_delete_own checks. */
	pid_t recorded_pid;
	unsigned long long start_time;
	struct hk_kv *annotations;
	size_t n_annotations;
};

/* The host pids of the container's processes (from its cgroup). */
int container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct hk_err *err);

int container_info(const char *root, const char *id, struct hk_container_info *info,
		   struct hk_err *err);
void container_info_free(struct hk_container_info *info);
int container_list(const char *root, struct hk_container_info **infos, size_t *n,
		   struct hk_err *err);

#endif
