#include "runtime/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"
#include "linux/ns.h"
#include "runtime/sync.h"

static void reap(struct hk_spawn *sp)
{
	if (sp->pidfd >= 0)
		hk_pidfd_send_signal(sp->pidfd, SIGKILL, NULL, 0);
	else if (sp->pid > 0)
		kill(sp->pid, SIGKILL);
	if (sp->pid > 0)
		while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (sp->pidfd >= 0)
		close(sp->pidfd);
	sp->pid = 0;
	sp->pidfd = -1;
}

/* Joining a pid namespace only changes where husk's *children* go
 * (setns(2), CLONE_NEWPID), so it is done here, before clone3; *own is set
 * to husk's own pid namespace, to go back to right after. */
static int join_pid_ns(struct hk_spawn *sp, int *own, struct hk_err *err)
{
	static const enum hk_ns_type pid[] = {HK_NS_PID};

	*own = -1;
	if (sp->ns_fds[HK_NS_PID] < 0)
		return 0;
	*own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (*own < 0)
		return hk_fail(err, errno, "open /proc/self/ns/pid");
	return ns_join(sp->ns_fds, pid, 1, err);
}

/* Anything husk forks later (a sanitizer's helper, hooks) stays in husk's
 * own pid namespace. */
static void leave_pid_ns(int *own)
{
	if (*own >= 0 && setns(*own, CLONE_NEWPID) < 0)
		abort(); /* cannot happen: it is our own namespace */
	if (*own >= 0)
		close(*own);
	*own = -1;
}

static pid_t do_clone(struct hk_spawn *sp, int cgfd)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = ns_clone_flags(sp->spec) | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)&sp->pidfd;
	args.exit_signal = SIGCHLD;
	if (cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	return hk_clone3(&args);
}

int spawn_container(struct hk_spawn *sp, struct hk_err *err)
{
	int sv[2], own_pidns = -1;
	_cleanup_close_ int cgfd = -1;

	sp->pid = 0;
	sp->pidfd = -1;
	sp->sock = -1;
	cgfd = cg_clone_fd(sp->cgroup, err);
	if (cgfd < 0 && sp->cgroup->version == 2)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hk_fail(err, errno, "socketpair");
	if (join_pid_ns(sp, &own_pidns, err) < 0) {
		close(sv[0]);
		close(sv[1]);
		if (own_pidns >= 0)
			close(own_pidns);
		return -1;
	}
	pid_t pid = do_clone(sp, cgfd);
	if (pid > 0)
		leave_pid_ns(&own_pidns);
	if (pid < 0) {
		leave_pid_ns(&own_pidns);
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		if (e == ENOSYS)
			return hk_fail(err, e, "clone3 (husk needs Linux >= 5.7)");
		return hk_fail(err, e, "clone3 the container process");
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(sp, sv[1]);
	}
	close(sv[1]);
	sp->pid = pid;
	sp->sock = sv[0];
	if (cg_enter(sp->cgroup, pid, err) < 0 || sync_send(sp->sock, HK_SYNC_GO, NULL) < 0 ||
	    sync_expect(sp->sock, HK_SYNC_READY, err) < 0) {
		if (err && !err->msg[0])
			hk_fail(err, errno, "start the container process");
		reap(sp);
		close(sp->sock);
		sp->sock = -1;
		return -1;
	}
	return 0;
}
