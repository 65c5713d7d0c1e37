/* Waiting for a container's process in the foreground (run, exec): every
 * signal husk gets goes on to the process, and with a terminal husk copies
 * between its own stdio and the pty, in raw mode, following resizes. */
#include "runtime/wait.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/syscalls.h"
#include "linux/terminal.h"

struct proxy {
	int pty;         /* -1: no terminal */
	bool in_is_tty;  /* our stdin is a terminal: raw mode, resizes */
	bool raw;        /* raw mode is on and must be undone */
	bool stdin_open; /* still copying stdin to the pty */
	struct termios saved;
};

enum { W_PID, W_SIG, W_PTY, W_IN, W_COUNT };

/* Copy what is there from `from` to `to`; returns 0 at EOF or when the pty
 * is gone (EIO once the slave's last holder exits), 1 to go on. */
static int pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return 0;
	hk_write_all(to, buf, (size_t)n);
	return 1;
}

static void proxy_start(struct proxy *px)
{
	struct hk_err ignored;

	px->stdin_open = px->pty >= 0;
	if (px->pty < 0)
		return;
	fcntl(px->pty, F_SETFL, fcntl(px->pty, F_GETFL) | O_NONBLOCK);
	px->in_is_tty = isatty(STDIN_FILENO);
	if (px->in_is_tty) {
		terminal_copy_size(STDIN_FILENO, px->pty);
		px->raw = terminal_raw(STDIN_FILENO, &px->saved, &ignored) == 0;
	}
}

static void proxy_stop(struct proxy *px)
{
	if (px->pty >= 0)
		while (pump(px->pty, STDOUT_FILENO) > 0)
			; /* what the process wrote last */
	if (px->raw)
		terminal_restore(STDIN_FILENO, &px->saved);
	px->raw = false;
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

static void on_stdin(struct proxy *px)
{
	if (pump(STDIN_FILENO, px->pty) > 0)
		return;
	/* End of a non-terminal stdin: say EOF to the pty's reader (^D in
	 * canonical mode), once. */
	px->stdin_open = false;
	if (!px->in_is_tty) {
		struct termios t;
		char eof = tcgetattr(px->pty, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
		hk_write_all(px->pty, &eof, 1);
	}
}

static int loop(int pidfd, int sfd, struct proxy *px, struct hk_err *err)
{
	struct pollfd p[W_COUNT] = {
		[W_PID] = {.fd = pidfd, .events = POLLIN},
		[W_SIG] = {.fd = sfd, .events = POLLIN},
		[W_PTY] = {.fd = px->pty, .events = POLLIN},
		[W_IN] = {.fd = px->stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
	};

	for (;;) {
		if (poll(p, W_COUNT, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hk_fail(err, errno, "poll");
		}
		if (p[W_SIG].revents & POLLIN)
			on_signal(pidfd, sfd, px);
		if (p[W_IN].revents & (POLLIN | POLLHUP)) {
			on_stdin(px);
			if (!px->stdin_open)
				p[W_IN].fd = -1;
		}
		if ((p[W_PTY].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    pump(px->pty, STDOUT_FILENO) == 0)
			p[W_PTY].fd = -1;
		if (p[W_PID].revents & POLLIN)
			return 0;
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
