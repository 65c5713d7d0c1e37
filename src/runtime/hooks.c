#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "spec/json.h"

static hk_json *state_obj(const char *id, const char *status, pid_t pid, const char *bundle,
			  const struct hk_kv *ann, size_t n_ann)
{
	hk_json *j = hk_json_new_obj();
	hk_json *a = hk_json_new_obj();

	hk_json_set_str(j, "ociVersion", HK_OCI_VERSION);
	hk_json_set_str(j, "id", id);
	hk_json_set_str(j, "status", status);
	hk_json_set_int(j, "pid", pid);
	hk_json_set_str(j, "bundle", bundle);
	for (size_t i = 0; i < n_ann; i++)
		hk_json_set_str(a, ann[i].key, ann[i].value);
	hk_json_set(j, "annotations", a);
	return j;
}

char *hooks_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
		       const struct hk_kv *ann, size_t n_ann)
{
	hk_json *j = state_obj(id, status, pid, bundle, ann, n_ann);
	char *text = hk_json_dump(j, 0);
	hk_json_put(j);
	return text;
}

char *hooks_process_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
			       const struct hk_kv *ann, size_t n_ann, const char *metadata)
{
	hk_json *j = hk_json_new_obj();
	hk_json *fds = hk_json_new_arr();

	hk_json_set_str(j, "ociVersion", HK_OCI_VERSION);
	hk_json_append(fds, hk_json_new_str("seccompFd"));
	hk_json_set(j, "fds", fds);
	hk_json_set_int(j, "pid", pid);
	hk_json_set_str(j, "metadata", metadata ? metadata : "");
	hk_json_set(j, "state", state_obj(id, status, pid, bundle, ann, n_ann));
	char *text = hk_json_dump(j, 0);
	hk_json_put(j);
	return text;
}

static void __attribute__((noreturn))
hook_child(const struct hk_hook *h, char *const *env, const char *dir, int in, int out)
{
	char *argv0[] = {h->path, NULL};

	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0)
		_exit(126);
	/* A bundle already removed (a poststop after an engine's cleanup, or
	 * launch's own) is no reason to fail the hook: then "/". */
	if (dir && chdir(dir) < 0 && chdir("/") < 0)
		_exit(126);
	/* Everything else of husk's is close-on-exec. */
	execve(h->path, h->args ? h->args : argv0, h->env ? h->env : env ? env : environ);
	dprintf(STDERR_FILENO, "exec: %s", strerror(errno));
	_exit(127);
}

/* Wait for the hook, at most timeout seconds (0: no limit), reading what it
 * prints meanwhile (a hook that fills the pipe must not hang us): the first
 * line is kept for the error message. -1 on timeout. */
static int wait_hook(pid_t pid, int out, int timeout, int *status, char *said, size_t size)
{
	_cleanup_close_ int pidfd = hk_pidfd_open(pid, 0);
	struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = out, .events = POLLIN}};
	struct timespec start, now;
	size_t kept = 0;
	char buf[4096];

	said[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (pidfd >= 0) {
		long long left = -1;
		if (timeout > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left = (long long)timeout * 1000 -
			       ((long long)(now.tv_sec - start.tv_sec) * 1000 +
				(now.tv_nsec - start.tv_nsec) / 1000000);
			if (left <= 0) {
				hk_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
				waitpid(pid, status, 0);
				return -1;
			}
		}
		int n = poll(p, p[1].fd >= 0 ? 2 : 1, left < 0 || left > INT_MAX ? -1 : (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && (p[1].revents & (POLLIN | POLLHUP))) {
			ssize_t r = read(out, buf, sizeof(buf));
			if (r <= 0) {
				p[1].fd = -1;
			} else if (kept < size - 1) {
				size_t take =
					(size_t)r < size - 1 - kept ? (size_t)r : size - 1 - kept;
				memcpy(said + kept, buf, take);
				kept += take;
				said[kept] = '\0';
			}
		}
		if (n > 0 && (p[0].revents & POLLIN))
			break;
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	said[strcspn(said, "\n")] = '\0';
	return 0;
}

static hooks_local_fn local;

void hooks_set_local(hooks_local_fn fn)
{
	local = fn;
}

static int run_one(const struct hk_hook *h, char *const *env, const char *dir, const char *what,
		   const char *state, struct hk_err *err)
{
	int in[2], out[2], status = 0;
	char said[256];
	int served = local ? local(h, err) : 0;

	if (served != 0)
		return served < 0 ? hk_err_prefix(err, "%s", what) : 0;

	if (pipe2(in, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "%s: pipe", what);
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return hk_fail(err, errno, "%s: pipe", what);
	}
	pid_t pid = fork();
	if (pid == 0)
		hook_child(h, env, dir, in[0], out[1]);
	int e = errno;
	close(in[0]);
	close(out[1]);
	if (pid > 0) {
		/* A hook need not read its stdin; SIGPIPE is ignored only for this
		 * write (an ignored signal would outlive exec in the container). */
		struct sigaction ign = {.sa_handler = SIG_IGN}, old;
		sigaction(SIGPIPE, &ign, &old);
		hk_write_all(in[1], state, strlen(state));
		sigaction(SIGPIPE, &old, NULL);
	}
	close(in[1]);
	if (pid < 0) {
		close(out[0]);
		return hk_fail(err, e, "%s: fork", what);
	}
	int timed_out = wait_hook(pid, out[0], h->timeout, &status, said, sizeof(said)) < 0;
	close(out[0]);
	if (timed_out)
		return hk_fail(err, 0, "%s: %s timed out after %d s", what, h->path, h->timeout);
	if (WIFSIGNALED(status))
		return hk_fail(err, 0, "%s: %s killed by signal %d", what, h->path,
			       WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return hk_fail(err, 0, "%s: %s exited with status %d%s%s", what, h->path,
			       WEXITSTATUS(status), said[0] ? ": " : "", said);
	return 0;
}

int hooks_run(const struct hk_hook_list *hooks, enum hk_hook_kind kind, const char *state,
	      char *const *env, const char *dir, struct hk_err *err)
{
	char what[64];

	for (size_t i = 0; i < hooks->n; i++) {
		snprintf(what, sizeof(what), "hooks.%s[%zu]", spec_hook_kind_name(kind), i);
		if (run_one(&hooks->v[i], env, dir, what, state, err) < 0)
			return -1;
	}
	return 0;
}

void hooks_run_warn(const struct hk_hook_list *hooks, enum hk_hook_kind kind, const char *state,
		    const char *dir)
{
	char what[64];

	for (size_t i = 0; i < hooks->n; i++) {
		struct hk_err err = {0};
		snprintf(what, sizeof(what), "hooks.%s[%zu]", spec_hook_kind_name(kind), i);
		if (run_one(&hooks->v[i], NULL, dir, what, state, &err) < 0)
			hk_log(HK_LOG_WARN, "%s", err.msg);
	}
}
