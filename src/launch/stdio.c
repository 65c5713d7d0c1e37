/* launch without -t: the container's stdin, stdout and stderr are never
 * the operator's terminal. Handed on as they were, a terminal open
 * read-write let the container read what the operator typed, change the
 * terminal's modes and, where dev.tty.legacy_tiocsti is 1, push input
 * into the operator's shell (TIOCSTI). As docker run without -t, the
 * container gets pipes: each of launch's fds 0 (with -i), 1 and 2 that is a
 * terminal is replaced by a pipe before the container is made, and a small
 * process of launch's ("husk-stdio") copies the container's output to the
 * terminal and, with -i, the terminal's input to the container. fds 1 and
 * 2 on the same terminal share one pipe, so their order stays. Once the
 * program has exited, the copier writes out what is still in the pipes and
 * goes; launch waits for it. With -d nothing is left to copy to: a
 * terminal on stdin becomes /dev/null (stdout and stderr go to the log). */
#include "launch/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"
#include "common/syscalls.h"

struct copier {
	int in;         /* the container's stdin (write end), -1 */
	int out[2];     /* the container's stdout and stderr (read ends), -1 */
	int ctl;        /* closed by launch when the program is done */
	bool broken[2]; /* the terminal cannot be written: output drained unkept */
	char ibuf[4096];
	size_t ilen, ioff;
};

static bool same_terminal(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && S_ISCHR(sa.st_mode) &&
	       S_ISCHR(sb.st_mode) && sa.st_rdev == sb.st_rdev;
}

static void close_in(struct copier *c)
{
	close(c->in);
	c->in = -1;
}

/* The terminal's input, to the container (never blocking on a container
 * that does not read: what was read waits in ibuf). */
static void input(struct copier *c, short revents, bool from_tty)
{
	if (from_tty) {
		ssize_t n = read(0, c->ibuf, sizeof(c->ibuf));
		if (n > 0) {
			c->ilen = (size_t)n;
			c->ioff = 0;
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close_in(c); /* ^D, or the terminal went */
		}
		return;
	}
	if (revents & (POLLERR | POLLHUP)) {
		close_in(c);
		return;
	}
	ssize_t w = write(c->in, c->ibuf + c->ioff, c->ilen - c->ioff);
	if (w > 0 && (c->ioff += (size_t)w) == c->ilen)
		c->ilen = c->ioff = 0;
	else if (w < 0 && errno != EINTR && errno != EAGAIN)
		close_in(c);
}

static void output(struct copier *c, int k)
{
	static char buf[1 << 16];
	ssize_t n = read(c->out[k], buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->out[k]);
		c->out[k] = -1;
		return;
	}
	if (!c->broken[k] && hk_write_all(1 + k, buf, (size_t)n) < 0)
		c->broken[k] = true;
}

/* Until launch is done (ctl closed); then what is in the pipes, without
 * waiting for writers that outlive the program (its own children, with a
 * pid namespace shared). */
static void __attribute__((noreturn)) copy(struct copier *c)
{
	bool done = false;

	for (;;) {
		struct pollfd pf[4];
		int n = 0, in_at = -1, out_at[2] = {-1, -1}, ctl_at = -1;
		if (c->in >= 0 && !done) {
			in_at = n;
			pf[n++] = c->ilen ? (struct pollfd){c->in, POLLOUT, 0}
					  : (struct pollfd){0, POLLIN, 0};
		}
		for (int k = 0; k < 2; k++)
			if (c->out[k] >= 0) {
				out_at[k] = n;
				pf[n++] = (struct pollfd){c->out[k], POLLIN, 0};
			}
		if (!done) {
			ctl_at = n;
			pf[n++] = (struct pollfd){c->ctl, POLLIN, 0};
		}
		if (done && out_at[0] < 0 && out_at[1] < 0)
			_exit(0);
		int r = poll(pf, (nfds_t)n, done ? 0 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(0);
		for (int k = 0; k < 2; k++)
			if (out_at[k] >= 0 && pf[out_at[k]].revents)
				output(c, k);
		if (in_at >= 0 && pf[in_at].revents)
			input(c, pf[in_at].revents, c->ilen == 0);
		if (ctl_at >= 0 && pf[ctl_at].revents)
			done = true;
	}
}

/* In the copier: the terminals are its fds 0-2 (forked before launch put
 * the pipes there); only they and its pipe ends stay open. */
static void __attribute__((noreturn)) become_copier(struct copier *c)
{
	int keep[4] = {c->in, c->out[0], c->out[1], c->ctl};
	int last = 2;

	/* everything between the kept fds, in order */
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (int i = 0; i < 4; i++) {
		if (keep[i] <= last)
			continue;
		if (keep[i] > last + 1)
			hk_close_range((unsigned)last + 1, (unsigned)keep[i] - 1, 0);
		last = keep[i];
	}
	hk_close_range((unsigned)last + 1, ~0U, 0);
	signal(SIGPIPE, SIG_IGN);
	/* the operator's ^C and ^\ are for the program (launch forwards
	 * them); the copier goes when it does */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	prctl(PR_SET_NAME, "husk-stdio", 0, 0, 0);
	copy(c);
}

static int stdin_null(struct hk_err *err)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || dup2(null, 0) < 0)
		return hk_fail(err, errno, "stdin: /dev/null");
	close(null);
	return 0;
}

/* Pipes: [k][0] read end, [k][1] write end; -1 where fd k stays. */
static int make_pipes(const bool relay[3], bool shared, int p[3][2], int ctl[2], struct hk_err *err)
{
	for (int k = 0; k < 3; k++) {
		p[k][0] = p[k][1] = -1;
		if (relay[k] && !(k == 2 && shared) && pipe2(p[k], O_CLOEXEC) < 0)
			return hk_fail(err, errno, "pipe for fd %d", k);
	}
	if (pipe2(ctl, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "pipe");
	/* the copier never blocks on a container that does not read */
	if (p[0][1] >= 0 && fcntl(p[0][1], F_SETFL, O_NONBLOCK) < 0)
		return hk_fail(err, errno, "stdin pipe");
	return 0;
}

static void close_pipes(int p[3][2], int ctl[2])
{
	for (int k = 0; k < 3; k++)
		for (int e = 0; e < 2; e++)
			if (p[k][e] >= 0)
				close(p[k][e]);
	for (int e = 0; e < 2; e++)
		if (ctl[e] >= 0)
			close(ctl[e]);
}

/* In launch: fd k becomes the container's end of its pipe. */
static int stand_in(struct launch_stdio *s, int k, int end, struct hk_err *err)
{
	s->saved[k] = fcntl(k, F_DUPFD_CLOEXEC, 3);
	if (s->saved[k] < 0 || dup2(end, k) < 0)
		return hk_fail(err, errno, "fd %d: a pipe in place of the terminal", k);
	return 0;
}

int launch_stdio_start(const struct launch_opts *o, int host_mntns, struct launch_stdio *s,
		       struct hk_err *err)
{
	*s = (struct launch_stdio){.saved = {-1, -1, -1}, .ctl = -1, .copier = -1};
	if (o->tty)
		return 0;
	if (o->detach)
		return isatty(0) ? stdin_null(err) : 0;
	bool relay[3] = {o->interactive && isatty(0), isatty(1), isatty(2)};
	if (!relay[0] && !relay[1] && !relay[2])
		return 0;
	bool shared = relay[1] && relay[2] && same_terminal(1, 2);
	int p[3][2], ctl[2] = {-1, -1};
	if (make_pipes(relay, shared, p, ctl, err) < 0) {
		close_pipes(p, ctl);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close_pipes(p, ctl);
		return hk_fail(err, errno, "fork the terminal's copier");
	}
	if (pid == 0) {
		struct copier c = {.in = p[0][1], .out = {p[1][0], p[2][0]}, .ctl = ctl[0]};
		/* out of launch's mount namespace, which must die with the
		 * container */
		if (host_mntns >= 0 && setns(host_mntns, CLONE_NEWNS) < 0)
			_exit(1);
		become_copier(&c);
	}
	s->copier = pid;
	s->ctl = ctl[1];
	ctl[1] = -1;
	int r = 0;
	for (int k = 0; k < 3 && r == 0; k++) {
		int end = k == 0 ? p[0][0] : p[k][1];
		if (k == 2 && shared)
			end = p[1][1];
		if (relay[k])
			r = stand_in(s, k, end, err);
	}
	close_pipes(p, ctl);
	if (r < 0)
		launch_stdio_finish(s);
	return r;
}

void launch_stdio_finish(struct launch_stdio *s)
{
	fflush(stdout);
	fflush(stderr);
	for (int k = 0; k < 3; k++) {
		if (s->saved[k] < 0)
			continue;
		dup2(s->saved[k], k);
		close(s->saved[k]);
		s->saved[k] = -1;
	}
	if (s->ctl >= 0)
		close(s->ctl);
	s->ctl = -1;
	if (s->copier > 0)
		while (waitpid(s->copier, NULL, 0) < 0 && errno == EINTR)
			;
	s->copier = -1;
}
