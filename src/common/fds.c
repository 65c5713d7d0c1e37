#include "common/fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/syscalls.h"
#include "common/xalloc.h"

static int *inherited; /* ascending */
static size_t n_inherited;
static int record_errno = -1; /* -1: never recorded; else errno of the record, 0 when done */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static void add(int fd, size_t *cap)
{
	if (n_inherited == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		inherited = xrealloc(inherited, *cap * sizeof(int));
	}
	inherited[n_inherited++] = fd;
}

/* getdents64 straight into a buffer on the stack: opendir's allocation
 * and extra calls cost more than the listing (this runs on every call). */
void hk_fds_record(void)
{
	char buf[2048];
	size_t cap = 0;
	ssize_t n;
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	n_inherited = 0;
	if (dfd < 0) {
		record_errno = errno;
		return;
	}
	while ((n = getdents64(dfd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(void *)(buf + off);
			char *end;
			long fd = strtol(e->d_name, &end, 10);
			off += e->d_reclen;
			/* The listing's own fd is ours, wherever it landed. */
			if (!*end && end != e->d_name && fd >= 3 && fd != dfd && fd <= INT32_MAX)
				add((int)fd, &cap);
		}
	}
	record_errno = n < 0 ? errno : 0;
	close(dfd);
	if (n_inherited)
		qsort(inherited, n_inherited, sizeof(int), cmp_int);
}

/* The recorded fds among 3 .. 3+n-1: inherited[0 .. *count-1]. */
static int preserved(int n, size_t *count, struct hk_err *err)
{
	*count = 0;
	if (n <= 0)
		return 0;
	if (record_errno != 0)
		return hk_fail(err, record_errno < 0 ? 0 : record_errno,
			       "--preserve-fds: which fds husk was given is unknown%s",
			       record_errno < 0 ? " (not recorded at start)" : " (/proc/self/fd)");
	while (*count < n_inherited && inherited[*count] < 3 + n)
		(*count)++;
	return 0;
}

int hk_fds_preserve(int n, struct hk_err *err)
{
	size_t count;

	if (preserved(n, &count, err) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		int fd = inherited[i], flags = fcntl(fd, F_GETFD);
		if (flags < 0)
			return hk_fail(err, errno, "--preserve-fds: fd %d, open when husk started",
				       fd);
		if ((flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
			return hk_fail(err, errno, "clear close-on-exec of fd %d", fd);
	}
	return 0;
}

/* close_range with flags over every fd from 3 up but those in skip[]
 * (ascending, n of them). */
static int range_except(const int *skip, size_t n, unsigned int flags, struct hk_err *err)
{
	unsigned int from = 3;

	for (size_t i = 0; i <= n; i++) {
		unsigned int next = i < n ? (unsigned int)skip[i] : ~0U;
		if (i < n && skip[i] < 3)
			continue;
		if (next > from && hk_close_range(from, next == ~0U ? ~0U : next - 1, flags) < 0)
			return hk_fail(err, errno, "close_range (husk needs Linux >= 5.11)");
		if (next == ~0U)
			break;
		if (next + 1 > from)
			from = next + 1;
	}
	return 0;
}

int hk_fds_cloexec_others(int n, struct hk_err *err)
{
	size_t count;

	if (preserved(n, &count, err) < 0)
		return -1;
	return range_except(inherited, count, CLOSE_RANGE_CLOEXEC, err);
}

int hk_fds_close_others(const int *keep, size_t nkeep, int n, struct hk_err *err)
{
	size_t count;

	if (preserved(n, &count, err) < 0)
		return -1;
	int *skip = xmalloc((nkeep + count + 1) * sizeof(int));
	memcpy(skip, keep, nkeep * sizeof(int));
	if (count)
		memcpy(skip + nkeep, inherited, count * sizeof(int));
	qsort(skip, nkeep + count, sizeof(int), cmp_int);
	int r = range_except(skip, nkeep + count, 0, err);
	free(skip);
	return r;
}

int hk_fds_stdio_open(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free number: fd itself */
		int null = open("/dev/null", O_RDWR);
		if (null < 0)
			return -1;
		if (null != fd) {
			close(null);
			return -1;
		}
	}
	return 0;
}
