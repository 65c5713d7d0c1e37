#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/esc.h"
#include "common/file.h"
#include "common/xalloc.h"

/* Debug lines carry the time since husk started (a forked child inherits
 * the origin, so parent and container process share one timeline): the
 * profile of a start is `husk --debug run ...`. */
static struct timespec origin;

static int log_fd = STDERR_FILENO;
static int log_json;
static enum hk_log_level log_level = HK_LOG_WARN;

static const char *const level_names[] = {
	[HK_LOG_ERROR] = "error",
	[HK_LOG_WARN] = "warning",
	[HK_LOG_INFO] = "info",
	[HK_LOG_DEBUG] = "debug",
};

/* A device or one of our own fds (/dev/stderr, /dev/null, /proc/self/fd/N)
 * as it is; any other path as a file of ours: made exclusively, or an
 * existing regular file of husk's user, its last component never a link
 * (a link planted where others can write must not send root's log into a
 * file of its choosing), a fifo never waited on. */
static int open_log(const char *path, struct hk_err *err)
{
	if (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/self/fd/", 14) == 0) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
		return fd < 0 ? hk_fail(err, errno, "open log file %s", path) : fd;
	}
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd =
		open(slash ? (*dir ? dir : "/") : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hk_fail(err, errno, "open log file %s: its directory", path);
	int fd = hk_open_append(dfd, name, 0644, err);
	return fd < 0 ? hk_err_prefix(err, "log file %s", path) : fd;
}

int hk_log_init(const char *path, int json, enum hk_log_level level, struct hk_err *err)
{
	clock_gettime(CLOCK_MONOTONIC, &origin);
	log_json = json;
	log_level = level;
	if (!path || !*path)
		return 0;
	int fd = open_log(path, err);
	if (fd < 0)
		return -1;
	log_fd = fd;
	return 0;
}

int hk_log_enabled(enum hk_log_level level)
{
	return level <= log_level;
}

static void timestamp(char *buf, size_t size)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || hk_rfc3339(&ts, 0, buf, size) < 0)
		snprintf(buf, size, "?");
}

static void write_all(int fd, const char *buf, int n)
{
	if (n < 0)
		return;
	ssize_t w = write(fd, buf, (size_t)n);
	(void)w;
}

static int format_line(char *line, size_t size, int json, enum hk_log_level level, const char *msg)
{
	char ts[32];
	int n;

	/* Messages quote config.json, paths in the rootfs, names a container
	 * chose: escaped (common/esc.h), so that a line stays one line, valid
	 * JSON, and cannot steer the terminal of whoever reads the log. */
	char esc[2200];
	timestamp(ts, sizeof(ts));
	hk_esc_into(msg, json ? HK_ESC_JSON : HK_ESC_TEXT, esc, sizeof(esc));
	if (json)
		n = snprintf(line, size, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			     level_names[level], esc, ts);
	else
		n = snprintf(line, size, "%s %s: %s\n", ts, level_names[level], esc);
	if (n >= (int)size)
		n = (int)size - 1;
	return n;
}

/* Errors and warnings always reach stderr as one plain line; with --log they
 * also go to the log file (where engines such as containerd read them). Debug
 * lines go to the log file when there is one, else to stderr. */
static void since_start(char *buf, size_t size)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - origin.tv_sec) * 1e3 +
		    (double)(now.tv_nsec - origin.tv_nsec) / 1e6;
	snprintf(buf, size, "+%.3fms [%d] ", ms, (int)getpid());
}

void hk_log(enum hk_log_level level, const char *fmt, ...)
{
	char msg[1024], line[2400];
	va_list ap;
	int n = 0;

	if (!hk_log_enabled(level))
		return;
	if (level == HK_LOG_DEBUG)
		since_start(msg, sizeof(msg));
	n = (int)strlen(level == HK_LOG_DEBUG ? msg : "");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (log_fd != STDERR_FILENO || log_json) {
		n = format_line(line, sizeof(line), log_json, level, msg);
		write_all(log_fd, line, n);
	}
	if (log_fd == STDERR_FILENO && log_json)
		return;
	if (level <= HK_LOG_WARN || log_fd == STDERR_FILENO) {
		/* Messages quote config.json and paths: escaped, so that an
		 * error stays one line and cannot steer the terminal. */
		char esc[2200];
		hk_esc_into(msg, HK_ESC_TEXT, esc, sizeof(esc));
		if (level == HK_LOG_ERROR)
			n = snprintf(line, sizeof(line), "husk: %s\n", esc);
		else
			n = snprintf(line, sizeof(line), "husk: %s: %s\n", level_names[level], esc);
		if (n >= (int)sizeof(line))
			n = (int)sizeof(line) - 1;
		write_all(STDERR_FILENO, line, n);
	}
}

void hk_log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
}

void hk_log_forget(void)
{
	log_fd = STDERR_FILENO;
}
