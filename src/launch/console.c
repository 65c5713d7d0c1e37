/* launch -dt: the terminal of a detached container, kept by a process of
 * launch's (as conmon keeps podman's), which `husk attach` connects to.
 *
 * Before the container is created, launch makes two sockets in DIR (0700,
 * or 0710 with --userns auto: only husk's user can connect; each socket is
 * 0600 too): console.sock (stream), where husk's create hands over the
 * terminal's master as it would to an engine's --console-socket, and
 * attach.sock (seqpacket), for attach. The holder, forked and detached as
 * the -d logger is, waits for the master (or for launch to give up: its
 * control pipe closes), removes console.sock, then copies the terminal's
 * output into output.log (capped and rotated as -d's, logger.h) and to
 * every attached client, and each client's messages to the terminal: 'd'
 * and bytes to type, 'w' and two 16-bit numbers (rows, columns) for a
 * resize. A client's first message is the holder's answer: 'k', or 'f'
 * when MAX_CLIENTS are attached already. A client that cannot keep up misses output (the log has it
 * all); the holder never blocks on one. It ends when the terminal does (the container's last
 * process closed it), removing attach.sock. */
#include "launch/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/syscalls.h"
#include "launch/logger.h"

#define MAX_CLIENTS LAUNCH_ATTACH_MAX
/* The holder's fds, moved here before everything else is closed. */
#define FD_CTL 3
#define FD_DIR 4
#define FD_LOG 5
#define FD_HAND 6
#define FD_ATTACH 7

/* A socket bound at dir/name (through /proc/self/fd: DIR's path may be
 * longer than a socket address holds), listening, 0600. */
static int listen_at(int dirfd, const char *name, int type, struct hk_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dirfd, name);
	unlinkat(dirfd, name, 0); /* a dead holder's */
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return hk_fail(err, errno, "socket for %s", name);
	mode_t old = umask(0177);
	int r = bind(s, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (r < 0 || listen(s, MAX_CLIENTS) < 0) {
		int e = errno;
		close(s);
		return hk_fail(err, e, "bind %s", name);
	}
	return s;
}

/* The master husk's create sends (as to a --console-socket): one
 * connection, one fd; anything else is dropped. */
static int take_master(void)
{
	int conn = accept4(FD_HAND, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return -1;
	struct timeval tv = {.tv_sec = 10};
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char name[64];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	int fd = -1;
	if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) > 0) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	close(conn);
	return fd;
}

/* Clients sit in fixed slots (-1: free) for the whole of a round of
 * poll, so that one dropped while the output is sent is never looked at
 * again through an index that now means another (outside attack: a client
 * leaving mid-output was dropped twice and the count wrapped). */
struct holder {
	struct launch_log log;
	int master;
	int clients[MAX_CLIENTS];
};

static void drop(struct holder *h, size_t i)
{
	if (h->clients[i] >= 0)
		close(h->clients[i]);
	h->clients[i] = -1;
}

/* A new client is told 'k' (attached) or 'f' (full: MAX_CLIENTS are) first,
 * so that it can say which. */
static void add_client(struct holder *h)
{
	int c = accept4(FD_ATTACH, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t slot = MAX_CLIENTS;

	if (c < 0)
		return;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		close(c);
		return;
	}
	for (size_t i = 0; i < MAX_CLIENTS && slot == MAX_CLIENTS; i++)
		if (h->clients[i] < 0)
			slot = i;
	if (send(c, slot == MAX_CLIENTS ? "f" : "k", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ||
	    slot == MAX_CLIENTS) {
		close(c);
		return;
	}
	h->clients[slot] = c;
}

/* One message of client i: 'd' bytes, or 'w' rows columns. */
static void from_client(struct holder *h, size_t i)
{
	char buf[4097];
	ssize_t n = recv(h->clients[i], buf, sizeof(buf), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop(h, i);
		return;
	}
	/* the master is non-blocking: what a program that reads no input
	 * leaves no room for is lost, the holder never stops */
	if (buf[0] == 'd' && n > 1 && write(h->master, buf + 1, (size_t)n - 1) < 0)
		return;
	if (buf[0] == 'w' && n == 5) {
		struct winsize ws = {.ws_row = (unsigned short)((unsigned char)buf[1] << 8 |
								(unsigned char)buf[2]),
				     .ws_col = (unsigned short)((unsigned char)buf[3] << 8 |
								(unsigned char)buf[4])};
		if (ws.ws_row && ws.ws_col)
			ioctl(h->master, TIOCSWINSZ, &ws);
	}
}

/* The terminal's output: to the log and to every client; false once the
 * terminal is gone. */
static bool from_master(struct holder *h)
{
	static char buf[1 << 15];
	ssize_t n = read(h->master, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0)
		return false;
	launch_log_keep(&h->log, buf, (size_t)n);
	for (size_t i = 0; i < MAX_CLIENTS; i++)
		if (h->clients[i] >= 0 &&
		    send(h->clients[i], buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			drop(h, i);
	return true;
}

static void __attribute__((noreturn)) serve(struct holder *h)
{
	struct pollfd p[2 + MAX_CLIENTS];

	for (;;) {
		p[0] = (struct pollfd){.fd = h->master, .events = POLLIN};
		p[1] = (struct pollfd){.fd = FD_ATTACH, .events = POLLIN};
		/* a free slot's fd is -1: poll skips it */
		for (size_t i = 0; i < MAX_CLIENTS; i++)
			p[2 + i] = (struct pollfd){.fd = h->clients[i], .events = POLLIN};
		if (poll(p, 2 + MAX_CLIENTS, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && !from_master(h))
			break;
		for (size_t i = 0; i < MAX_CLIENTS; i++)
			if (p[2 + i].revents && h->clients[i] == p[2 + i].fd && h->clients[i] >= 0)
				from_client(h, i);
		if (p[1].revents)
			add_client(h);
	}
	unlinkat(FD_DIR, LAUNCH_ATTACH_SOCK, 0);
	_exit(0);
}

static void __attribute__((noreturn)) holder_main(const struct launch_log_opts *lo)
{
	struct pollfd p[2] = {{.fd = FD_CTL, .events = POLLIN}, {.fd = FD_HAND, .events = POLLIN}};
	struct holder h = {.log = {.dir = FD_DIR,
				   .fd = FD_LOG,
				   .max_size = (uint64_t)lo->max_size,
				   .max_files = lo->max_files},
			   .master = -1};

	for (size_t i = 0; i < MAX_CLIENTS; i++)
		h.clients[i] = -1;

	while (h.master < 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & POLLIN)
			h.master = take_master();
		else if (p[0].revents)
			break; /* launch gave up before the container had its terminal */
	}
	unlinkat(FD_DIR, LAUNCH_CONSOLE_SOCK, 0);
	close(FD_HAND);
	close(FD_CTL);
	if (h.master < 0) {
		unlinkat(FD_DIR, LAUNCH_ATTACH_SOCK, 0);
		_exit(1);
	}
	int fl = fcntl(h.master, F_GETFL);
	if (fl >= 0)
		fcntl(h.master, F_SETFL, fl | O_NONBLOCK);
	struct winsize ws;
	if (ioctl(h.master, TIOCGWINSZ, &ws) == 0 && (ws.ws_row == 0 || ws.ws_col == 0)) {
		ws = (struct winsize){.ws_row = 24, .ws_col = 80};
		ioctl(h.master, TIOCSWINSZ, &ws);
	}
	serve(&h);
}

int launch_console_start(int dirfd, const struct launch_log_opts *lo, int host_mntns, int *ctl,
			 struct hk_err *err)
{
	if (lo->max_size <= 0 || lo->max_files < 1)
		return hk_fail(err, 0, "--log-opt: max-size and max-file must be more than 0");
	_cleanup_close_ int log = launch_log_create(dirfd);
	if (log < 0)
		return hk_fail(err, errno, "create output.log");
	_cleanup_close_ int hand = listen_at(dirfd, LAUNCH_CONSOLE_SOCK, SOCK_STREAM, err);
	if (hand < 0)
		return -1;
	_cleanup_close_ int attach = listen_at(dirfd, LAUNCH_ATTACH_SOCK, SOCK_SEQPACKET, err);
	if (attach < 0)
		return -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "pipe for the console holder");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return hk_fail(err, errno, "fork the console holder");
	}
	if (pid == 0) {
		/* detached, as the -d logger (logger.c) */
		setsid();
		if (fork() != 0)
			_exit(0);
		if (host_mntns >= 0 && setns(host_mntns, CLONE_NEWNS) < 0)
			_exit(1);
		int fds[5] = {p[0], dirfd, log, hand, attach}; /* FD_CTL .. FD_ATTACH */
		launch_become_daemon(fds, 5, "husk-console");
		holder_main(lo);
	}
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	*ctl = p[1];
	return 0;
}
