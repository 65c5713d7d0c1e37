/* husk exec: a new process in a running container, in all its namespaces
 * and its cgroup, with the same security treatment as its first process. */
#ifndef HUSK_RUNTIME_EXEC_H
#define HUSK_RUNTIME_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;

struct hk_exec_opts {
	const char *root;
	const char *id;
	const char *process_file; /* --process: an OCI process JSON, instead of the rest */
	char **args;              /* the command after the id */
	size_t n_args;
	char **env; /* --env NAME=VALUE, over the container's */
	size_t n_env;
	const char *cwd;
	bool has_user, has_group;
	uid_t uid;
	gid_t gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char **caps; /* --cap: added to bounding, effective and permitted */
	size_t n_caps;
	bool no_new_privs;
	const char *apparmor;      /* --apparmor */
	const char *process_label; /* --process-label (SELinux) */
	bool tty;
	const char *console_socket;
	bool detach;
	const char *pid_file;
	int preserve_fds;
};

/* Runs the process; unless detached waits for it (forwarding signals) and
 * sets *status to its exit status (128+N when killed by signal N). */
int container_exec(const struct hk_exec_opts *o, int *status, struct hk_err *err);

#endif
