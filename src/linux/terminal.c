#include "linux/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "linux/mount.h"
#include "spec/spec.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* The master must be a real pty multiplexer (char 5:2): /dev/ptmx is a
 * link the rootfs could have pointed anywhere before our /dev went in. */
static int open_ptmx(struct hk_err *err)
{
	struct stat st;
	int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return hk_fail(err, errno,
			       "process.terminal: open /dev/ptmx (is devpts mounted "
			       "on /dev/pts?)");
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
	    minor(st.st_rdev) != 2) {
		close(fd);
		return hk_fail(err, 0, "process.terminal: /dev/ptmx is not the pty multiplexer");
	}
	return fd;
}

static int become_slave(int slave, struct hk_err *err)
{
	if (setsid() < 0)
		return hk_fail(err, errno, "process.terminal: setsid");
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			return hk_fail(err, errno, "process.terminal: dup2 onto fd %d", fd);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		return hk_fail(err, errno, "process.terminal: make it the controlling terminal");
	return 0;
}

int terminal_setup(const struct hk_process *p, struct hk_err *err)
{
	int unlock = 0;
	int master = open_ptmx(err);

	if (master < 0)
		return -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
		close(master);
		return hk_fail(err, errno, "process.terminal: unlock the pty");
	}
	/* TIOCGPTPEER opens the slave through the master, never by a path. */
	_cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		close(master);
		return hk_fail(err, errno, "process.terminal: open the pty's slave");
	}
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = p->console_height, .ws_col = p->console_width};
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0) {
			close(master);
			return hk_fail(err, errno, "process.consoleSize");
		}
	}
	/* The user owns its terminal; its group stays devpts's gid= (tty), as
	 * with runc. */
	if (fchown(slave, p->uid, (gid_t)-1) < 0 && errno != EPERM && errno != EINVAL) {
		close(master);
		return hk_fail(err, errno, "process.terminal: chown the pty");
	}
	if (become_slave(slave, err) < 0) {
		close(master);
		return -1;
	}
	return master;
}

/* The mount point for /dev/console: an empty file, made when missing. A
 * symlink there (a rootfs's /dev without a tmpfs on it) is replaced, never
 * followed. Returns an O_PATH fd, or -1 with errno. */
static int console_mountpoint(int dev)
{
	struct stat st;

	for (int tries = 0; tries < 2; tries++) {
		if (mknodat(dev, "console", S_IFREG | 0600, 0) < 0 && errno != EEXIST)
			return -1;
		int fd = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
		if (fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode))
			return fd;
		close(fd);
		if (unlinkat(dev, "console", S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

int terminal_mount_console(int slave, struct hk_err *err)
{
	struct hk_mount_opts none = {0};
	_cleanup_close_ int dev = open("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dev < 0) {
		hk_debug("no /dev in the container: no /dev/console");
		return 0;
	}
	_cleanup_close_ int dest = console_mountpoint(dev);
	if (dest < 0 && errno == EROFS) {
		hk_debug("read-only /dev: no /dev/console");
		return 0;
	}
	if (dest < 0)
		return hk_fail(err, errno, "process.terminal: make /dev/console");
	_cleanup_close_ int mnt = mount_bind_fd(slave, "the pty", dest, &none, err);
	if (mnt < 0)
		return hk_err_prefix(err, "process.terminal: /dev/console");
	return 0;
}

/* The master is the container's terminal: whoever holds it types into
 * it. It goes only to a listener of root's or husk's own user, however
 * the socket's path was reached (a link planted in a directory others can
 * write, a socket put in its place). SO_PEERCRED: the listener's
 * credentials when it called listen(2). */
static int check_listener(int sock, const char *socket_path, struct hk_err *err)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return hk_fail(err, errno, "--console-socket %s: SO_PEERCRED", socket_path);
	if (cred.uid != 0 && cred.uid != geteuid())
		return hk_fail(err, 0,
			       "--console-socket %s: its listener (pid %d) runs as uid %u, neither "
			       "root nor husk's uid %u: refused",
			       socket_path, (int)cred.pid, (unsigned)cred.uid, (unsigned)geteuid());
	return 0;
}

/* How long a console socket's peer may take to accept, and to take the
 * message: engines answer at once; a peer that never does must not keep
 * husk (or a lock it holds) forever. */
#define CONSOLE_TIMEOUT_MS 10000

int terminal_connect(const char *socket_path, struct hk_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CONSOLE_TIMEOUT_MS / 1000};

	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return hk_fail(err, ENAMETOOLONG, "--console-socket %s", socket_path);
	strcpy(addr.sun_path, socket_path);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return hk_fail(err, errno, "--console-socket: socket");
	/* A unix socket's connect does not complete in the background: with a
	 * full backlog it says EAGAIN until the peer accepts. */
	for (int waited = 0;; waited += 10) {
		if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			break;
		if (errno != EAGAIN || waited >= CONSOLE_TIMEOUT_MS) {
			int e = errno;
			close(sock);
			if (e == EAGAIN)
				return hk_fail(err, 0,
					       "--console-socket %s: the peer accepted no "
					       "connection in %d s",
					       socket_path, CONSOLE_TIMEOUT_MS / 1000);
			return hk_fail(err, e, "--console-socket: connect to %s", socket_path);
		}
		usleep(10000);
	}
	if (check_listener(sock, socket_path, err) < 0) {
		close(sock);
		return -1;
	}
	int flags = fcntl(sock, F_GETFL);
	if (flags < 0 || fcntl(sock, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		int e = errno;
		close(sock);
		return hk_fail(err, e, "--console-socket %s: socket options", socket_path);
	}
	return sock;
}

int terminal_send_fd(int sock, const char *socket_path, int master, struct hk_err *err)
{
	char name[] = "/dev/ptmx";
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};

	memset(&ctl, 0, sizeof(ctl));
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return hk_fail(err, errno, "--console-socket: send the terminal to %s",
			       socket_path);
	return 0;
}

int terminal_raw(int fd, struct termios *saved, struct hk_err *err)
{
	struct termios raw;

	if (tcgetattr(fd, saved) < 0)
		return hk_fail(err, errno, "tcgetattr");
	raw = *saved;
	cfmakeraw(&raw);
	/* Keep output post-processing off too, as cfmakeraw does; the
	 * container's pty does its own. */
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return hk_fail(err, errno, "tcsetattr (raw mode)");
	return 0;
}

void terminal_restore(int fd, const struct termios *saved)
{
	tcsetattr(fd, TCSANOW, saved);
}

int terminal_copy_size(int from, int to)
{
	struct winsize ws;

	if (ioctl(from, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
		return -1;
	return ioctl(to, TIOCSWINSZ, &ws);
}
