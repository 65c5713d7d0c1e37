/* launch -d: the program's output, kept in DIR/output.log with a size cap.
 *
 * The container writes into a pipe; a small process of launch's (forked,
 * detached, it lives as long as someone holds the pipe's other end: the
 * container) copies it to output.log. When output.log is full (max_size,
 * filled up to the last whole line that fits), it becomes output.log.1 (.1
 * becomes .2, ..., the oldest of max_files goes), as docker's json-file
 * driver does with max-size and max-file; max_files 1 empties the file
 * instead. So a
 * container's log takes at most max_size * max_files bytes of the host's
 * disk, whatever the program prints.
 *
 * Every output.log is created O_EXCL | O_NOFOLLOW in DIR, which only root
 * may write (0700, or 0710 for the container root's group with --userns
 * auto): no link planted there is followed, no file appended to. */
#include "launch/logger.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/proctitle.h"
#include "common/syscalls.h"

#define LOG_NAME "output.log"
/* The logger's fds, moved here before everything else is closed. */
#define FD_IN 3
#define FD_DIR 4
#define FD_LOG 5

int launch_log_create(int dirfd)
{
	return openat(dirfd, LOG_NAME,
		      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0600);
}

static void rotate(struct launch_log *l)
{
	char from[32], to[32];

	if (l->max_files <= 1) {
		l->broken = ftruncate(l->fd, 0) < 0;
		l->size = 0;
		return;
	}
	for (int i = l->max_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", LOG_NAME);
		else
			snprintf(from, sizeof(from), "%s.%d", LOG_NAME, i - 1);
		snprintf(to, sizeof(to), "%s.%d", LOG_NAME, i);
		/* renameat replaces what is at `to` (a link too: never followed) */
		if (renameat(l->dir, from, l->dir, to) < 0 && (errno != ENOENT || i == 1)) {
			l->broken = true;
			return;
		}
	}
	int fd = launch_log_create(l->dir);
	if (fd < 0) {
		l->broken = true; /* DIR is gone: the container is being deleted */
		return;
	}
	close(l->fd);
	l->fd = fd;
	l->size = 0;
}

/* How much of buf goes in the current file: all that fits, cut after its
 * last newline so that lines stay whole; a line longer than a whole file
 * is cut where the file is full. */
static size_t fits(const struct launch_log *l, const char *buf, size_t n)
{
	size_t room = (size_t)(l->max_size - l->size);

	if (n <= room)
		return n;
	const char *nl = memrchr(buf, '\n', room);
	if (nl)
		return (size_t)(nl - buf) + 1;
	return l->size == 0 ? room : 0;
}

void launch_log_keep(struct launch_log *l, const char *buf, size_t n)
{
	while (n > 0 && !l->broken) {
		size_t take = fits(l, buf, n);
		if (take == 0 || l->size == l->max_size) {
			rotate(l);
			continue;
		}
		if (hk_write_all(l->fd, buf, take) < 0) {
			l->broken = true;
			return;
		}
		l->size += take;
		buf += take;
		n -= take;
	}
}

static void __attribute__((noreturn)) run(struct launch_log *l)
{
	static char buf[1 << 16];

	for (;;) {
		ssize_t n = read(FD_IN, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		launch_log_keep(l, buf, (size_t)n);
	}
	_exit(0);
}

void launch_become_daemon(const int *fds, int n, const char *name)
{
	int high[8];

	/* Out of the way first: any of them may be 3, 4, ... already. */
	if (n > 8)
		_exit(1);
	for (int i = 0; i < n; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD, 64)) < 0)
			_exit(1);
	for (int i = 0; i < n; i++)
		if (dup2(high[i], 3 + i) < 0)
			_exit(1);
	hk_close_range(3 + (unsigned)n, ~0U, 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	if (null >= 3 + n)
		close(null);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	hk_proctitle_set(name);
}

int launch_log_start(const char *dir, const struct launch_log_opts *lo, int host_mntns, int *out,
		     struct hk_err *err)
{
	if (lo->max_size <= 0 || lo->max_files < 1)
		return hk_fail(err, 0, "--log-opt: max-size and max-file must be more than 0");
	_cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return hk_fail(err, errno, "open %s", dir);
	_cleanup_close_ int log = launch_log_create(dirfd);
	if (log < 0)
		return hk_fail(err, errno, "create %s/%s", dir, LOG_NAME);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "pipe for %s/%s", dir, LOG_NAME);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return hk_fail(err, errno, "fork the logger of %s", dir);
	}
	if (pid == 0) {
		/* Detached (its own session, reparented to init at once), so
		 * that it outlives launch -d. */
		setsid();
		if (fork() != 0)
			_exit(0);
		/* out of launch's mount namespace, which must die with the
		 * container */
		if (host_mntns >= 0 && setns(host_mntns, CLONE_NEWNS) < 0)
			_exit(1);
		int fds[3] = {p[0], dirfd, log}; /* FD_IN, FD_DIR, FD_LOG */
		launch_become_daemon(fds, 3, "husk-log");
		struct launch_log l = {.dir = FD_DIR,
				       .fd = FD_LOG,
				       .max_size = (uint64_t)lo->max_size,
				       .max_files = lo->max_files};
		run(&l);
	}
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	*out = p[1];
	return 0;
}
