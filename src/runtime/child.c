/* The container's first process, from clone3 to execve. It reads as the
 * checklist it is; each step lives in the file of its concern. Any failure
 * travels to the parent over the sync socket, and the process exits. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fault.h"
#include "common/fds.h"
#include "common/log.h"
#include "common/prefault.h"
#include "common/syscalls.h"
#include "linux/keyring.h"
#include "linux/ns.h"
#include "linux/process.h"
#include "linux/rootfs.h"
#include "linux/seccomp.h"
#include "linux/sysctl.h"
#include "linux/tail.h"
#include "linux/terminal.h"
#include "linux/userns.h"
#include "runtime/hooks.h"
#include "runtime/mountsrc.h"
#include "runtime/spawn.h"
#include "runtime/systemd.h"
#include "runtime/sync.h"

/* Test builds: at a "child:" fault step, have husk die (see fault.h). */
#define CHILD_FAULT(sock, step)                               \
	do {                                                  \
		if (hk_fault_hit(step)) {                     \
			sync_send(sock, HK_SYNC_FAULT, NULL); \
			_exit(137);                           \
		}                                             \
	} while (0)

/* A new cgroup namespace, once we are in our cgroup, so that its root is
 * the container's cgroup (cgroup_namespaces(7)), and once in the user
 * namespace it is to belong to: with one joined by path, after the join
 * (before it, an unprivileged husk may not make one at all). */
static int new_cgroup_ns(struct hk_spawn *sp, struct hk_err *err)
{
	const struct hk_namespace *cg = spec_ns(sp->spec, HK_NS_CGROUP);
	const struct hk_namespace *user = spec_ns(sp->spec, HK_NS_USER);

	if (!cg || cg->path || !sp->in_cgroup || (user && user->path && !sp->user_joined))
		return 0;
	if (unshare(CLONE_NEWCGROUP) < 0)
		return hk_fail(err, errno, "unshare the cgroup namespace");
	return 0;
}

/* Enter our cgroup as husk hands us its tasks files, until it says we are
 * in (once). */
static int wait_cgroup(struct hk_spawn *sp, int sock, struct hk_err *err)
{
	struct hk_sync_in in;

	if (sp->in_cgroup)
		return 0;
	for (;;) {
		if (sync_read(sock, &in, err) < 0)
			return -1;
		if (in.type != HK_SYNC_CGFD || in.fd < 0)
			break;
		if (cg_enter_self(in.fd, err) < 0)
			return -1;
	}
	if (in.fd >= 0)
		close(in.fd);
	if (in.type != HK_SYNC_CGROUP)
		return hk_fail(err, 0, "husk went away during setup");
	sp->in_cgroup = true;
	sp->cg_kept = (uint32_t)in.value;
	hk_debug("child: in cgroup");
	return new_cgroup_ns(sp, err);
}

struct cgroup_wait {
	struct hk_spawn *sp;
	int sock;
	struct hk_cg_mount *cgm; /* room for 16 */
	size_t *n_cgm;
};

/* The cgroups to show at a "cgroup" mount: those husk put us in (rootless,
 * it may have left some out since the clone). */
static int before_cgroup_mount(void *data, struct hk_err *err)
{
	struct cgroup_wait *w = data;
	const struct hk_cgroup *cg = w->sp->cgroup;
	size_t n = 0;

	if (wait_cgroup(w->sp, w->sock, err) < 0)
		return -1;
	for (size_t i = 0; i < cg->n_dirs && n < 16; i++) {
		if (cg->dirs[i].index >= 32 || !(w->sp->cg_kept & (1u << cg->dirs[i].index)))
			continue;
		w->cgm[n].name = cg->dirs[i].name;
		w->cgm[n].host_dir = cg->dirs[i].dir;
		n++;
	}
	*w->n_cgm = n;
	return 0;
}

/* Bind sources husk opens on the host's side (runtime/mountsrc.h); its
 * CGROUP message comes first. */
static int open_sources(void *data, int *fds, struct hk_err *err)
{
	struct cgroup_wait *w = data;
	if (wait_cgroup(w->sp, w->sock, err) < 0)
		return -1;
	return mountsrc_request(w->sock, w->sp->spec, &w->sp->derived, fds, err);
}

/* A user namespace joined by path: join it, become its root, and only then
 * create the other namespaces, so that they belong to it. A new pid
 * namespace takes one more fork: its first child is the container. */
static int join_user_ns(struct hk_spawn *sp, int sock, struct hk_err *err)
{
	static const enum hk_ns_type user[] = {HK_NS_USER};
	uint64_t flags = ns_new_flags(sp->spec);

	/* The process forked below must be born in the cgroup. */
	if (wait_cgroup(sp, sock, err) < 0)
		return -1;
	if (ns_join(sp->ns_fds, user, 1, err) < 0 || userns_become_root(err) < 0)
		return -1;
	sp->user_joined = true;
	if (new_cgroup_ns(sp, err) < 0)
		return -1;
	if (flags && unshare((int)flags) < 0)
		return hk_fail(err, errno, "create namespaces in the joined user namespace");
	if (!(flags & CLONE_NEWPID))
		return 0;
	pid_t pid = fork();
	if (pid < 0)
		return hk_fail(err, errno, "fork into the new pid namespace");
	if (pid > 0)
		_exit(0);
	if (sync_send(sock, HK_SYNC_PID, NULL) < 0)
		return hk_fail(err, errno, "report the container process");
	return 0;
}

/* A pid namespace by path that husk could not point its children at
 * (rootless: linux/ns.h, ns_pid_for_children): joined here, after the user
 * namespace, by a process that then clones the container's, a child of
 * husk's (CLONE_PARENT), born in it and in the cgroup. The kernel lets only
 * a process privileged over the namespace in: not one in a new user
 * namespace of the container's, which does not own it. */
static int join_pid_ns(struct hk_spawn *sp, int sock, struct hk_err *err)
{
	static const enum hk_ns_type pid[] = {HK_NS_PID};
	struct clone_args args;

	if (!sp->pidns_in_child)
		return 0;
	if (wait_cgroup(sp, sock, err) < 0)
		return -1;
	if (ns_join(sp->ns_fds, pid, 1, err) < 0) {
		if (err->errnum == EPERM && spec_ns(sp->spec, HK_NS_USER))
			hk_err_prefix(err, "the container's new user namespace has no "
					   "privilege over the pid namespace to join");
		return -1;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PARENT;
	pid_t child = hk_clone3(&args);
	if (child < 0)
		return hk_fail(err, errno, "clone3 into the pid namespace");
	if (child > 0)
		_exit(0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_PDEATHSIG)");
	if (sync_send(sock, HK_SYNC_PID, NULL) < 0)
		return hk_fail(err, errno, "report the container process");
	return 0;
}

/* Opened before the child enters any namespace: in a user namespace it
 * stays non-dumpable (linux/userns.h), and a mount namespace joined by
 * path is another container's, whose /proc could lead a write by path
 * anywhere (outside attack, F3). The write is checked against the
 * opener's credentials, which own the namespaces made later. */
static int open_time_offsets(struct hk_spawn *sp, struct hk_err *err)
{
	const struct hk_namespace *time = spec_ns(sp->spec, HK_NS_TIME);

	sp->timens_fd = -1;
	if (!time || time->path)
		return 0;
	int fd = userns_open_time_offsets(sp->spec, err);
	if (fd == -1)
		return -1;
	sp->timens_fd = fd;
	return 0;
}

static int enter_user_ns(struct hk_spawn *sp, int sock, struct hk_err *err)
{
	const struct hk_namespace *user = spec_ns(sp->spec, HK_NS_USER);

	if (!user)
		return 0;
	if (user->path)
		return join_user_ns(sp, sock, err);
	/* The parent has written our maps: be root of the new namespace. */
	return userns_become_root(err);
}

static int join_namespaces(struct hk_spawn *sp, struct hk_err *err)
{
	static const enum hk_ns_type order[] = {HK_NS_IPC,    HK_NS_UTS,  HK_NS_NET,
						HK_NS_CGROUP, HK_NS_TIME, HK_NS_MNT};
	const struct hk_namespace *net = spec_ns(sp->spec, HK_NS_NET);
	const struct hk_namespace *time = spec_ns(sp->spec, HK_NS_TIME);

	if (ns_join(sp->ns_fds, order, sizeof(order) / sizeof(order[0]), err) < 0)
		return -1;
	ns_close_all(sp->ns_fds);
	if (time && !time->path) {
		int r = userns_new_time(sp->spec, sp->timens_fd, err);
		if (sp->timens_fd >= 0)
			close(sp->timens_fd);
		sp->timens_fd = -1;
		if (r < 0)
			return -1;
	}
	hk_debug("child: lo");
	if (net && !net->path && ns_loopback_up(err) < 0)
		return -1;
	return 0;
}

static int set_names(const struct hk_spec *s, struct hk_err *err)
{
	if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return hk_fail(err, errno, "hostname: sethostname \"%s\"", s->hostname);
	if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return hk_fail(err, errno, "domainname: setdomainname \"%s\"", s->domainname);
	return 0;
}

static bool has_hooks(const struct hk_spec *s, enum hk_hook_kind kind)
{
	return s->hooks[kind].n > 0;
}

static int run_hooks(struct hk_spawn *sp, enum hk_hook_kind kind, const char *status,
		     struct hk_err *err)
{
	const struct hk_spec *s = sp->spec;
	static char *const none[] = {NULL};
	_cleanup_free_ char *state = hooks_state_json(sp->id, status, sp->host_pid, s->bundle,
						      s->annotations, s->n_annotations);
	/* createContainer runs before pivot_root, startContainer after. With
	 * the process's environment as husk derives it so far (NOTIFY_SOCKET;
	 * LISTEN_FDS and HOME too by startContainer). */
	const char *dir = kind == HK_HOOK_CREATE_CONTAINER ? s->root_path : "/";
	return hooks_run(&s->hooks[kind], kind, state, sp->derived.env ? sp->derived.env : none,
			 dir, err);
}

/* Between the mounts and pivot_root: husk runs prestart and createRuntime
 * hooks (it answers with our pid as it sees it), then createContainer
 * hooks run here, in the container's namespaces (runtime.md, Lifecycle). */
static int create_hooks(struct hk_spawn *sp, int sock, struct hk_err *err)
{
	const struct hk_spec *s = sp->spec;
	struct hk_sync_in in;

	if (!has_hooks(s, HK_HOOK_PRESTART) && !has_hooks(s, HK_HOOK_CREATE_RUNTIME) &&
	    !has_hooks(s, HK_HOOK_CREATE_CONTAINER))
		return 0;
	if (sync_send(sock, HK_SYNC_HOOKS, NULL) < 0 || sync_read(sock, &in, err) < 0)
		return hk_fail(err, errno, "hooks: talk to husk");
	if (in.fd >= 0)
		close(in.fd);
	if (in.type != HK_SYNC_HOOKS)
		return hk_fail(err, 0, "hooks: unexpected message %u from husk", in.type);
	sp->host_pid = in.value;
	return run_hooks(sp, HK_HOOK_CREATE_CONTAINER, "creating", err);
}

/* process.cwd is made when missing (as runc does), while still root and
 * before root.readonly applies (Kubernetes' readOnlyRootFilesystem with a
 * workingDir the image lacks). */
static int make_cwd(const char *cwd, struct hk_err *err)
{
	/* Resolved inside the root like every container path: a magic link
	 * such as /proc/self/fd/N is refused, never followed. */
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return hk_fail(err, errno, "open /");
	_cleanup_close_ int fd = rootfs_mkdir_p(root, cwd, 0755, err);
	return fd < 0 ? hk_err_prefix(err, "process.cwd") : 0;
}

static int build_rootfs(struct hk_spawn *sp, int sock, struct hk_err *err)
{
	struct hk_cg_mount cgm[16];
	struct hk_rootfs_ctx ctx = {.spec = sp->spec,
				    .mounts = sp->derived.mounts,
				    .n_mounts = sp->derived.n_mounts,
				    .cg_mounts = cgm,
				    .no_pivot = sp->no_pivot,
				    .before_cgroup_mount = before_cgroup_mount,
				    .open_sources = sp->host_sources ? open_sources : NULL};
	struct cgroup_wait w = {sp, sock, cgm, &ctx.n_cg_mounts};
	ctx.data = &w;
	struct hk_rootfs root;
	if (rootfs_mount_all(&ctx, &root, err) < 0)
		return -1;
	if (wait_cgroup(sp, sock, err) < 0) {
		rootfs_release(&root);
		return -1;
	}
	hk_debug("child: mounts done");
	CHILD_FAULT(sock, "child:mounts");
	int r = create_hooks(sp, sock, err);
	if (r == 0)
		r = rootfs_pivot(&ctx, &root, err);
	hk_debug("child: pivoted");
	CHILD_FAULT(sock, "child:pivoted");
	/* The cwd before the root goes read-only (rootfs_finish). */
	if (r < 0 || make_cwd(sp->spec->process.cwd, err) < 0 || sysctl_apply(sp->spec, err) < 0) {
		rootfs_release(&root);
		return -1;
	}
	return rootfs_finish(&root, err);
}

/* Block until `husk start` opens the fifo for reading, then tell it we go. */
static int wait_for_start(int state_fd, struct hk_err *err)
{
	int fd;
	do
		fd = openat(state_fd, "exec.fifo", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return hk_fail(err, errno, "open exec.fifo");
	/* A regular file put in its place (a createRuntime hook's doing)
	 * opens at once: the program would run without start (outside
	 * attack, round 16, F3). */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return hk_fail(err, 0, "exec.fifo is not a fifo: refused");
	}
	ssize_t w = write(fd, "0", 1);
	/* fd stays open, close-on-exec: start sees EOF when execve happens
	 * (or the process dies), and runs poststart hooks only then. */
	return w == 1 ? 0 : hk_fail(err, errno, "write exec.fifo");
}

/* The pty is made in here, where /dev/pts is the container's own; its
 * master goes to husk, which hands it on or proxies it. */
static int send_terminal(const struct hk_process *p, int sock, struct hk_err *err)
{
	int master = terminal_setup(p, err);

	if (master < 0)
		return -1;
	/* terminal_setup made the slave our stdin */
	if (terminal_mount_console(STDIN_FILENO, err) < 0) {
		close(master);
		return -1;
	}
	int r = sync_send_fd(sock, HK_SYNC_PTY, master);
	close(master);
	return r < 0 ? hk_fail(err, errno, "send the terminal to husk") : 0;
}

/* Step 9 of the tail (linux/tail.h) for the container's first process:
 * ready, recorded, started, startContainer hooks. Without no_new_privs the
 * seccomp filter is loaded already: read, write, openat and close only. */
struct start_wait {
	struct hk_spawn *sp;
	int sock;
};

static int wait_start(void *data, struct hk_err *err)
{
	struct start_wait *w = data;
	struct hk_spawn *sp = w->sp;
	int32_t listened;

	hk_debug("child: credentials set, ready");
	CHILD_FAULT(w->sock, "child:ready");
	if (sync_write(w->sock, HK_SYNC_READY) < 0)
		return hk_fail(err, errno, "report ready");
	/* Until husk has recorded us (pid in state.json) we must not outlive
	 * it: a husk killed now would leave a process nobody knows of. Its
	 * death shows here as EOF. */
	if (sync_read_value(w->sock, HK_SYNC_DONE, &listened) < 0)
		_exit(1);
	sp->recorded = true;
	sp->listened = listened != 0;
	if (wait_for_start(sp->state_fd, err) < 0)
		return -1;
	hk_debug("child: started");
	/* startContainer: in the container, after start, before the program,
	 * with the process's environment (as runc's). */
	if (has_hooks(sp->spec, HK_HOOK_START_CONTAINER) &&
	    run_hooks(sp, HK_HOOK_START_CONTAINER, "created", err) < 0)
		return -1;
	close(sp->state_fd);
	return 0;
}

/* Back to non-dumpable (a user namespace's setup needed our own /proc
 * files): see process_guard_exe. */
static int undumpable(const struct hk_spec *s, struct hk_err *err)
{
	if ((geteuid() == 0 || spec_ns(s, HK_NS_USER)) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
	return 0;
}

static int setup(struct hk_spawn *sp, int sock, struct hk_err *err)
{
	/* The spec stays as decoded: LISTEN_PID (our pid) and HOME go into
	 * the environment husk derives, this process's own copy. */
	const struct hk_spec *s = sp->spec;
	const struct hk_process *p = &s->process;
	struct hk_seccomp_filter *filter = NULL;

	hk_debug("child: go");
	if (open_time_offsets(sp, err) < 0 || enter_user_ns(sp, sock, err) < 0 ||
	    join_pid_ns(sp, sock, err) < 0 || join_namespaces(sp, err) < 0 || set_names(s, err) < 0)
		return -1;
	/* Built now: errors show at create, and a listener is still reachable
	 * by its host path (before pivot_root). */
	if (s->seccomp.present && !(filter = seccomp_prepare(&s->seccomp, sp->seccomp_bpf, err)))
		return -1;
	hk_debug("child: namespaces joined");
	CHILD_FAULT(sock, "child:namespaces");
	umask(0);
	if (build_rootfs(sp, sock, err) < 0 || (p->terminal && send_terminal(p, sock, err) < 0) ||
	    undumpable(s, err) < 0) {
		seccomp_filter_free(filter);
		return -1;
	}
	if (sp->listen_fds)
		sd_listen_env(&sp->derived, sp->listen_fds);
	_cleanup_free_ char *state =
		s->seccomp.listener_path
			? hooks_process_state_json(sp->id, "running", sp->host_pid, s->bundle,
						   s->annotations, s->n_annotations,
						   s->seccomp.listener_metadata)
			: NULL;
	struct start_wait w = {sp, sock};
	struct hk_tail t = {.proc = p,
			    .derived = &sp->derived,
			    .mempolicy = &s->mempolicy,
			    .has_personality = s->has_personality,
			    .personality = s->personality,
			    .preserve_fds = sp->preserve_fds,
			    .keyring = sp->keyring,
			    .keyring_perm = spec_ns(s, HK_NS_USER) ? KEYRING_SEARCH_OTHERS
								   : KEYRING_SEARCH_OWNER,
			    .filter = filter,
			    .listener_state = state,
			    .wait = wait_start,
			    .wait_data = &w};
	return tail_exec(&t, err);
}

void child_main(struct hk_spawn *sp, int sock)
{
	struct hk_err err = {0};
	pid_t parent = getppid();

	/* Until setup is done, the container dies with the husk that made it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	/* Its own page tables: none of the text's (fork copies none of a
	 * file mapping), and every write a copy (common/prefault.h). */
	if (!sp->prefaulted)
		hk_prefault(HK_PREFAULT_CODE | HK_PREFAULT_DATA);
	hk_debug("child: running");
	int keep[HK_NS_COUNT + 2];
	int nkeep = 0;
	keep[nkeep++] = sock;
	keep[nkeep++] = sp->state_fd;
	for (int t = 0; t < HK_NS_COUNT; t++)
		if (sp->ns_fds[t] >= 0)
			keep[nkeep++] = sp->ns_fds[t];
	/* Every fd of husk's goes (the state lock above all: a copy here
	 * would keep `start` waiting), wherever it landed, even in a gap of
	 * the preserved range; stdio, what the caller passed and keep stay. */
	if (hk_fds_close_others(keep, (size_t)nkeep, sp->preserve_fds, &err) == 0 &&
	    process_preserve_fds(sp->preserve_fds, &err) == 0 &&
	    sync_wait_go(sock, &sp->host_pid, &err) == 0)
		setup(sp, sock, &err); /* returns only on failure */
	/* Once create has returned, only a foreground run still reads. */
	sync_report_error(sock, !sp->recorded || sp->listened, &err);
	_exit(1);
}
