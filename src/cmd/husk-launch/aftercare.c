/* husk-launch's after-care (launch/aftercare.h): started first thing, it
 * sleeps until launch has exited, its caller holding the program's status,
 * and then does what launch handed it.
 *
 * Why: on the way out, launch used to wait for the kernel to tear down its
 * mount namespace (an RCU grace period) and for the removal of the
 * container's writable layer, where a disk that discards freed blocks at
 * once (ext4 -o discard) makes each directory removed an I/O to wait for,
 * a dozen per container; under load every such wait is a wake-up behind
 * whatever else runs. None of it is needed before the caller learns the
 * status: the container's name is free once DATA/<id> has gone to
 * DATA/.trash.
 *
 * It does its work once launch is gone (its pidfd says so), so that
 * launch's own last removals are not queued behind it on the disk and
 * its exit is not slowed by it. The after-care keeps launch's stderr (and nothing else of its), for
 * a warning when a removal fails: whoever reads launch's stderr to its end waits for the removal
 * too. What it cannot remove stays in DATA/.trash, which the next cleanup empties. It ends when
 * launch is gone and what it sent is done (a pidfd: a child of launch's may still hold the socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd/husk-launch/commands.h"
#include "common/err.h"
#include "common/log.h"
#include "common/proctitle.h"
#include "common/rawsys.h"
#include "common/syscalls.h"
#include "launch/aftercare.h"
#include "launch/overlay.h"
#include "runtime/sync.h"

#define MAX_HELD 4
/* The after-care's own stack when it shares launch's memory */
#define CARE_STACK (256 * 1024)

/* Sharing launch's memory needs raw syscalls (common/rawsys.h); the
 * sanitizers keep state of their own per process in it. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HK_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HK_SANITIZED 1
#endif
#if HK_HAVE_RAWSYS && !defined(HK_SANITIZED)
#define SHARED_CARE 1
#else
#define SHARED_CARE 0
#endif

struct care {
	int sock, parent;
	int held[MAX_HELD];
	size_t n_held;
	int data;       /* HK_SYNC_TRASH's DATA, -1 */
	int entry;      /* HK_SYNC_ENTRY's entry (locked), -1 */
	char trash[64]; /* and the name in DATA */
};

static void release(struct care *c)
{
	for (size_t i = 0; i < c->n_held; i++)
		close(c->held[i]);
	c->n_held = 0;
}

/* Once launch is done: its own last removals (the state directory) are
 * not queued behind these on the disk. */
static void finish(struct care *c)
{
	struct overlay_trash t = {.parent = c->data, .entry = c->entry};
	struct hk_err err = {0};

	/* the namespace first: the overlay on the layer is mounted there */
	release(c);
	if (c->data < 0)
		return;
	snprintf(t.name, sizeof(t.name), "%s", c->trash);
	c->data = c->entry = -1;
	if (overlay_trash_empty(&t, &err) < 0)
		hk_log(HK_LOG_WARN, "launch: the writable layer: %s", err.msg);
}

/* One message (runtime/sync.h): 1 when it was the last, 0 to wait for the
 * next. */
static int receive(struct care *c)
{
	struct hk_sync_in in;

	if (sync_read(c->sock, &in, NULL) < 0 || in.type == 0)
		return 1;
	if (in.type == HK_SYNC_HOLD && in.fd >= 0 && c->n_held < MAX_HELD) {
		c->held[c->n_held++] = in.fd;
		return 0;
	}
	if (in.type == HK_SYNC_TRASH && in.fd >= 0 && c->data < 0) {
		c->data = in.fd;
		snprintf(c->trash, sizeof(c->trash), "%s", in.payload.msg);
		return 0;
	}
	if (in.type == HK_SYNC_ENTRY && in.fd >= 0 && c->data >= 0 && c->entry < 0) {
		c->entry = in.fd;
		return 0;
	}
	if (in.fd >= 0)
		close(in.fd);
	return in.type == HK_SYNC_END;
}

static bool pending(int sock)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

/* Until fd is readable (or poll fails otherwise than by a signal). */
static void wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* What launch sent, once launch is gone: its pidfd turns readable when it
 * has exited. Until then nothing wakes the after-care (the fds launch
 * hands over are held in the socket meanwhile), and none of its work
 * competes with launch's own, its exit included, for a CPU: on a busy
 * machine each wake-up of a second process of the launch's was a chance
 * to lose the CPU to another job for a whole time slice (bench/README.md).
 * Without a pidfd (pidfd_open failed), the socket's end or
 * HK_SYNC_END says launch is done. */
static void serve(struct care *c)
{
	if (c->parent >= 0) {
		wait_readable(c->parent);
		while (pending(c->sock) && receive(c) == 0)
			;
		return;
	}
	do
		wait_readable(c->sock);
	while (receive(c) == 0);
}

/* The calls settle() makes: raw where the after-care shares launch's
 * memory (clone_care: launch's errno and glibc's state are not its own
 * until launch has exited), glibc's otherwise. */
#if HK_HAVE_RAWSYS
static int c_dupfd(int fd, int min)
{
	return (int)hk_rawsys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, min, 0);
}

/* as dup2: the copy has no close-on-exec (the after-care execs) */
static int c_dup2(int fd, int to)
{
	if (fd == to)
		return hk_rawsys(SYS_fcntl, fd, F_SETFD, 0, 0) < 0 ? -1 : to;
	return (int)hk_rawsys(SYS_dup3, fd, to, 0, 0);
}

static int c_open_null(void)
{
	return (int)hk_rawsys(SYS_openat, AT_FDCWD, (long)"/dev/null", O_RDWR | O_CLOEXEC, 0);
}

static void c_setsid(void)
{
	hk_rawsys(SYS_setsid, 0, 0, 0, 0);
}

static void c_close_from(int fd)
{
	hk_rawsys(SYS_close_range, fd, ~0U, 0, 0);
}

static void c_name(const char *name)
{
	hk_rawsys(SYS_prctl, PR_SET_NAME, (long)name, 0, 0);
}
#else
static int c_dupfd(int fd, int min)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, min);
}

static int c_dup2(int fd, int to)
{
	return dup2(fd, to);
}

static int c_open_null(void)
{
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

static void c_setsid(void)
{
	setsid();
}

static void c_close_from(int fd)
{
	hk_close_range((unsigned)fd, ~0U, 0);
}

static void c_name(const char *name)
{
	prctl(PR_SET_NAME, name, 0, 0, 0);
}
#endif

/* In the child, first: nothing of launch's but the socket, the pidfd,
 * stderr. */
static int settle(struct care *c)
{
	/* out of the way first: with launch's stdin or stdout closed, the
	 * socket or the pidfd may be 0 or 1 */
	int s = c_dupfd(c->sock, 5);
	int p = c->parent >= 0 ? c_dupfd(c->parent, 5) : -1;
	int null = c_open_null();

	c_setsid();
	if (s < 0 || (c->parent >= 0 && p < 0) || null < 0 || c_dup2(null, 0) < 0 ||
	    c_dup2(null, 1) < 0)
		return -1;
	/* to 3 and 4, whatever their numbers were (dup before dup2: one of
	 * them may be 3 or 4 already) */
	if (c_dup2(s, 3) < 0 || (p >= 0 && c_dup2(p, 4) < 0))
		return -1;
	c->sock = 3;
	c->parent = p >= 0 ? 4 : -1;
	/* launch's end of the socket among them */
	c_close_from(p >= 0 ? 5 : 4);
	c_name("husk-aftercare");
	return 0;
}

/* Then, with glibc's state its own: the work. */
static void care_for(struct care *c)
{
	signal(SIGPIPE, SIG_IGN);
	/* --log FILE's fd was closed with the rest (or its number is now the
	 * socket's or the pidfd's): warnings go to stderr alone */
	hk_log_forget();
	/* launch's arguments (-e SECRET=...) are not left for anyone to
	 * read in /proc/<pid>/cmdline (outside attack, tenth round, F2) */
	hk_proctitle_set("husk-launch after-care");
	serve(c);
	finish(c);
	_exit(0);
}

static pid_t fork_care(struct care *c)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (settle(c) < 0)
		_exit(1);
	care_for(c);
	return 0; /* not reached */
}

#if SHARED_CARE
/* Until launch has exited (its pidfd turns readable), without a call that
 * touches launch's memory. */
static int wait_gone(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	long r;

	do
		r = hk_rawsys(SYS_ppoll, (long)&p, 1, 0, 0);
	while (r == -EINTR);
	return r == 1 ? 0 : -1;
}

/* What the after-care execs once launch is gone: husk-launch itself (the
 * binary launch ran from), in its after-care mode (aftercare_main). */
static char *const care_argv[] = {"husk-launch after-care", AFTERCARE_ARG, NULL};
static char *const care_envp[] = {NULL};

static int care_main(void *arg)
{
	struct care *c = arg;

	/* Then a program of its own: nothing of launch's memory is used
	 * after launch, which may have been killed in the middle of a malloc
	 * (outside attack, round 14, F1), or kept (its -e secrets: F3). The
	 * signal mask stays as it is, all blocked, across the exec. */
	if (settle(c) == 0 && c->parent >= 0 && wait_gone(c->parent) == 0)
		hk_rawsys(SYS_execve, (long)"/proc/self/exe", (long)care_argv, (long)care_envp, 0);
	for (;;)
		hk_rawsys(SYS_exit_group, 1, 0, 0, 0);
	return 0; /* not reached */
}

/* The after-care as a process that shares launch's memory (clone
 * CLONE_VM, its own stack) and touches none of it until launch has
 * exited, and then execs husk-launch afresh to do its work. A fork made launch take a copy-on-write
 * fault (12-16 us here) for each page it wrote afterwards, ~50 on its way to the container's start,
 * and copy its page tables; and launch's exit no longer tears its memory down, the after-care does
 * (bench/README.md, "launch's after-care"). Signals are blocked until then: a handler of launch's
 * would run glibc code in the shared memory; they stay blocked in the
 * after-care for good: a signal other than SIGKILL cannot stop it half-way
 * through its work once launch has handed it over (outside attack, round
 * 14, F2). */
static pid_t clone_care(struct care *c)
{
	size_t guard = (size_t)getpagesize();
	char *stack = mmap(NULL, CARE_STACK + guard, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	sigset_t all, old;

	if (stack == MAP_FAILED)
		return -1;
	if (mprotect(stack, guard, PROT_NONE) < 0) {
		munmap(stack, CARE_STACK + guard);
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone(care_main, stack + guard + CARE_STACK, CLONE_VM | SIGCHLD, c);
	int e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* made: the stack stays, the after-care's until its end */
	if (pid < 0)
		munmap(stack, CARE_STACK + guard);
	errno = e;
	return pid;
}
#endif

/* fd moved to 3 or above: with launch's stdin or stdout closed, the
 * socket took its number, and launch's stdout, the container's terminal
 * output copied there, went into the after-care's socket, which it no
 * longer read while launch ran: launch blocked there for good (outside
 * attack, twelfth round, second look, F1). */
static int above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

int aftercare_start(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	sv[0] = above_stdio(sv[0]);
	sv[1] = above_stdio(sv[1]);
	/* launch never waits on the after-care: a send that would block
	 * fails, and launch does that work itself */
	if (sv[0] < 0 || sv[1] < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		if (sv[0] >= 0)
			close(sv[0]);
		if (sv[1] >= 0)
			close(sv[1]);
		return -1;
	}
	int parent = above_stdio(hk_pidfd_open(getpid(), 0));
	/* the child's, in memory that clone_care's child shares */
	static struct care c;
	c = (struct care){.sock = sv[1], .parent = parent, .data = -1, .entry = -1};
#if SHARED_CARE
	/* without a pidfd, nothing would say when launch's memory is free */
	pid_t pid = parent >= 0 ? clone_care(&c) : fork_care(&c);
#else
	pid_t pid = fork_care(&c);
#endif
	close(sv[1]);
	if (parent >= 0)
		close(parent);
	if (pid > 0)
		return sv[0];
	close(sv[0]);
	return -1;
}

int aftercare_main(void)
{
	struct stat st;
	struct care c = {.sock = 3, .parent = 4, .data = -1, .entry = -1};

	/* what clone_care left it: the socket on 3, launch's pidfd on 4 */
	if (fstat(3, &st) < 0 || !S_ISSOCK(st.st_mode) || fcntl(4, F_GETFD) < 0) {
		fprintf(stderr, "husk-launch: %s is launch's own, not to be run by hand\n",
			AFTERCARE_ARG);
		return 2;
	}
	prctl(PR_SET_NAME, "husk-aftercare", 0, 0, 0);
	care_for(&c);
	return 0; /* not reached */
}

void aftercare_end(int sock)
{
	if (sock < 0)
		return;
	sync_send(sock, HK_SYNC_END, NULL);
	close(sock);
}
