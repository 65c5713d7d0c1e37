#include "linux/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fds.h"
#include "common/file.h"
#include "common/passwd.h"
#include "common/syscalls.h"
#include "linux/procfs.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/userns.h"
#include "spec/spec.h"

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

static const char *env_path(const struct hk_process *p)
{
	for (size_t i = 0; i < p->n_env; i++)
		if (strncmp(p->env[i], "PATH=", 5) == 0)
			return p->env[i] + 5;
	return default_path;
}

char *process_find_exec(const struct hk_process *p, struct hk_err *err)
{
	const char *name = p->args[0];

	if (strchr(name, '/')) {
		if (!is_executable_file(name)) {
			hk_fail(err, errno ? errno : EACCES, "process.args[0]: %s", name);
			return NULL;
		}
		return xstrdup(name);
	}
	_cleanup_free_ char *path = xstrdup(env_path(p));
	char *save = NULL;
	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *cand = xasprintf("%s/%s", *dir ? dir : ".", name);
		if (is_executable_file(cand))
			return cand;
		free(cand);
	}
	hk_fail(err, 0, "process.args[0]: executable \"%s\" not found in $PATH of the container",
		name);
	return NULL;
}

void process_set_home(struct hk_process *p)
{
	for (size_t i = 0; i < p->n_env; i++)
		if (strncmp(p->env[i], "HOME=", 5) == 0)
			return;
	_cleanup_free_ char *home = NULL;
	passwd_lookup("/etc/passwd", p->uid, NULL, &home);
	p->env = xrealloc(p->env, (p->n_env + 2) * sizeof(char *));
	p->env[p->n_env++] = xasprintf("HOME=%s", home ? home : "/");
	p->env[p->n_env] = NULL;
}

int process_set_user(const struct hk_process *p, struct hk_err *err)
{
	/* Where setgroups is denied (an unprivileged user's own single-id
	 * map), there are no groups to drop and none can be added. */
	if (setgroups(p->n_additional_gids, p->additional_gids) < 0 &&
	    (errno != EPERM || p->n_additional_gids || !userns_setgroups_denied()))
		return hk_fail(err, errno, "process.user.additionalGids: setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return hk_fail(err, errno, "process.user.gid: setresgid %u", (unsigned)p->gid);
	/* Keep the permitted set across setuid so capabilities can be set after
	 * it (capabilities(7), "Effect of user ID changes"). */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return hk_fail(err, errno, "process.user.uid: setresuid %u", (unsigned)p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}

int process_set_oom_score_adj(const struct hk_process *p, struct hk_err *err)
{
	char buf[16], rel[32];

	if (!p->has_oom_score_adj)
		return 0;
	/* Through a private procfs (linux/procfs.h), by our pid in it: "self"
	 * is a symlink, and nothing on the way may be one. */
	_cleanup_close_ int proc = procfs_open(err);
	if (proc < 0)
		return hk_err_prefix(err, "process.oomScoreAdj");
	snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	snprintf(rel, sizeof(rel), "%d/oom_score_adj", (int)getpid());
	if (procfs_write(proc, rel, buf, err) < 0)
		return hk_err_prefix(err, "process.oomScoreAdj");
	return 0;
}

int process_chdir(const char *cwd, struct hk_err *err)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hk_fail(err, errno, "open /");
	const char *rel = cwd;
	while (*rel == '/')
		rel++;
	_cleanup_close_ int fd = hk_openat2(root, *rel ? rel : ".", &how);
	if (fd < 0)
		return hk_fail(err, errno, "cwd %s", cwd);
	if (fchdir(fd) < 0)
		return hk_fail(err, errno, "cwd %s: chdir", cwd);
	return 0;
}

int process_preserve_fds(int preserve_fds, struct hk_err *err)
{
	return hk_fds_preserve(preserve_fds, err);
}

int process_cloexec_fds(int preserve_fds, struct hk_err *err)
{
	return hk_fds_cloexec_others(preserve_fds, err);
}

int process_guard_exe(struct hk_err *err)
{
	if (geteuid() != 0)
		return 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
	return 0;
}

int process_exec(const char *path, const struct hk_process *p, struct hk_err *err)
{
	char *empty[] = {NULL};
	execve(path, p->args, p->env ? p->env : empty);
	return hk_fail(err, errno, "exec %s", path);
}
