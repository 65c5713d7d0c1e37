/* OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"):
 * prestart and createRuntime run in husk (the runtime namespace) during
 * create, createContainer and startContainer in the container's
 * namespaces, poststart after start, poststop after delete. */
#ifndef HUSK_RUNTIME_HOOKS_H
#define HUSK_RUNTIME_HOOKS_H

#include <stddef.h>
#include <sys/types.h>

#include "spec/spec.h"

struct hk_err;

/* The state a hook reads on stdin (runtime.md "State"). */
char *hooks_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
		       const struct hk_kv *annotations, size_t n_annotations);
/* The ContainerProcessState a seccomp listener gets with the notify fd
 * (config-linux.md, "Seccomp"). */
char *hooks_process_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
			       const struct hk_kv *annotations, size_t n_annotations,
			       const char *metadata);
/* Run the hooks of one kind in order, each with state on stdin; the first
 * that fails (non-zero exit, signal, timeout) is the error, with what it
 * printed. A hook without "env" gets env, or husk's own environment when
 * env is NULL, as runc gives its own to the hooks it runs and the
 * container process's to those its init runs (createContainer,
 * startContainer). Each runs in dir (NULL: where husk is), as runc runs
 * them: the bundle for the runtime's hooks, the container's root for its
 * own. */
int hooks_run(const struct hk_hook_list *hooks, enum hk_hook_kind kind, const char *state,
	      char *const *env, const char *dir, struct hk_err *err);
/* The same for the kinds whose failure is only a warning (poststart,
 * poststop), with husk's environment: logged, never returned. */
void hooks_run_warn(const struct hk_hook_list *hooks, enum hk_hook_kind kind, const char *state,
		    const char *dir);

/* A hook the running program serves in-process instead of exec'ing it
 * (husk-launch: its own cleanup hook, when it deletes its container
 * itself): fn returns 1 when it ran h, -1 when it ran h and h failed (err
 * set), 0 when h is not one of its own. NULL: none (the default). */
typedef int (*hooks_local_fn)(const struct hk_hook *h, struct hk_err *err);
void hooks_set_local(hooks_local_fn fn);

#endif
