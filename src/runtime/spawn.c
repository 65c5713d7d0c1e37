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
#include "common/fault.h"
#include "common/log.h"
#include "common/prefault.h"
#include "common/rawsys.h"
#include "common/xalloc.h"
#include "common/syscalls.h"
#include "linux/netdev.h"
#include "linux/ns.h"
#include "linux/process.h"
#include "linux/userns.h"
#include "runtime/hooks.h"
#include "runtime/mountsrc.h"
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
	/* The child's pages, mapped before it runs any code but this
	 * function's (common/prefault.h): the clone itself is a raw system
	 * call, so that it returns here and not into glibc's syscall(). */
	struct hk_prefault_plan plan;
	hk_prefault_plan(HK_PREFAULT_CODE | HK_PREFAULT_DATA, &plan);
#if HK_HAVE_RAWSYS
	long r = hk_rawsys(SYS_clone3, (long)&args, (long)sizeof(args), 0, 0);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	pid_t pid = (pid_t)r;
#else
	pid_t pid = hk_clone3(&args);
#endif
	if (pid == 0) {
		hk_prefault_apply(&plan);
		sp->prefaulted = true;
	}
	return pid;
}

/* The child stopped listening: it failed, and its reason is waiting in the
 * socket (or it died without one). */
static int child_gone(struct hk_spawn *sp, struct hk_err *err)
{
	struct hk_sync_in in;

	while (sync_read(sp->sock, &in, err) == 0 && in.type != 0) {
		if (in.fd >= 0)
			close(in.fd);
		if (in.type == HK_SYNC_FAULT)
			hk_fault_die();
		if (in.type == HK_SYNC_ERROR) {
			*err = in.payload;
			return -1;
		}
	}
	return hk_fail(err, 0, "the container process exited during setup");
}

/* linux.netDevices go into the container's network namespace as soon as
 * it exists: right after the clone, or, when the process makes it in a
 * user namespace joined by path, before hooks or READY (late). */
static int move_netdevs(struct hk_spawn *sp, bool late, struct hk_err *err)
{
	const struct hk_spec *s = sp->spec;
	const struct hk_namespace *user = spec_ns(s, HK_NS_USER);
	const struct hk_namespace *net = spec_ns(s, HK_NS_NET);

	if (!s->n_netdevs || sp->netdevs_moved || (!late && user && user->path && !net->path))
		return 0;
	_cleanup_close_ int own = -1;
	int nsfd = sp->ns_fds[HK_NS_NET];
	if (nsfd < 0 &&
	    (nsfd = own = ns_open_proc(sp->pidfd, sp->pid, "ns/net", O_RDONLY, err)) < 0)
		return -1;
	sp->netdevs_moved = true;
	return netdev_move_all(s, nsfd, err);
}

/* Between clone3 and GO: the child's id maps. Then, while the child builds
 * its mounts, its cgroup: on v1 making it takes a millisecond or more
 * (cpuset's most), so it overlaps with the child's work, and the child
 * moves itself in (CGFD: it writes 0 to each hierarchy's tasks file, which
 * unlike husk writing its pid waits for no RCU grace period); it waits for
 * CGROUP only where it needs to be in it. On v2 (and a hybrid host's
 * unified hierarchy) clone3 already placed it (CLONE_INTO_CGROUP). */
static int prepare_child(struct hk_spawn *sp, struct hk_err *err)
{
	const struct hk_namespace *user = spec_ns(sp->spec, HK_NS_USER);

	if (user && !user->path && userns_write_maps(sp->pid, sp->spec, err) < 0)
		return -1;
	if (process_set_oom_score_adj(sp->pid, &sp->spec->process, err) < 0 ||
	    move_netdevs(sp, false, err) < 0)
		return -1;
	if (sync_send_value(sp->sock, HK_SYNC_GO, (int32_t)sp->pid) < 0)
		return child_gone(sp, err);
	/* systemd: the new scope takes the process in (cgroup/systemd.h) */
	sp->cgroup->pid = sp->pid;
	if ((sp->cgroup->version != 2 || cg_create_late(sp->cgroup)) &&
	    cg_create(sp->cgroup, sp->spec, err) < 0)
		return -1;
	if (cg_create_late(sp->cgroup) && sp->cgroup_made &&
	    sp->cgroup_made(sp, sp->cgroup_made_data, err) < 0)
		return -1;
	int fds[CG_MAX_FDS];
	size_t n;
	if (cg_enter_fds(sp->cgroup, sp->pid, fds, CG_MAX_FDS, &n, err) < 0)
		return -1;
	if (sync_send_cgfds(sp->sock, fds, n) < 0)
		return child_gone(sp, err);
	hk_debug("spawn: cgroup made, %zu tasks files sent", n);
	HK_FAULT("spawn:in-cgroup");
	/* Rootless, some hierarchies may have been left out since the clone:
	 * the child mounts the ones kept. */
	if (sync_send_value(sp->sock, HK_SYNC_CGROUP, (int32_t)cg_kept(sp->cgroup)) < 0)
		return child_gone(sp, err);
	return 0;
}

/* With a user namespace joined by path, the process we cloned forks the
 * real container process (to make the pid namespace inside that user
 * namespace) and exits: take the new one over. */
static int adopt(struct hk_spawn *sp, pid_t pid, struct hk_err *err)
{
	if (pid <= 0)
		return hk_fail(err, 0, "the container process did not say who it is");
	while (waitpid(sp->pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(sp->pidfd);
	sp->pid = pid;
	sp->pidfd = hk_pidfd_open(pid, 0);
	if (sp->pidfd < 0)
		return hk_fail(err, errno, "pidfd_open %d", (int)pid);
	return 0;
}

/* Until READY: take over a re-forked process (HK_SYNC_PID) and keep the
 * terminal's master when the process sends one (HK_SYNC_PTY). */
/* prestart (deprecated, same time) and createRuntime run here, in the
 * runtime's namespaces, once the process has its mounts and before
 * pivot_root; then the process goes on. */
static int run_create_hooks(struct hk_spawn *sp, struct hk_err *err)
{
	const struct hk_spec *s = sp->spec;
	_cleanup_free_ char *state = hooks_state_json(sp->id, "creating", sp->pid, s->bundle,
						      s->annotations, s->n_annotations);

	if (hooks_run(&s->hooks[HK_HOOK_PRESTART], HK_HOOK_PRESTART, state, NULL, s->bundle, err) <
		    0 ||
	    hooks_run(&s->hooks[HK_HOOK_CREATE_RUNTIME], HK_HOOK_CREATE_RUNTIME, state, NULL,
		      s->bundle, err) < 0)
		return -1;
	if (sync_send_value(sp->sock, HK_SYNC_HOOKS, (int32_t)sp->pid) < 0)
		return hk_fail(err, errno, "the container process exited during setup");
	return 0;
}

static int wait_ready(struct hk_spawn *sp, struct hk_err *err)
{
	for (;;) {
		struct hk_sync_in in;

		if (sync_read(sp->sock, &in, err) < 0)
			return -1;
		if (in.type != HK_SYNC_PTY && in.fd >= 0)
			close(in.fd);
		switch (in.type) {
		case HK_SYNC_READY:
			return move_netdevs(sp, true, err);
		case HK_SYNC_PID:
			if (adopt(sp, in.sender, err) < 0)
				return -1;
			break;
		case HK_SYNC_HOOKS:
			if (move_netdevs(sp, true, err) < 0 || run_create_hooks(sp, err) < 0)
				return -1;
			break;
		case HK_SYNC_MOUNTS:
			if (mountsrc_serve(sp->sock, sp->pidfd, sp->pid, sp->spec, &sp->derived,
					   err) < 0)
				return -1;
			break;
		case HK_SYNC_PTY:
			if (in.fd < 0)
				return hk_fail(err, 0, "the container process sent no terminal");
			if (sp->pty_master >= 0)
				close(sp->pty_master);
			sp->pty_master = in.fd;
			break;
		case HK_SYNC_ERROR:
			*err = in.payload;
			return -1;
		case HK_SYNC_FAULT:
			hk_fault_die();
			return hk_fail(err, 0, "fault injected");
		case 0:
			return hk_fail(err, 0, "the container process exited during setup");
		default:
			return hk_fail(err, 0, "unexpected message %u from the container process",
				       in.type);
		}
	}
}

/* The process that reports HK_SYNC_PID is known by its credentials. */
static int passcred(int sock, struct hk_err *err)
{
	int one = 1;

	if (setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return hk_fail(err, errno, "setsockopt SO_PASSCRED");
	return 0;
}

static int make_socket(const struct hk_spec *spec, int sv[2], struct hk_err *err)
{
	const struct hk_namespace *user = spec_ns(spec, HK_NS_USER);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hk_fail(err, errno, "socketpair");
	if (user && user->path && passcred(sv[0], err) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return 0;
}

/* setns(CLONE_NEWNS) moves the working directory to the namespace's root:
 * keep ours. */
static int back_to_runtime_mntns(int ns, struct hk_err *err)
{
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (setns(ns, CLONE_NEWNS) < 0)
		return hk_fail(err, errno, "back to the runtime's mount namespace");
	if (cwd >= 0 && fchdir(cwd) < 0)
		return hk_fail(err, errno, "back to the working directory");
	hk_debug("spawn: back in the runtime's mount namespace");
	return 0;
}

int spawn_container(struct hk_spawn *sp, struct hk_err *err)
{
	int sv[2], own_pidns = -1;
	_cleanup_close_ int cgfd = -1;

	sp->pid = 0;
	sp->pidfd = -1;
	sp->sock = -1;
	sp->pty_master = -1;
	sp->netdevs_moved = false;
	sp->prefaulted = false;
	if (sp->cgroup->version == 2 && !cg_create_late(sp->cgroup) &&
	    cg_create(sp->cgroup, sp->spec, err) < 0)
		return -1;
	if (cg_clone_fd(sp->cgroup, &cgfd, err) < 0)
		return -1;
	if (mountsrc_check(sp->spec, &sp->derived, &sp->host_sources, err) < 0 ||
	    process_guard_exe(err) < 0 || make_socket(sp->spec, sv, err) < 0)
		return -1;
	int joined = ns_pid_for_children(sp->ns_fds[HK_NS_PID], &own_pidns, err);
	/* Rootless: the process joins the pid namespace itself. */
	sp->pidns_in_child = joined == 1;
	if (joined < 0 || (joined == 1 && passcred(sv[0], err) < 0)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	hk_debug("spawn: clone3");
	pid_t pid = do_clone(sp, cgfd);
	int e = errno;
	/* Rootless, a cgroup husk could make may still be one it may not
	 * move a process into (cgroup v2 wants the common ancestor's
	 * cgroup.procs writable too): left out as well. */
	if (pid < 0 && cgfd >= 0 && cg_refusal(sp->cgroup, e)) {
		cg_clone_refused(sp->cgroup);
		pid = do_clone(sp, -1);
		e = errno;
	}
	struct hk_err back = {0};
	if (pid != 0 && ns_pid_restore(&own_pidns, &back) < 0) {
		if (pid > 0) {
			sp->pid = pid;
			reap(sp);
		}
		close(sv[0]);
		close(sv[1]);
		*err = back;
		return -1;
	}
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		if (e == ENOSYS)
			return hk_fail(err, e, "clone3 (husk needs Linux >= 5.7)");
		if (e == EPERM || e == ENOSPC || e == EUSERS)
			return hk_fail(err, e,
				       "clone3 the container process (are user namespaces "
				       "allowed? see user.max_user_namespaces)");
		return hk_fail(err, e, "clone3 the container process");
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(sp, sv[1]);
	}
	close(sv[1]);
	sp->pid = pid;
	sp->sock = sv[0];
	hk_debug("spawn: cloned %d", (int)pid);
	if (sp->runtime_mntns > 0 && back_to_runtime_mntns(sp->runtime_mntns, err) < 0) {
		reap(sp);
		close(sp->sock);
		sp->sock = -1;
		return -1;
	}
	HK_FAULT("spawn:cloned");
	if (prepare_child(sp, err) < 0 || wait_ready(sp, err) < 0) {
		reap(sp);
		if (sp->pty_master >= 0)
			close(sp->pty_master);
		sp->pty_master = -1;
		close(sp->sock);
		sp->sock = -1;
		return -1;
	}
	return 0;
}
