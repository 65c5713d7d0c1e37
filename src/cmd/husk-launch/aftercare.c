/* husk-launch's after-care (launch/aftercare.h): forked first thing, it
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/husk-launch/commands.h"
#include "common/err.h"
#include "common/log.h"
#include "common/proctitle.h"
#include "common/syscalls.h"
#include "launch/aftercare.h"
#include "launch/overlay.h"
#include "runtime/sync.h"

#define MAX_HELD 4

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

/* In the child: nothing of launch's but the socket, the pidfd, stderr. */
static void settle(struct care *c)
{
	/* out of the way first: with launch's stdin or stdout closed, the
	 * socket or the pidfd may be 0 or 1 */
	int s = fcntl(c->sock, F_DUPFD_CLOEXEC, 5);
	int p = c->parent >= 0 ? fcntl(c->parent, F_DUPFD_CLOEXEC, 5) : -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	signal(SIGPIPE, SIG_IGN);
	if (s < 0 || (c->parent >= 0 && p < 0) || null < 0 || dup2(null, 0) < 0 ||
	    dup2(null, 1) < 0)
		_exit(1);
	/* to 3 and 4, whatever their numbers were (dup before dup2: one of
	 * them may be 3 or 4 already) */
	if (dup2(s, 3) < 0 || (p >= 0 && dup2(p, 4) < 0))
		_exit(1);
	c->sock = 3;
	c->parent = p >= 0 ? 4 : -1;
	hk_close_range(5, ~0U, 0);
	/* --log FILE's fd is closed: warnings go to stderr alone */
	hk_log_close();
	prctl(PR_SET_NAME, "husk-aftercare", 0, 0, 0);
	/* launch's arguments (-e SECRET=...) are not left for anyone to
	 * read in /proc/<pid>/cmdline (outside attack, tenth round, F2) */
	hk_proctitle_set("husk-launch after-care");
}

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
	pid_t pid = fork();
	if (pid != 0) {
		close(sv[1]);
		if (parent >= 0)
			close(parent);
		if (pid > 0)
			return sv[0];
		close(sv[0]);
		return -1;
	}
	struct care c = {.sock = sv[1], .parent = parent, .data = -1, .entry = -1};
	close(sv[0]);
	settle(&c);
	serve(&c);
	finish(&c);
	_exit(0);
}

void aftercare_end(int sock)
{
	if (sock < 0)
		return;
	sync_send(sock, HK_SYNC_END, NULL);
	close(sock);
}
