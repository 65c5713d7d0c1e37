/* Waiting for a container's process in the foreground (run, exec): every
 * signal husk gets goes on to the process, and with a terminal husk copies
 * between its own stdio and the pty, in raw mode, following resizes.
 *
 * The copying never blocks: each direction has a buffer, is read only when
 * its buffer is empty and written only when the other side can take it, so
 * a reader that stops reading (or a program that floods its terminal) can
 * never keep husk from forwarding signals or from noticing the process's
 * end. Once the process is gone, what it left in the pty is delivered as
 * long as the reader keeps taking it, and given up after a second without
 * progress. */
#include "runtime/wait.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"
#include "linux/terminal.h"

#define DRAIN_IDLE_MS 1000

/* One direction of the copy: bytes read from `from` wait in buf until `to`
 * takes them. */
struct chan {
	int from, to; /* -1: that end is closed */
	bool to_is_sock;
	char buf[16384];
	size_t off, len;
};

struct proxy {
	int pty;        /* -1: no terminal */
	bool in_is_tty; /* our stdin is a terminal: raw mode, resizes */
	bool raw;       /* raw mode is on and must be undone */
	int out_fd;     /* our own non-blocking description of stdout, or -1 */
	struct chan in, out;
	struct termios saved;
};

enum { W_PID, W_SIG, W_IN_READ, W_IN_WRITE, W_OUT_READ, W_OUT_WRITE, W_COUNT };

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A description of stdout of our own with O_NONBLOCK, so that the caller's
 * (shared) one keeps its flags: pipes and terminals reopened through
 * /proc/self/fd/1. Sockets are written with MSG_DONTWAIT, and regular
 * files never block. -1: use fd 1 as it is. */
static int nonblocking_stdout(bool *is_sock)
{
	struct stat st;

	*is_sock = false;
	if (fstat(STDOUT_FILENO, &st) < 0)
		return -1;
	if (S_ISSOCK(st.st_mode)) {
		*is_sock = true;
		return -1;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return -1;
	return open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

/* Read into an empty buffer. Returns false at EOF or on an error (EIO once
 * the pty's last slave holder is gone). */
static bool chan_fill(struct chan *c)
{
	ssize_t n = read(c->from, c->buf, sizeof(c->buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	c->off = 0;
	c->len = (size_t)n;
	return true;
}

/* Write what the buffer holds, as much as `to` takes now. Returns false
 * when `to` is gone. */
static bool chan_flush(struct chan *c)
{
	while (c->off < c->len) {
		size_t left = c->len - c->off;
		ssize_t w = c->to_is_sock ? send(c->to, c->buf + c->off, left,
						 MSG_DONTWAIT | MSG_NOSIGNAL)
					  : write(c->to, c->buf + c->off, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return true;
		if (w <= 0)
			return false;
		c->off += (size_t)w;
	}
	c->off = c->len = 0;
	return true;
}

static bool chan_pending(const struct chan *c)
{
	return c->off < c->len;
}

static void proxy_start(struct proxy *px)
{
	struct hk_err ignored;

	px->out_fd = -1;
	px->in.from = px->in.to = px->out.from = px->out.to = -1;
	if (px->pty < 0)
		return;
	fcntl(px->pty, F_SETFL, fcntl(px->pty, F_GETFL) | O_NONBLOCK);
	px->out_fd = nonblocking_stdout(&px->out.to_is_sock);
	px->out = (struct chan){.from = px->pty,
				.to = px->out_fd >= 0 ? px->out_fd : STDOUT_FILENO,
				.to_is_sock = px->out.to_is_sock};
	px->in = (struct chan){.from = STDIN_FILENO, .to = px->pty};
	px->in_is_tty = isatty(STDIN_FILENO);
	if (px->in_is_tty) {
		terminal_copy_size(STDIN_FILENO, px->pty);
		px->raw = terminal_raw(STDIN_FILENO, &px->saved, &ignored) == 0;
	}
}

static void proxy_stop(struct proxy *px)
{
	if (px->raw)
		terminal_restore(STDIN_FILENO, &px->saved);
	px->raw = false;
	if (px->out_fd >= 0)
		close(px->out_fd);
	px->out_fd = -1;
}

static void on_signal(int pidfd, int sfd, const struct proxy *px)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH && px->pty >= 0 && px->in_is_tty)
		terminal_copy_size(STDIN_FILENO, px->pty);
	else
		hk_pidfd_send_signal(pidfd, (int)si.ssi_signo, NULL, 0);
}

/* End of a non-terminal stdin: say EOF to the pty's reader (^D in
 * canonical mode), once, through the buffer like any other input. */
static void on_stdin_eof(struct proxy *px)
{
	px->in.from = -1;
	if (px->in_is_tty)
		return;
	struct termios t;
	px->in.buf[0] = tcgetattr(px->pty, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
	px->in.off = 0;
	px->in.len = 1;
}

/* What to wait for: read a direction only when its buffer is empty, write
 * it only when not. */
static void arm(struct pollfd *p, const struct proxy *px, bool exited)
{
	bool in_busy = chan_pending(&px->in), out_busy = chan_pending(&px->out);

	p[W_PID].fd = exited ? -1 : p[W_PID].fd;
	p[W_IN_READ].fd = px->in.from >= 0 && px->in.to >= 0 && !in_busy ? px->in.from : -1;
	p[W_IN_WRITE].fd = px->in.to >= 0 && in_busy ? px->in.to : -1;
	/* With stdout gone the pty is still read, and what comes is dropped:
	 * the program must not block on a terminal nobody will read. */
	p[W_OUT_READ].fd = px->out.from >= 0 && !out_busy ? px->out.from : -1;
	p[W_OUT_WRITE].fd = px->out.to >= 0 && out_busy ? px->out.to : -1;
}

/* One round of copying after poll; returns true when a byte moved. */
static bool copy_round(const struct pollfd *p, struct proxy *px)
{
	size_t in_before = px->in.len - px->in.off, out_before = px->out.len - px->out.off;
	short hup = POLLIN | POLLHUP | POLLERR;

	if (p[W_IN_READ].fd >= 0 && (p[W_IN_READ].revents & hup) && !chan_fill(&px->in))
		on_stdin_eof(px);
	if (p[W_OUT_READ].fd >= 0 && (p[W_OUT_READ].revents & hup) && !chan_fill(&px->out))
		px->out.from = -1;
	if (px->out.to < 0)
		px->out.off = px->out.len = 0;
	if (chan_pending(&px->in) && !chan_flush(&px->in))
		px->in.to = -1;
	if (chan_pending(&px->out) && !chan_flush(&px->out))
		px->out.to = -1;
	return px->in.len - px->in.off != in_before || px->out.len - px->out.off != out_before;
}

/* After the process is gone: is there output left to deliver? */
static bool draining(const struct proxy *px)
{
	return px->out.to >= 0 && (px->out.from >= 0 || chan_pending(&px->out));
}

static int loop(int pidfd, int sfd, struct proxy *px, struct hk_err *err)
{
	struct pollfd p[W_COUNT] = {
		[W_PID] = {.fd = pidfd, .events = POLLIN}, [W_SIG] = {.fd = sfd, .events = POLLIN},
		[W_IN_READ] = {.events = POLLIN},          [W_IN_WRITE] = {.events = POLLOUT},
		[W_OUT_READ] = {.events = POLLIN},         [W_OUT_WRITE] = {.events = POLLOUT},
	};
	bool exited = false;
	long idle_since = 0;

	for (;;) {
		arm(p, px, exited);
		if (exited && !draining(px))
			return 0;
		int n = poll(p, W_COUNT, exited ? 100 : -1);
		if (n < 0 && errno != EINTR)
			return hk_fail(err, errno, "poll");
		if (n < 0)
			continue;
		if (p[W_SIG].revents & POLLIN)
			on_signal(pidfd, sfd, px);
		bool moved = copy_round(p, px);
		if (!exited && p[W_PID].fd >= 0 && (p[W_PID].revents & POLLIN)) {
			exited = true;
			idle_since = now_ms();
		}
		if (exited && moved)
			idle_since = now_ms();
		if (exited && now_ms() - idle_since > DRAIN_IDLE_MS)
			return 0; /* nobody takes the rest: give it up */
	}
}

int wait_forwarding(int pidfd, int pty, int *status, struct hk_err *err)
{
	struct proxy px = {.pty = pty};
	sigset_t all, old;
	siginfo_t info;
	int r = -1;

	sigfillset(&all);
	sigdelset(&all, SIGCHLD);
	sigprocmask(SIG_BLOCK, &all, &old);
	_cleanup_close_ int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0) {
		hk_fail(err, errno, "signalfd");
		goto out;
	}
	proxy_start(&px);
	r = loop(pidfd, sfd, &px, err);
	proxy_stop(&px);
	memset(&info, 0, sizeof(info));
	if (r == 0 && waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0)
		r = hk_fail(err, errno, "wait for the container process");
	if (r == 0)
		*status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
