#include "linux/process.h"

#include <ctype.h>
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
#include "common/rootless.h"
#include "common/syscalls.h"
#include "linux/procfs.h"
#include "common/xalloc.h"
#include "linux/userns.h"
#include "spec/spec.h"

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* An error as Go prints it, which runc passes on and engines match
 * (Docker turns "executable file not found", "no such file or directory"
 * and "permission denied" into exit codes 127 and 126): strerror with its
 * first letter in lower case. */
static const char *go_strerror(int e, char *buf, size_t size)
{
	snprintf(buf, size, "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* As Go's exec.LookPath sees a candidate: it must stat (else *stat_errno)
 * and be a file with an execute bit (directories are not). */
static bool executable(const char *path, int *stat_errno)
{
	struct stat st;

	*stat_errno = stat(path, &st) < 0 ? errno : 0;
	return !*stat_errno && !S_ISDIR(st.st_mode) && (st.st_mode & 0111);
}

static const char *env_path(const struct hk_process *p)
{
	for (size_t i = 0; i < p->n_env; i++)
		if (strncmp(p->env[i], "PATH=", 5) == 0)
			return p->env[i] + 5;
	return default_path;
}

static char *search_path(const struct hk_process *p, struct hk_err *err)
{
	const char *name = p->args[0];
	_cleanup_free_ char *path = xstrdup(env_path(p));
	char *save = NULL;
	int e;

	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *cand = xasprintf("%s/%s", *dir ? dir : ".", name);
		if (executable(cand, &e))
			return cand;
		free(cand);
	}
	hk_fail(err, 0, "process.args[0]: exec: \"%s\": executable file not found in $PATH", name);
	err->errnum = ENOENT;
	return NULL;
}

char *process_find_exec(const struct hk_process *p, struct hk_err *err)
{
	const char *name = p->args[0];
	char buf[128];
	char *exe;
	int e;

	if (!strchr(name, '/')) {
		exe = search_path(p, err);
	} else if (executable(name, &e)) {
		exe = xstrdup(name);
	} else if (!e) {
		hk_fail(err, 0, "process.args[0]: exec: \"%s\": permission denied", name);
		err->errnum = EACCES;
		return NULL;
	} else {
		hk_fail(err, 0, "process.args[0]: exec: \"%s\": stat %s: %s", name, name,
			go_strerror(e, buf, sizeof(buf)));
		err->errnum = e;
		return NULL;
	}
	/* As the process's user, as execve will check it: a noexec mount, or
	 * no execute permission for this user. */
	if (exe && faccessat(AT_FDCWD, exe, X_OK, AT_EACCESS) < 0) {
		e = errno;
		hk_fail(err, 0, "process.args[0]: exec %s: %s", exe,
			go_strerror(e, buf, sizeof(buf)));
		err->errnum = e;
		free(exe);
		return NULL;
	}
	return exe;
}

void process_set_home(const struct hk_process *p, struct hk_derived *d)
{
	if (spec_derived_getenv(d, "HOME"))
		return;
	_cleanup_free_ char *home = NULL;
	passwd_lookup("/etc/passwd", p->uid, NULL, &home);
	spec_derived_add_env(d, xasprintf("HOME=%s", home ? home : "/"));
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

int process_set_oom_score_adj(pid_t pid, const struct hk_process *p, struct hk_err *err)
{
	char buf[16], rel[32];

	if (!p->has_oom_score_adj)
		return 0;
	/* Through a private procfs (linux/procfs.h), by the pid in it: nothing
	 * on the way may be a symlink. */
	_cleanup_close_ int proc = procfs_open(err);
	if (proc < 0)
		return hk_err_prefix(err, "process.oomScoreAdj");
	snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	snprintf(rel, sizeof(rel), "%d/oom_score_adj", (int)pid);
	if (procfs_write(proc, rel, buf, err) == 0)
		return 0;
	/* The kernel keeps a floor per process (the value last set with
	 * privilege, inherited; 0 when none was) and lets a value below it
	 * through only with CAP_SYS_RESOURCE of the host. runc fails the same
	 * way rootless; raising it always works. */
	size_t len = strlen(err->msg);
	if (err->errnum == EACCES && hk_rootless())
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 " (rootless, it may be raised but not lowered below the floor the "
			 "kernel keeps for husk's caller: that takes CAP_SYS_RESOURCE of "
			 "the host)");
	return hk_err_prefix(err, "process.oomScoreAdj");
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

int process_undumpable(struct hk_err *err)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
	return 0;
}

int process_guard_exe(struct hk_err *err)
{
	return geteuid() == 0 ? process_undumpable(err) : 0;
}

int process_exec(const char *path, const struct hk_process *p, char *const *env, struct hk_err *err)
{
	char *empty[] = {NULL};
	char buf[128];

	execve(path, p->args, env ? env : empty);
	int e = errno;
	hk_fail(err, 0, "exec %s: %s", path, go_strerror(e, buf, sizeof(buf)));
	err->errnum = e;
	return -1;
}
