/* The last steps before execve, in the order linux/tail.h gives and
 * explains. Each step is the function of its concern. */
#include "linux/tail.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/syscalls.h"
#include "linux/caps.h"
#include "linux/keyring.h"
#include "linux/lsm.h"
#include "linux/process.h"
#include "linux/rlimit.h"
#include "linux/sched.h"
#include "linux/seccomp.h"
#include "spec/spec.h"

/* 1. The terminal's setup already made the process a session leader. */
static int own_session(struct hk_err *err)
{
	if (getsid(0) == getpid())
		return 0;
	if (setsid() < 0)
		return hk_fail(err, errno, "setsid");
	return 0;
}

static int affinity(const struct hk_tail *t, struct hk_err *err)
{
	const struct hk_process *p = t->proc;

	if (t->exec && p->cpus_final.set)
		return sched_apply_affinity(
			&p->cpus_final, "process.execCPUAffinity.final: sched_setaffinity", err);
	/* With only `initial` (applied before the process joined its cgroup),
	 * the spec asks to leave it as the kernel made it. */
	if (t->exec && p->cpus_initial.set)
		return 0;
	/* Best effort, as runc's and crun's reset: nothing is lost without it. */
	struct hk_err ignored = {0};
	sched_apply_affinity(NULL, "reset the CPU affinity: sched_setaffinity", &ignored);
	return 0;
}

/* 3. What needs root's capabilities. */
static int as_root(const struct hk_tail *t, struct hk_err *err)
{
	const struct hk_process *p = t->proc;

	if ((t->keyring_id && keyring_join(t->keyring_id, t->keyring_perm, err) < 0) ||
	    rlimit_apply(p, err) < 0 || sched_apply_mempolicy(t->mempolicy, err) < 0 ||
	    affinity(t, err) < 0 || sched_apply_policy(&p->sched, err) < 0 ||
	    sched_apply_ioprio(&p->ioprio, err) < 0)
		return -1;
	return 0;
}

/* 4. */
static int credentials(const struct hk_tail *t, struct hk_caps_hold *hold, struct hk_err *err)
{
	const struct hk_process *p = t->proc;
	bool hold_admin = t->filter && !p->no_new_privileges;

	if (caps_drop_bounding(&p->caps, err) < 0 || process_set_user(p, err) < 0 ||
	    caps_apply(&p->caps, hold_admin, hold, err) < 0)
		return -1;
	return 0;
}

/* 5. */
static char *as_user(const struct hk_tail *t, struct hk_err *err)
{
	const struct hk_process *p = t->proc;

	if (process_chdir(p->cwd, err) < 0) {
		hk_err_prefix(err, "process.cwd");
		return NULL;
	}
	char *exe = process_find_exec(p, err);
	if (!exe)
		return NULL;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		hk_fail(err, errno, "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
		free(exe);
		return NULL;
	}
	umask(p->has_umask ? p->umask : 022);
	return exe;
}

/* 6. SIG_IGN survives execve, and so does the mask: a caller's ignored
 * SIGPIPE (podman) or SIGHUP (nohup) must not reach the program. glibc
 * refuses the two signals it keeps for itself (32, 33: EINVAL), and an
 * ignored one of those survives execve too: they are reset through the
 * system call itself. */
static int default_signals(struct hk_err *err)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, &dfl, NULL) == 0)
			continue;
		if (errno != EINVAL || hk_rt_sigaction_default(sig) < 0)
			return hk_fail(err, errno, "reset the disposition of signal %d", sig);
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return hk_fail(err, errno, "empty the signal mask");
	return 0;
}

/* 6. */
static int last_of_husk(const struct hk_tail *t, struct hk_err *err)
{
	/* The program outlives the husk that started it (create's parent, a
	 * detached exec); until here it died with it. */
	if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_PDEATHSIG)");
	if (process_cloexec_fds(t->preserve_fds, err) < 0 || lsm_apply_exec(t->proc, err) < 0)
		return -1;
	if (t->has_personality && personality(t->personality) < 0)
		return hk_fail(err, errno, "linux.personality");
	return default_signals(err);
}

/* 8 or 10, and the capset that ends what step 4 held for it. */
static int load_filter(struct hk_tail *t, const struct hk_caps_hold *hold, struct hk_err *err)
{
	struct hk_seccomp_filter *f = t->filter;

	t->filter = NULL; /* loaded: never freed (execve is near) */
	if (seccomp_install(f, t->listener_state, err) < 0)
		return -1;
	return caps_release(hold, err);
}

int tail_exec(struct hk_tail *t, struct hk_err *err)
{
	struct hk_caps_hold hold = {0};
	char *exe = NULL;

	if (own_session(err) < 0)
		goto fail;
	process_set_home(t->proc, t->derived);
	if (as_root(t, err) < 0 || credentials(t, &hold, err) < 0)
		goto fail;
	exe = as_user(t, err);
	if (!exe || last_of_husk(t, err) < 0)
		goto fail;
	/* From the first load on, only what any profile a program can run
	 * under allows: the caller's wait reads, writes, opens and closes. */
	if (t->filter && !t->proc->no_new_privileges && load_filter(t, &hold, err) < 0)
		return -1;
	if (t->wait && t->wait(t->wait_data, err) < 0)
		goto fail;
	if (t->filter && load_filter(t, &hold, err) < 0)
		return -1;
	process_exec(exe, t->proc, t->derived->env, err);
	return -1;
fail:
	free(exe);
	seccomp_filter_free(t->filter);
	t->filter = NULL;
	return -1;
}
