/* create, start and run: the life of `husk create` of DESIGN.md, step by
 * step, with every step undone when a later one fails. */
#include "runtime/container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/esc.h"
#include "common/fault.h"
#include "common/file.h"
#include "common/log.h"
#include "common/procstat.h"
#include "common/rootless.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/keyring.h"
#include "linux/lsm.h"
#include "linux/ns.h"
#include "linux/process.h"
#include "linux/seccomp-cache.h"
#include "linux/seccomp.h"
#include "linux/sysctl.h"
#include "linux/terminal.h"
#include "runtime/hooks.h"
#include "runtime/inspect.h"
#include "runtime/spawn.h"
#include "runtime/state.h"
#include "runtime/systemd.h"
#include "runtime/sync.h"
#include "runtime/wait.h"
#include "spec/spec.h"

static struct hk_state *new_state(const struct hk_spec *spec, const char *id, struct hk_cgroup *cg)
{
	struct hk_state *st = xzalloc(sizeof(*st));

	st->id = xstrdup(id);
	st->status = HK_CREATING;
	st->bundle = xstrdup(spec->bundle);
	st->rootfs = xstrdup(spec->root_path);
	st->created = hk_now_rfc3339();
	st->cgroup = cg;
	st->annotations = spec->annotations;
	st->n_annotations = spec->n_annotations;
	st->poststart = spec->hooks[HK_HOOK_POSTSTART];
	st->poststop = spec->hooks[HK_HOOK_POSTSTOP];
	return st;
}

/* spawn's cgroup_made: the state rewritten with the process and the
 * scope systemd made for it (cgroup/cgroup.h, unit_ino), still creating. */
struct made_record {
	struct hk_state_dir *sd;
	struct hk_state *st;
};

static int record_cgroup(struct hk_spawn *sp, void *data, struct hk_err *err)
{
	struct made_record *m = data;

	m->st->pid = sp->pid;
	m->st->start_time = hk_proc_start_time(sp->pid);
	return state_write(m->sd, m->st, err);
}

/* Steps 3 to 6 of create, once the state dir is ours. */
static int build(const struct hk_create_opts *o, const struct hk_spec *spec, int ns_fds[],
		 int console, struct hk_state_dir *sd, struct hk_state *st, struct hk_spawn *sp,
		 struct hk_err *err)
{
	if (state_write(sd, st, err) < 0 || state_write_config(sd, spec, err) < 0)
		return -1;
	HK_FAULT("create:state-creating");
	/* Writable by anyone: the process opens it after dropping to
	 * process.user (the state dir itself is only searchable, 0711). */
	if (mkfifoat(sd->fd, "exec.fifo", 0622) < 0 || fchmodat(sd->fd, "exec.fifo", 0622, 0) < 0)
		return hk_fail(err, errno, "create exec.fifo");
	/* The cgroup is made in spawn_container, overlapped with the
	 * process's own setup where the cgroup version allows. */
	_cleanup_free_ char *root = realpath(o->root, NULL);
	_cleanup_free_ char *state_path = root ? xasprintf("%s/%s", root, o->id) : NULL;
	if (!state_path)
		return hk_fail(err, errno, "state root %s", o->root);
	spec_derive(spec, &spec->process, &sp->derived);
	if (sd_notify_prepare(sd->fd, state_path, &sp->derived, err) < 0)
		return -1;
	_cleanup_close_ int state_dirfd = openat(sd->fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (state_dirfd < 0)
		return hk_fail(err, errno, "open state dir");
	sp->spec = spec;
	sp->id = o->id;
	sp->cgroup = st->cgroup;
	sp->state_fd = state_dirfd;
	memcpy(sp->ns_fds, ns_fds, sizeof(sp->ns_fds));
	sp->no_pivot = o->no_pivot;
	st->no_new_keyring = o->no_new_keyring;
	if (!o->no_new_keyring)
		st->keyring = keyring_name(o->id);
	sp->keyring = st->keyring;
	sp->runtime_mntns = o->runtime_mntns;
	/* Socket activation: systemd's fds come first (3..), then --preserve-fds. */
	sp->listen_fds = sd_listen_fds();
	sp->preserve_fds = sp->listen_fds + o->preserve_fds;
	struct made_record made = {sd, st};
	sp->cgroup_made = record_cgroup;
	sp->cgroup_made_data = &made;
	if (spawn_container(sp, err) < 0)
		return -1;
	hk_debug("create: process ready");
	HK_FAULT("create:process-ready");
	if (sp->pty_master >= 0 && console >= 0) {
		int r = terminal_send_fd(console, o->console_socket, sp->pty_master, err);
		close(sp->pty_master);
		sp->pty_master = -1;
		if (r < 0)
			return -1;
	}
	st->pid = sp->pid;
	st->start_time = hk_proc_start_time(sp->pid);
	/* What husk made, for inspect: whatever the program does later. */
	inspect_record_ns(sp->pid, st->ns);
	struct stat exe;
	if (stat("/proc/self/exe", &exe) == 0) {
		st->exe_dev = exe.st_dev;
		st->exe_ino = exe.st_ino;
	}
	st->status = HK_CREATED;
	if (state_write(sd, st, err) < 0)
		return -1;
	if (o->pid_file && state_write_pid_file(o->pid_file, sp->pid, err) < 0)
		return -1;
	hk_debug("create: state written");
	/* Its value tells the process whether husk reads on: a foreground run
	 * reports an error of the process's last steps itself. */
	if (sync_send_value(sp->sock, HK_SYNC_DONE, o->foreground) < 0)
		return hk_fail(err, errno, "the container process exited during setup");
	HK_FAULT("create:state-written");
	return 0;
}

static void run_state_hooks(const struct hk_state *st, const struct hk_hook_list *hooks,
			    enum hk_hook_kind kind, const char *status)
{
	if (hooks->n == 0)
		return;
	_cleanup_free_ char *state = hooks_state_json(st->id, status, st->pid, st->bundle,
						      st->annotations, st->n_annotations);
	hooks_run_warn(hooks, kind, state, st->bundle);
}

static void undo(struct hk_state_dir *sd, struct hk_state *st, struct hk_spawn *sp)
{
	if (sp->pidfd >= 0) {
		hk_pidfd_send_signal(sp->pidfd, SIGKILL, NULL, 0);
		waitpid(sp->pid, NULL, 0);
		close(sp->pidfd);
		sp->pidfd = -1;
	}
	if (sp->sock >= 0)
		close(sp->sock);
	sp->sock = -1;
	if (sp->pty_master >= 0)
		close(sp->pty_master);
	sp->pty_master = -1;
	if (st->cgroup)
		cg_destroy(st->cgroup, NULL);
	/* A create that failed still ends with the poststop hooks, as the
	 * lifecycle does after a failing create hook. */
	run_state_hooks(st, &st->poststop, HK_HOOK_POSTSTOP, "stopped");
	state_dir_remove(sd, NULL);
}

/* What start keeps for after it has let go of the container's lock. */
struct started {
	int pidfd;
	int notify; /* NOTIFY_SOCKET listener, -1 when none */
	pid_t pid;
};

static int start_locked(struct hk_state_dir *sd, struct hk_state *st, void *data,
			struct hk_err *err);

int container_create(const struct hk_create_opts *o, struct hk_created *out, struct hk_err *err)
{
	_cleanup_spec_ struct hk_spec *owned = NULL;
	struct hk_spec *spec = o->spec;
	struct hk_state_dir sd = {.fd = -1, .rootfd = -1};
	struct hk_spawn sp = {.pidfd = -1, .sock = -1, .pty_master = -1};
	int ns_fds[HK_NS_COUNT];
	int r = -1;

	if (state_validate_id(o->id, err) < 0)
		return -1;
	/* 1. Validate everything before the machine changes. */
	hk_debug("create %s: start", o->id);
	if (!spec) {
		owned = spec_load(o->bundle, err);
		if (!owned)
			return -1;
		spec = owned;
	}
	hk_debug("create: spec loaded");
	if (lsm_check(spec, &spec->process, err) < 0)
		return -1;
	_cleanup_(seccomp_bpf_clear) struct hk_seccomp_bpf bpf = {0};
	if (spec->seccomp.present && seccomp_compile(&spec->seccomp, &bpf, err) < 0)
		return -1;
	sp.seccomp_bpf = &bpf;
	/* state.json records them, and JSON holds only UTF-8. */
	if (!hk_utf8_valid(spec->bundle) || !hk_utf8_valid(spec->root_path))
		return hk_fail(err, 0,
			       "bundle %s: its path is not UTF-8, which state.json cannot hold",
			       spec->bundle);
	if (spec->process.terminal && !o->console_socket && !o->foreground)
		return hk_fail(err, 0,
			       "process.terminal: needs --console-socket to send the "
			       "terminal to (or a foreground run to proxy it)");
	/* Connected before anything is made or locked: a peer that does not
	 * accept holds up this command only, and for a bounded time. */
	_cleanup_close_ int console = -1;
	if (spec->process.terminal && o->console_socket) {
		console = terminal_connect(o->console_socket, err);
		if (console < 0)
			return -1;
	}
	if (ns_open_paths(spec, ns_fds, err) < 0)
		return -1;
	if (sysctl_check_joined(spec, ns_fds, err) < 0) {
		ns_close_all(ns_fds);
		return -1;
	}
	/* Joining a user namespace by path, the container process is our
	 * grandchild (spawn.c): a foreground run must become its parent to
	 * wait for it once the process between us exits. */
	const struct hk_namespace *user = spec_ns(spec, HK_NS_USER);
	if (o->foreground && user && user->path && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		ns_close_all(ns_fds);
		return hk_fail(err, errno, "prctl(PR_SET_CHILD_SUBREAPER)");
	}
	struct hk_cgroup *cg = cg_resolve(spec->cgroups_path, o->id, o->systemd_cgroup, err);
	if (!cg) {
		ns_close_all(ns_fds);
		return -1;
	}
	for (size_t i = 0; o->new_cgroup && i < cg->n_dirs; i++) {
		if (cg->dirs[i].shared) {
			hk_fail(err, EEXIST, "container %s: cgroup %s exists already", o->id,
				cg->dirs[i].dir);
			cg_free(cg);
			ns_close_all(ns_fds);
			return -1;
		}
	}
	/* runc's rootless rule: best effort only where no cgroupsPath asks
	 * for a cgroup in particular. */
	cg->best_effort = hk_cgroups_best_effort() && !(spec->cgroups_path && *spec->cgroups_path);
	/* 2. The container's locked state dir. */
	if (o->reserved) {
		sd = *o->reserved;
		*o->reserved = (struct hk_state_dir){.fd = -1, .rootfd = -1};
	} else if (state_dir_create(o->root, o->id, &sd, err) < 0) {
		bool ours = sd.fd >= 0;
		cg_free(cg);
		ns_close_all(ns_fds);
		if (ours)
			state_dir_remove(&sd, NULL);
		state_dir_close(&sd);
		return -1;
	}
	hk_debug("create: state dir locked");
	HK_FAULT("create:state-dir");
	struct hk_state *st = new_state(spec, o->id, cg);
	r = build(o, spec, ns_fds, console, &sd, st, &sp, err);
	unsigned long long start_time = st->start_time;
	if (r < 0)
		undo(&sd, st, &sp);
	struct started started = {.pidfd = -1, .notify = -1};
	int start_r =
		r == 0 && o->start && out ? start_locked(&sd, st, &started, out->start_err) : 0;
	if (started.pidfd >= 0)
		close(started.pidfd);
	spec_derived_free(&sp.derived);
	ns_close_all(ns_fds);
	st->annotations = NULL; /* owned by spec */
	st->n_annotations = 0;
	memset(&st->poststart, 0, sizeof(st->poststart));
	memset(&st->poststop, 0, sizeof(st->poststop));
	state_free(st);
	state_dir_close(&sd);
	if (r == 0 && out) {
		out->pid = sp.pid;
		out->start_time = start_time;
		out->pidfd = sp.pidfd;
		out->sock = sp.sock;
		out->pty = sp.pty_master;
		out->start_r = start_r;
		out->notify = started.notify;
	} else if (r == 0) {
		close(sp.pidfd);
		close(sp.sock);
		if (sp.pty_master >= 0)
			close(sp.pty_master);
	}
	return r;
}

/* After the byte: EOF on the fifo when the process execs (or dies). */
static void wait_exec(int fifo, int pidfd)
{
	struct pollfd p[2] = {{.fd = fifo, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
	char c;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[0].revents & (POLLHUP | POLLERR))
			return;
		if ((p[0].revents & POLLIN) && read(fifo, &c, 1) == 0)
			return;
		if (p[1].revents & POLLIN)
			return;
	}
}

/* Wait for the fifo's byte, or for the process to die first. */
static int release(int fifo, int pidfd, struct hk_err *err)
{
	struct pollfd p[2] = {{.fd = fifo, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
	char c;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hk_fail(err, errno, "poll exec.fifo");
		}
		if (p[0].revents & POLLIN) {
			ssize_t n = read(fifo, &c, 1);
			if (n == 1)
				return 0;
			if (n < 0 && errno == EAGAIN)
				continue;
		}
		if (p[1].revents & POLLIN)
			return hk_fail(err, 0,
				       "the container process exited before it could start");
		if (p[0].revents & (POLLHUP | POLLERR))
			return hk_fail(err, 0, "the container process closed exec.fifo");
	}
}

static int start_locked(struct hk_state_dir *sd, struct hk_state *st, void *data,
			struct hk_err *err)
{
	struct started *out = data;
	enum hk_status status = state_status(sd, st);
	if (status == HK_RUNNING)
		unlinkat(sd->fd, "exec.fifo", 0); /* left by a start killed half-way */
	if (status != HK_CREATED)
		return hk_fail(err, 0, "cannot start container %s: it is %s, not created", st->id,
			       state_status_name(status));
	out->pid = st->pid;
	out->pidfd = state_pidfd(sd, st, err);
	if (out->pidfd < 0 && err->errnum == ESRCH)
		return hk_fail(err, 0, "cannot start container %s: its process is gone", st->id);
	if (out->pidfd < 0)
		return -1;
	_cleanup_close_ int fifo = state_open_fifo(sd, err);
	if (fifo < 0)
		return -1;
	/* Listen before the program runs, so its READY=1 cannot be lost. */
	out->notify = sd_notify_listen(sd->fd, err);
	if (out->notify < 0 && err->msg[0])
		return -1;
	if (release(fifo, out->pidfd, err) < 0)
		return -1;
	hk_debug("start: released");
	HK_FAULT("start:released");
	if (unlinkat(sd->fd, "exec.fifo", 0) < 0)
		return hk_fail(err, errno, "remove exec.fifo of %s", st->id);
	/* No state write: "running" is a created process without exec.fifo
	 * (state_status). */
	st->status = HK_RUNNING;
	/* poststart runs after the program is executed (runtime.md): the
	 * process holds its end of the fifo open until execve closes it. */
	if (st->poststart.n)
		wait_exec(fifo, out->pidfd);
	/* poststart: once the program runs, before start returns; a failure
	 * is only a warning (runtime.md, Lifecycle). */
	run_state_hooks(st, &st->poststart, HK_HOOK_POSTSTART, "running");
	return 0;
}

int container_start(const char *root, const char *id, struct hk_err *err)
{
	struct started s = {.pidfd = -1, .notify = -1};
	int r = state_with(root, id, true, start_locked, &s, err);

	/* As runc's, start returns once the program says READY=1 (NOTIFY_SOCKET). */
	if (r == 0 && s.notify >= 0)
		r = sd_notify_forward(s.notify, s.pidfd, s.pid, err);
	if (s.notify >= 0)
		close(s.notify);
	if (s.pidfd >= 0)
		close(s.pidfd);
	return r;
}

/* The process may have failed after reporting ready (opening exec.fifo,
 * exec itself): its own message says more than "it exited". */
static void late_child_error(int sock, struct hk_err *err)
{
	struct hk_err child = {0};
	uint32_t type = 0;
	struct pollfd p = {.fd = sock, .events = POLLIN};

	if (poll(&p, 1, 100) == 1 && sync_recv(sock, &type, &child, NULL) == 0 &&
	    type == HK_SYNC_ERROR)
		*err = child;
}

int container_run(const struct hk_create_opts *o, bool detach, int *status, struct hk_err *err)
{
	struct hk_err serr = {0};
	struct hk_created c = {
		.pidfd = -1, .sock = -1, .pty = -1, .notify = -1, .start_err = &serr};
	struct hk_create_opts fg = *o;

	fg.foreground = !detach;
	fg.start = true;
	o = &fg;

	if (container_create(o, &c, err) < 0)
		return -1;
	int r = c.start_r;
	if (r < 0) {
		*err = serr;
		late_child_error(c.sock, err);
	}
	/* As start's: once the program says READY=1 (NOTIFY_SOCKET). */
	if (r == 0 && c.notify >= 0)
		r = sd_notify_forward(c.notify, c.pidfd, c.pid, err);
	if (c.notify >= 0)
		close(c.notify);
	if (r == 0 && !detach)
		r = wait_forwarding(c.pidfd, c.pty, status, err);
	/* Failed after start (exec itself, the seccomp load...): its reason. */
	if (r == 0 && !detach) {
		struct hk_err late = {0};
		late_child_error(c.sock, &late);
		if (late.msg[0]) {
			*err = late;
			r = -1;
		}
	}
	hk_debug("run: container exited");
	close(c.sock);
	close(c.pidfd);
	if (c.pty >= 0)
		close(c.pty);
	if (r < 0 || (!detach && !o->keep_stopped)) {
		struct hk_err derr = {0};
		/* Already deleted by someone else (delete --force): nothing to
		 * do; and a container made since under the same id is not
		 * this one's to delete. */
		if (container_delete_own(o->root, o->id, c.pid, c.start_time, &derr) < 0 &&
		    r == 0 && derr.errnum != ENOENT) {
			*err = derr;
			r = -1;
		}
	}
	if (r == 0 && detach)
		*status = 0;
	return r;
}

struct kill_args {
	int sig;
	bool all;
};

static int kill_leftovers(struct hk_cgroup *cg, int sig, struct hk_err *err)
{
	struct hk_err kerr = {0};

	if (cg_signal_all(cg, sig, &kerr) == 0 || kerr.errnum == ENOENT)
		return 0; /* no cgroup any more: nothing left */
	*err = kerr;
	return -1;
}

static int kill_locked(struct hk_state_dir *sd, struct hk_state *st, void *data, struct hk_err *err)
{
	const struct kill_args *a = data;
	enum hk_status status = state_status(sd, st);

	/* runc: --all on a stopped container signals what is left in its
	 * cgroup. Without a pid namespace of its own, the first process's
	 * children outlive it; containerd's shim kills them this way. */
	if (a->all && status == HK_STOPPED && st->cgroup)
		return kill_leftovers(st->cgroup, a->sig, err);
	if (status != HK_CREATED && status != HK_RUNNING && status != HK_PAUSED)
		return hk_fail(err, 0, "cannot kill container %s: it is %s", st->id,
			       state_status_name(status));
	if (a->all && st->cgroup && st->cgroup->n_dirs > 0)
		return cg_signal_all(st->cgroup, a->sig, err);
	_cleanup_close_ int pidfd = state_pidfd(sd, st, err);
	if (pidfd < 0 && err->errnum == ESRCH)
		return hk_fail(err, 0, "cannot kill container %s: its process is gone", st->id);
	if (pidfd < 0)
		return -1;
	/* No cgroup of its own (rootless): its namespaces say what is its. */
	if (a->all)
		return ns_signal_all(pidfd, st->pid, a->sig, err);
	if (hk_pidfd_send_signal(pidfd, a->sig, NULL, 0) < 0)
		return hk_fail(err, errno, "kill container %s with signal %d", st->id, a->sig);
	return 0;
}

int container_kill(const char *root, const char *id, int sig, bool all, struct hk_err *err)
{
	struct kill_args a = {sig, all};
	return state_with(root, id, false, kill_locked, &a, err);
}

/* SIGKILL the process and wait until it is gone (a pidfd polls readable
 * when the process exits, child of ours or not: pidfd_open(2)). */
static int kill_and_wait(const struct hk_state_dir *sd, const struct hk_state *st,
			 struct hk_err *err)
{
	struct hk_err perr = {0};
	_cleanup_close_ int pidfd = state_pidfd(sd, st, &perr);
	struct pollfd p;

	if (pidfd < 0 && perr.errnum == ESRCH)
		return 0;
	if (pidfd < 0) {
		*err = perr;
		return -1;
	}
	if (hk_pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return hk_fail(err, errno, "kill container %s", st->id);
	/* a frozen task dies only once thawed (cgroup v1) */
	if (st->cgroup && cg_frozen(st->cgroup) == 1 && cg_freeze(st->cgroup, false, err) < 0)
		return -1;
	p.fd = pidfd;
	p.events = POLLIN;
	for (;;) {
		int n = poll(&p, 1, 10000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return hk_fail(err, ETIMEDOUT, "wait for container %s to die", st->id);
		return n < 0 ? hk_fail(err, errno, "poll pidfd") : 0;
	}
}

struct delete_guard {
	pid_t pid;
	unsigned long long start_time;
};

static int delete (const char *root, const char *id, bool force, const struct delete_guard *g,
		   struct hk_err *err)
{
	struct hk_state_dir sd;
	struct hk_state *st = NULL;
	struct hk_err rerr = {0};
	int r = -1;

	if (state_validate_id(id, err) < 0)
		return -1;
	if (state_dir_open(root, id, true, &sd, err) < 0) {
		/* runc: deleting what is already gone is no error with --force;
		 * engines' shims delete --force once more after a delete. */
		if (force && err->errnum == ENOENT)
			r = 0;
		goto out;
	}
	st = state_read(&sd, &rerr);
	if (g && (!st || st->pid != g->pid || st->start_time != g->start_time)) {
		hk_debug("delete: %s is another container now: left alone", id);
		r = 0;
		goto out;
	}
	if (st) {
		enum hk_status status = state_status(&sd, st);
		/* runc deletes a created container as it is; a running one only
		 * with --force. */
		if ((status == HK_RUNNING || status == HK_PAUSED) && !force) {
			hk_fail(err, 0, "cannot delete container %s: it is %s (use --force)", id,
				state_status_name(status));
			goto out;
		}
		if (kill_and_wait(&sd, st, err) < 0)
			goto out;
		hk_debug("delete: process gone");
		HK_FAULT("delete:process-gone");
		if (st->cgroup && cg_destroy(st->cgroup, err) < 0)
			goto out;
		hk_debug("delete: cgroup removed");
		HK_FAULT("delete:cgroup-removed");
		run_state_hooks(st, &st->poststop, HK_HOOK_POSTSTOP, "stopped");
	} else if (!force || rerr.errnum == EPERM) {
		/* No state.json: a create that died half-way, which --force
		 * removes; one refused (not husk's alone, a link) stays. */
		*err = rerr;
		if (rerr.errnum == EPERM)
			hk_err_prefix(err, "container %s", id);
		else
			hk_err_prefix(err, "container %s (use --force to remove it)", id);
		goto out;
	} else if (state_dir_foreign(&sd, err)) {
		/* Something else's directory in the state root (husk net's
		 * records under the default root): never emptied. */
		goto out;
	}
	r = state_dir_remove(&sd, err);
out:
	state_free(st);
	state_dir_close(&sd);
	return r;
}

int container_delete(const char *root, const char *id, bool force, struct hk_err *err)
{
	return delete (root, id, force, NULL, err);
}

int container_delete_own(const char *root, const char *id, pid_t pid, unsigned long long start_time,
			 struct hk_err *err)
{
	struct delete_guard g = {pid, start_time};
	return delete (root, id, true, &g, err);
}
