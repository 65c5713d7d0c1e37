/* husk-launch's after-care (launch/aftercare.h): forked first thing, it
 * waits for what launch hands it and does it while launch goes on to
 * report the program's status.
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
 * It does its work once launch is done (AFTERCARE_END, or launch gone), so
 * that launch's own last removals are not queued behind it on the disk.
 * The after-care keeps launch's stderr (and nothing else of its), for a
 * warning when a removal fails: whoever reads launch's stderr to its end
 * waits for the removal too. What it cannot remove stays in DATA/.trash,
 * which the next cleanup empties. It ends on AFTERCARE_END, at the end of
 * the socket, or when launch is gone (a pidfd: a child of launch's may
 * still hold the socket). */
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
	int data;       /* AFTERCARE_TRASH's DATA, -1 */
	char trash[64]; /* and the name in it */
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
	struct overlay_trash t = {.parent = c->data};
	struct hk_err err = {0};

	/* the namespace first: the overlay on the layer is mounted there */
	release(c);
	if (c->data < 0)
		return;
	snprintf(t.name, sizeof(t.name), "%s", c->trash);
	c->data = -1;
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
	if (in.fd >= 0)
		close(in.fd);
	return in.type == HK_SYNC_END;
}

static bool pending(int sock)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void serve(struct care *c)
{
	struct pollfd p[2] = {{.fd = c->sock, .events = POLLIN},
			      {.fd = c->parent, .events = POLLIN}};

	for (;;) {
		if (poll(p, c->parent >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents && receive(c))
			return;
		if (c->parent >= 0 && p[1].revents && !(p[0].revents & POLLIN)) {
			/* launch is gone: what it sent, and no more */
			while (pending(c->sock) && receive(c) == 0)
				;
			return;
		}
	}
}

/* In the child: nothing of launch's but the socket, the pidfd, stderr. */
static void settle(struct care *c)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	signal(SIGPIPE, SIG_IGN);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		_exit(1);
	/* to 3 and 4, whatever their numbers were (dup before dup2: one of
	 * them may be 3 or 4 already) */
	int s = fcntl(c->sock, F_DUPFD_CLOEXEC, 5);
	int p = c->parent >= 0 ? fcntl(c->parent, F_DUPFD_CLOEXEC, 5) : -1;
	if (s < 0 || dup2(s, 3) < 0 || (p >= 0 && dup2(p, 4) < 0))
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

int aftercare_start(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	int parent = hk_pidfd_open(getpid(), 0);
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
	struct care c = {.sock = sv[1], .parent = parent, .data = -1};
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
