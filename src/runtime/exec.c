#include "runtime/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fault.h"
#include "common/file.h"
#include "common/prefault.h"
#include "common/rootless.h"
#include "common/strv.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/lsm.h"
#include "linux/ns.h"
#include "linux/process.h"
#include "linux/sched.h"
#include "linux/seccomp-cache.h"
#include "linux/seccomp.h"
#include "linux/tail.h"
#include "linux/terminal.h"
#include "runtime/hooks.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/wait.h"
#include "spec/spec.h"

/* What the new process needs from the container, gathered under its lock. */
struct target {
	pid_t pid;
	int pidfd;
	struct hk_cgroup *cgroup;
	struct hk_process proc;
	struct hk_seccomp seccomp;     /* the container's */
	struct hk_seccomp_bpf bpf;     /* its program (seccomp.present) */
	char *keyring;                 /* its session keyring; NULL: the caller's */
	struct hk_mempolicy mempolicy; /* the container's, as the rest of linux */
	bool has_personality;
	unsigned long personality;
	uint64_t ns_flags;
	/* husk could not point its children at the container's pid namespace
	 * (rootless: ns_pid_for_children): the process joins it with the
	 * others (CLONE_NEWPID in ns_flags) and forks the one that runs. */
	bool via_child;
	/* For a seccomp listener's state. */
	char *id, *bundle;
	pid_t host_pid; /* the exec'd process, as husk sees it (in the child) */
};

static void set_env(struct hk_process *p, const char *kv)
{
	size_t name_len = (size_t)(strchr(kv, '=') - kv);
	for (size_t i = 0; i < p->n_env; i++) {
		if (strncmp(p->env[i], kv, name_len + 1) == 0) {
			free(p->env[i]);
			p->env[i] = xstrdup(kv);
			return;
		}
	}
	p->env = xrealloc(p->env, (p->n_env + 2) * sizeof(char *));
	p->env[p->n_env++] = xstrdup(kv);
	p->env[p->n_env] = NULL;
}

/* The container's own process settings, with runc exec's flags over them. */
static int apply_flags(const struct hk_exec_opts *o, struct hk_process *p, struct hk_err *err)
{
	if (o->n_args == 0)
		return hk_fail(err, 0, "exec: no command given (args after the id, or --process)");
	for (size_t i = 0; i < p->n_args; i++)
		free(p->args[i]);
	free(p->args);
	p->args = hk_strv_dup(o->args, o->n_args);
	p->n_args = o->n_args;
	for (size_t i = 0; i < o->n_env; i++) {
		if (!strchr(o->env[i], '=') || o->env[i][0] == '=')
			return hk_fail(err, 0, "--env: \"%s\" is not NAME=VALUE", o->env[i]);
		set_env(p, o->env[i]);
	}
	if (o->cwd) {
		if (o->cwd[0] != '/')
			return hk_fail(err, 0, "--cwd: \"%s\" is not an absolute path", o->cwd);
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	if (o->has_user)
		p->uid = o->uid;
	if (o->has_group)
		p->gid = o->gid;
	if (o->n_additional_gids) {
		/* Added to the config's groups, as runc does. */
		size_t n = p->n_additional_gids + o->n_additional_gids;
		p->additional_gids = xrealloc(p->additional_gids, n * sizeof(gid_t));
		memcpy(p->additional_gids + p->n_additional_gids, o->additional_gids,
		       o->n_additional_gids * sizeof(gid_t));
		p->n_additional_gids = n;
	}
	for (size_t i = 0; i < o->n_caps; i++) {
		int cap = spec_cap_from_name(o->caps[i]);
		if (cap < 0)
			return hk_fail(err, 0, "--cap: unknown capability \"%s\"", o->caps[i]);
		uint64_t bit = 1ULL << cap;
		p->caps.present = true;
		p->caps.bounding |= bit;
		p->caps.effective |= bit;
		p->caps.permitted |= bit;
	}
	p->no_new_privileges |= o->no_new_privs;
	if (o->apparmor) {
		free(p->apparmor_profile);
		p->apparmor_profile = *o->apparmor ? xstrdup(o->apparmor) : NULL;
	}
	if (o->process_label) {
		free(p->selinux_label);
		p->selinux_label = *o->process_label ? xstrdup(o->process_label) : NULL;
	}
	return 0;
}

/* --process FILE: the whole process from the file; capabilities it does
 * not give are the container's, never root's full set (as runc). */
static int load_process_file(const char *path, const struct hk_spec *spec, struct hk_process *out,
			     struct hk_err *err)
{
	size_t len;
	_cleanup_free_ char *text = hk_read_file(path, 16 << 20, &len, err);
	if (!text)
		return hk_err_prefix(err, "--process");
	struct hk_process *p = spec_parse_process(text, len, err);
	if (!p)
		return hk_err_prefix(err, "--process %s", path);
	*out = *p;
	free(p);
	if (!out->caps.present)
		out->caps = spec->process.caps;
	return 0;
}

#define SWAP(a, b)                         \
	do {                               \
		__typeof__(a) swap_ = (a); \
		(a) = (b);                 \
		(b) = swap_;               \
	} while (0)

/* As runc, the process's defaults (args, env, cwd) come from the bundle's
 * config.json as it is at exec time (and exec fails without one; a link or
 * anything but a regular file there is refused, never followed); but all
 * that bounds or raises it stays what create gave the container (made):
 * capabilities, no_new_privileges, LSM labels, the user and groups,
 * rlimits, the scheduler, the I/O priority, oom_score_adj, the umask and
 * execCPUAffinity (whose initial set husk itself takes on the host). A container
 * that can write its bundle (root.path ".") must not raise its next exec's
 * privileges (outside attack, F5 and F9). runc 1.1.5 takes all of them
 * from the bundle. */
static int bundle_process(const char *bundle, struct hk_spec *made, struct hk_process *out,
			  struct hk_err *err)
{
	size_t len;
	_cleanup_free_ char *text = spec_read_config_nofollow(bundle, NULL, &len, err);
	if (!text)
		return -1;
	if (made->text && len == made->text_len && memcmp(text, made->text, len) == 0) {
		*out = made->process;
		memset(&made->process, 0, sizeof(made->process));
		return 0;
	}
	/* Only the process is read: the rest (root.path included, which
	 * would be looked up on the host) is create's. */
	struct hk_process *now = spec_parse_config_process(text, len, err);
	if (!now)
		return -1;
	*out = *now;
	free(now);
	struct hk_process *m = &made->process;
	out->caps = m->caps;
	out->no_new_privileges = m->no_new_privileges;
	/* swapped, so that each struct still owns what it points to */
	SWAP(out->uid, m->uid);
	SWAP(out->gid, m->gid);
	SWAP(out->additional_gids, m->additional_gids);
	SWAP(out->n_additional_gids, m->n_additional_gids);
	SWAP(out->rlimits, m->rlimits);
	SWAP(out->n_rlimits, m->n_rlimits);
	SWAP(out->has_oom_score_adj, m->has_oom_score_adj);
	SWAP(out->oom_score_adj, m->oom_score_adj);
	SWAP(out->sched, m->sched);
	SWAP(out->ioprio, m->ioprio);
	SWAP(out->has_umask, m->has_umask);
	SWAP(out->umask, m->umask);
	SWAP(out->cpus_initial, m->cpus_initial);
	SWAP(out->cpus_final, m->cpus_final);
	free(out->apparmor_profile);
	free(out->selinux_label);
	out->apparmor_profile = TAKE_PTR(made->process.apparmor_profile);
	out->selinux_label = TAKE_PTR(made->process.selinux_label);
	return 0;
}

static int load_process(const struct hk_exec_opts *o, struct hk_state_dir *sd,
			const struct hk_state *st, struct target *t, struct hk_err *err)
{
	struct hk_process *out = &t->proc;
	/* The config as create had it: what bounds the container comes from
	 * there, never from the bundle as it is now, which the container may
	 * be able to write (root.path "."). */
	_cleanup_spec_ struct hk_spec *spec = state_load_config(sd, st, err);
	if (!spec)
		return hk_err_prefix(err, "the container's config");
	/* The same seccomp filter, memory policy and personality as the
	 * container's process. */
	t->seccomp = spec->seccomp;
	memset(&spec->seccomp, 0, sizeof(spec->seccomp));
	if (t->seccomp.present && seccomp_compile(&t->seccomp, &t->bpf, err) < 0)
		return hk_err_prefix(err, "the container's config");
	t->mempolicy = spec->mempolicy;
	t->has_personality = spec->has_personality;
	t->personality = spec->personality;
	if (o->process_file)
		return load_process_file(o->process_file, spec, out, err);
	if (bundle_process(st->bundle, spec, out, err) < 0)
		return hk_err_prefix(err, "the container's config");
	/* A terminal comes with --tty only, as with runc. */
	out->terminal = false;
	out->has_console_size = false;
	return apply_flags(o, out, err);
}

/* Why the kernel may hide a process's namespaces from husk (ptrace
 * access, ptrace(2)): rootless, the container was made from a user
 * namespace that is neither husk's nor one husk is privileged over. */
static int hidden_ns(struct hk_err *err)
{
	size_t len = strlen(err->msg);

	if ((err->errnum == EACCES || err->errnum == EPERM) && hk_rootless())
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 " (the kernel shows a process's namespaces only to one in its user "
			 "namespace or privileged over it, which husk, uid %u here, is not: "
			 "the container was made from another user namespace)",
			 (unsigned)geteuid());
	return -1;
}

struct gather_args {
	const struct hk_exec_opts *o;
	struct target *t;
};

static int gather(struct hk_state_dir *sd, struct hk_state *st, void *data, struct hk_err *err)
{
	struct gather_args *a = data;
	struct target *t = a->t;
	enum hk_status status = state_status(sd, st);

	if (status != HK_RUNNING && status != HK_CREATED)
		return hk_fail(err, 0, "cannot exec in container %s: it is %s", st->id,
			       state_status_name(status));
	t->pidfd = state_pidfd(sd, st, err);
	if (t->pidfd < 0 && err->errnum == ESRCH)
		return hk_fail(err, 0, "cannot exec in container %s: its process is gone", st->id);
	if (t->pidfd < 0)
		return -1;
	t->pid = st->pid;
	if (ns_differing(st->pid, &t->ns_flags, err) < 0)
		return hidden_ns(err);
	t->cgroup = TAKE_PTR(st->cgroup);
	/* Joined, never made nor removed here; rootless, one the kernel will
	 * not let us join is skipped, as runc's exec does. */
	t->cgroup->best_effort = hk_cgroups_best_effort();
	for (size_t i = 0; i < t->cgroup->n_dirs; i++)
		t->cgroup->dirs[i].shared = true;
	t->id = xstrdup(st->id);
	/* a state of an older husk has no name: runc's */
	if (!st->no_new_keyring)
		t->keyring = st->keyring ? xstrdup(st->keyring) : xasprintf("_ses.%s", st->id);
	t->bundle = xstrdup(st->bundle);
	return load_process(a->o, sd, st, t, err);
}

static int send_terminal(struct target *t, int sock, struct hk_err *err)
{
	int master = terminal_setup(&t->proc, err);
	if (master < 0)
		return -1;
	int r = sync_send_fd(sock, HK_SYNC_PTY, master);
	close(master);
	return r < 0 ? hk_fail(err, errno, "send the terminal to husk") : 0;
}

/* "user, mnt, pid" for the namespaces in flags. */
static void flag_names(uint64_t flags, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int type = 0; type < HK_NS_COUNT; type++)
		if ((flags & ns_clone_flag((enum hk_ns_type)type)) && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
						spec_ns_name((enum hk_ns_type)type));
}

/* What the kernel refused, and what makes it refuse: namespaces belong to
 * a user namespace, and only a process privileged there may join them. */
static int join_failed(const struct target *t, int e, struct hk_err *err)
{
	char names[128];
	uid_t owner;

	flag_names(t->ns_flags, names, sizeof(names));
	hk_fail(err, e, "join the container's namespaces (%s) as uid %u", names,
		(unsigned)geteuid());
	if (e != EPERM)
		return -1;
	size_t len = strlen(err->msg);
	_cleanup_close_ int user = ns_open_proc(t->pidfd, t->pid, "ns/user", O_RDONLY, NULL);
	if (user >= 0 && ioctl(user, NS_GET_OWNER_UID, &owner) == 0 && owner != geteuid())
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 " (the container's user namespace belongs to uid %u: only its owner or "
			 "a user privileged over it may enter)",
			 (unsigned)owner);
	else if (!(t->ns_flags & CLONE_NEWUSER))
		snprintf(err->msg + len, sizeof(err->msg) - len,
			 " (husk has no CAP_SYS_ADMIN in the user namespace they belong to)");
	return -1;
}

/* setns(CLONE_NEWPID) only says where our children go: the process that
 * runs is one more clone, born in the container's pid namespace, a child
 * of husk's (CLONE_PARENT), which takes it over (its pid arrives with
 * HK_SYNC_PID's credentials) and says GO again. This one is done. */
static int fork_into_pidns(struct target *t, int sock, struct hk_err *err)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PARENT;
	pid_t pid = hk_clone3(&args);
	if (pid < 0)
		return hk_fail(err, errno, "clone3 into the container's pid namespace");
	if (pid > 0)
		_exit(0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_PDEATHSIG)");
	if (sync_send(sock, HK_SYNC_PID, NULL) < 0)
		return hk_fail(err, errno, "report the exec process to husk");
	return sync_wait_go(sock, &t->host_pid, err);
}

/* The new process, from clone3 to execve: into the container's namespaces
 * (setns on its pidfd joins them all at once, user namespace first, which
 * is what lets an unprivileged caller in: it is privileged in the
 * container's user namespace only once it is there), then the same last
 * steps as the container's first process (linux/tail.h). t is this
 * process's own copy (after fork). Returns only on failure. */
static int exec_child_setup(struct target *t, int sock, int preserve_fds, struct hk_err *err)
{
	struct hk_seccomp_filter *filter = NULL;

	if (sync_wait_go(sock, &t->host_pid, err) < 0)
		return -1;
	/* Built before setns: a listener is reached by its host path. */
	if (t->seccomp.present && !(filter = seccomp_prepare(&t->seccomp, &t->bpf, err)))
		return -1;
	/* setns(2) with a pidfd (Linux >= 5.8); the new mount namespace makes
	 * its root our root and cwd. A container sharing husk's is chrooted. */
	_cleanup_close_ int root = -1;
	int r = 0;
	if (!(t->ns_flags & CLONE_NEWNS) &&
	    (root = ns_open_proc(t->pidfd, t->pid, "root", O_PATH | O_DIRECTORY, err)) < 0)
		r = -1;
	if (r == 0 && t->ns_flags && setns(t->pidfd, (int)t->ns_flags) < 0)
		r = join_failed(t, errno, err);
	if (r == 0 && root >= 0 && ns_enter_root(root, err) < 0)
		r = -1;
	if (r == 0 && t->via_child)
		r = fork_into_pidns(t, sock, err);
	if (r == 0 && t->proc.terminal)
		r = send_terminal(t, sock, err);
	if (r < 0) {
		seccomp_filter_free(filter);
		return -1;
	}
	_cleanup_free_ char *state =
		t->seccomp.listener_path
			? hooks_process_state_json(t->id, "running", t->host_pid, t->bundle, NULL,
						   0, t->seccomp.listener_metadata)
			: NULL;
	/* exec's process is its own copy, flags applied; its environment
	 * goes through a derived one as the first process's does. */
	struct hk_derived derived;
	spec_derive(NULL, &t->proc, &derived);
	struct hk_tail tail = {.proc = &t->proc,
			       .derived = &derived,
			       .mempolicy = &t->mempolicy,
			       .has_personality = t->has_personality,
			       .personality = t->personality,
			       .exec = true,
			       .preserve_fds = preserve_fds,
			       .keyring = t->keyring,
			       .filter = filter,
			       .listener_state = state};
	tail_exec(&tail, err);
	spec_derived_free(&derived);
	return -1;
}

static void __attribute__((noreturn)) exec_child(struct target *t, int sock, int preserve_fds)
{
	struct hk_err err = {0};

	/* The death signal goes with the uid change in the tail; a detached
	 * exec's process outlives husk anyway. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		hk_fail(&err, errno, "prctl(PR_SET_PDEATHSIG)");
	} else {
		/* its own page tables at once, as the container process's */
		hk_prefault(HK_PREFAULT_CODE | HK_PREFAULT_DATA);
		if (process_preserve_fds(preserve_fds, &err) == 0)
			exec_child_setup(t, sock, preserve_fds, &err); /* returns only on failure */
	}
	sync_report_error(sock, true, &err);
	_exit(126);
}

static pid_t clone_with(int *pidfd, int cgfd)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	if (cgfd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgfd;
	}
	return hk_clone3(&args);
}

static pid_t clone_into(const struct target *t, int *pidfd, struct hk_err *err)
{
	_cleanup_close_ int cgfd = -1;

	if (cg_clone_fd(t->cgroup, &cgfd, err) < 0)
		return -1;
	pid_t pid = clone_with(pidfd, cgfd);
	/* Rootless, a cgroup we may not move a process into is skipped. */
	if (pid < 0 && cgfd >= 0 && cg_refusal(t->cgroup, errno)) {
		cg_clone_refused(t->cgroup);
		pid = clone_with(pidfd, -1);
	}
	if (pid < 0)
		hk_fail(err, errno, "clone3 the exec process");
	return pid;
}

/* After GO: a terminal's master may come, then EOF once the process has
 * exec'd (the socket is close-on-exec), or its error. */
static int wait_exec(int sock, int *pty, struct hk_err *err)
{
	for (;;) {
		struct hk_sync_in in;
		if (sync_read(sock, &in, err) < 0)
			return -1;
		if (in.type == HK_SYNC_PTY && in.fd >= 0 && *pty < 0) {
			*pty = in.fd;
			continue;
		}
		if (in.fd >= 0)
			close(in.fd);
		if (in.type == 0)
			return 0;
		if (in.type == HK_SYNC_ERROR) {
			*err = in.payload;
			return -1;
		}
		return hk_fail(err, 0, "unexpected message %u from the exec process", in.type);
	}
}

/* The process the first one forked into the pid namespace (via_child),
 * our child too (CLONE_PARENT): it reports with its credentials, the first
 * one is reaped, and the new one goes on with GO and its pid. */
static int adopt(int sock, pid_t *pid, int *pidfd, struct hk_err *err)
{
	struct hk_sync_in in;

	if (sync_read(sock, &in, err) < 0)
		return -1;
	if (in.fd >= 0)
		close(in.fd);
	if (in.type == HK_SYNC_ERROR) {
		*err = in.payload;
		return -1;
	}
	if (in.type == 0)
		return hk_fail(err, 0, "the exec process exited before it joined the container");
	if (in.type != HK_SYNC_PID || in.sender <= 0)
		return hk_fail(err, 0, "the exec process did not say who it is (message %u)",
			       in.type);
	int fd = hk_pidfd_open(in.sender, 0);
	if (fd < 0)
		return hk_fail(err, errno, "pidfd_open %d", (int)in.sender);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	close(*pidfd);
	*pid = in.sender;
	*pidfd = fd;
	if (sync_send_value(sock, HK_SYNC_GO, (int32_t)*pid) < 0)
		return hk_fail(err, errno, "start the exec process");
	return 0;
}

/* *fd: the container's pid namespace, or -1 when it is husk's own (a
 * container sharing the host's has none to join). */
static int other_pidns(const struct target *t, int *fd, struct hk_err *err)
{
	char path[64];
	struct stat theirs, ours;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)t->pid);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return hk_fail(err, errno, "open %s", path);
	if (fstat(*fd, &theirs) == 0 && stat("/proc/self/ns/pid", &ours) == 0 &&
	    theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino) {
		close(*fd);
		*fd = -1;
	}
	return 0;
}

/* Start the process; returns once it has exec'd (or failed to). */
static int spawn_exec(struct target *t, int preserve_fds, pid_t *pid, int *pidfd, int *pty,
		      struct hk_err *err)
{
	_cleanup_close_ int pidns = -1, own = -1;
	int sv[2], one = 1;

	if (other_pidns(t, &pidns, err) < 0)
		return -1;
	if (process_undumpable(err) < 0)
		return -1;
	/* execCPUAffinity.initial: where "a runtime parent process" runs
	 * before the process joins the container's cgroup (config.md) -- this
	 * one, from here on; the process is born with it, and the tail sets
	 * the final one. */
	if (t->proc.cpus_initial.set &&
	    sched_apply_affinity(&t->proc.cpus_initial,
				 "process.execCPUAffinity.initial: sched_setaffinity", err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hk_fail(err, errno, "socketpair");
	int r = ns_pid_for_children(pidns, &own, err);
	if (r == 1) {
		t->via_child = true;
		t->ns_flags |= CLONE_NEWPID;
		r = setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
		if (r < 0)
			hk_fail(err, errno, "setsockopt SO_PASSCRED");
	}
	*pid = r < 0 ? -1 : clone_into(t, pidfd, err);
	if (*pid == 0) {
		close(sv[0]);
		exec_child(t, sv[1], preserve_fds);
	}
	struct hk_err back = {0};
	if (ns_pid_restore(&own, &back) < 0 && *pid > 0) {
		*err = back;
		r = -1;
	}
	close(sv[1]);
	if (*pid < 0) {
		close(sv[0]);
		return -1;
	}
	HK_FAULT("exec:cloned");
	if (r == 0)
		r = process_set_oom_score_adj(*pid, &t->proc, err);
	int fds[CG_MAX_FDS];
	size_t n = 0;
	if (r == 0)
		r = cg_enter_fds(t->cgroup, *pid, fds, CG_MAX_FDS, &n, err);
	if (r == 0 && sync_send_cgfds(sv[0], fds, n) < 0)
		r = hk_fail(err, errno, "start the exec process");
	if (r == 0 && sync_send_value(sv[0], HK_SYNC_GO, (int32_t)*pid) < 0)
		r = hk_fail(err, errno, "start the exec process");
	if (r == 0 && t->via_child)
		r = adopt(sv[0], pid, pidfd, err);
	if (r == 0)
		r = wait_exec(sv[0], pty, err);
	close(sv[0]);
	if (r < 0) {
		if (*pty >= 0)
			close(*pty);
		*pty = -1;
		hk_pidfd_send_signal(*pidfd, SIGKILL, NULL, 0);
		waitpid(*pid, NULL, 0);
	}
	return r;
}

static void target_clear(struct target *t)
{
	if (t->pidfd >= 0)
		close(t->pidfd);
	cg_free(t->cgroup);
	spec_process_clear(&t->proc);
	spec_seccomp_clear(&t->seccomp);
	seccomp_bpf_clear(&t->bpf);
	free(t->keyring);
	free(t->id);
	free(t->bundle);
}

/* The terminal goes to --console-socket (connected before the process was
 * made), or is proxied while we wait. */
static int hand_over(const struct hk_exec_opts *o, int console, int *pty, struct hk_err *err)
{
	if (*pty < 0 || console < 0)
		return 0;
	int r = terminal_send_fd(console, o->console_socket, *pty, err);
	close(*pty);
	*pty = -1;
	return r;
}

int container_exec(const struct hk_exec_opts *o, int *status, struct hk_err *err)
{
	struct target t = {.pidfd = -1};
	struct gather_args a = {o, &t};
	int pidfd = -1, pty = -1;
	_cleanup_close_ int console = -1;
	pid_t pid = -1;

	*status = 0;
	if (state_with(o->root, o->id, false, gather, &a, err) < 0)
		goto fail;
	t.proc.terminal |= o->tty;
	if (lsm_check(NULL, &t.proc, err) < 0)
		goto fail;
	if (t.proc.terminal && !o->console_socket && o->detach) {
		hk_fail(err, 0, "exec: a terminal needs --console-socket with --detach");
		goto fail;
	}
	if (t.proc.terminal && o->console_socket) {
		console = terminal_connect(o->console_socket, err);
		if (console < 0)
			goto fail;
	}
	if (spawn_exec(&t, o->preserve_fds, &pid, &pidfd, &pty, err) < 0)
		goto fail;
	HK_FAULT("exec:running");
	target_clear(&t);
	int r = hand_over(o, console, &pty, err);
	if (r == 0 && o->pid_file)
		r = state_write_pid_file(o->pid_file, pid, err);
	if (r == 0 && !o->detach)
		r = wait_forwarding(pidfd, pty, status, err);
	if (pty >= 0)
		close(pty);
	close(pidfd);
	return r;
fail:
	target_clear(&t);
	return -1;
}
