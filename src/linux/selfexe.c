#include "linux/selfexe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rootless.h"
#include "common/syscalls.h"
#include "common/xalloc.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: an executable memfd where memfd_noexec=1 */
#endif

/* Set for the re-executed husk: the path it was started from. */
#define ORIGIN_ENV "_HUSK_EXE"

static char *origin;
static bool reexecuted;

static bool exe_is_sealed(int fd);
static bool same_file(const struct stat *a, const struct stat *b);

/* The environment is the caller's: the path in it is believed only by a
 * husk that runs from a read-only view (or sealed copy) of that very file
 * (same size and mtime), as one husk execs another; otherwise it is
 * ignored and /proc/self/exe says where husk is (a root shell with
 * _HUSK_EXE=/tmp/x/husk must not make husk run /tmp/x/husk-launch). */
void selfexe_init(void)
{
	const char *e = getenv(ORIGIN_ENV);
	struct stat self, claimed;

	if (!e)
		return;
	_cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (*e == '/' && exe >= 0 && exe_is_sealed(exe) && fstat(exe, &self) == 0 &&
	    stat(e, &claimed) == 0 && same_file(&self, &claimed)) {
		reexecuted = true;
		origin = xstrdup(e);
	}
	unsetenv(ORIGIN_ENV);
}

static char *read_exe_link(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

const char *selfexe_path(void)
{
	if (!origin)
		origin = read_exe_link();
	return origin;
}

/* Sealed against writes, or on a read-only mount or superblock. A read-only
 * mount of the host's own mount namespace cannot be made writable from a
 * container's (mount_setattr and remount need the mount in the caller's
 * namespace); the only read-only views husk makes itself are overlays,
 * read-only in the superblock. */
static bool exe_is_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct statvfs sv;

	if (seals >= 0 && (seals & F_SEAL_WRITE))
		return true;
	return fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* Two path prefixes overlap when one is the other or an ancestor of it. */
static bool overlaps(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t n = la < lb ? la : lb;

	if (strncmp(a, b, n) != 0)
		return false;
	if (la == lb)
		return true;
	const char *longer = la > lb ? a : b;
	return n == 1 || longer[n] == '/';
}

/* overlayfs needs two layers when there is no upper one; the second is any
 * directory that does not overlap the binary's (its contents are never
 * looked at: only the binary's name is opened, and it is found in the top
 * layer). */
static const char *spare_layer(const char *dir)
{
	static const char *const candidates[] = {"/dev", "/run", "/tmp", "/etc"};

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (!overlaps(candidates[i], dir) && access(candidates[i], X_OK) == 0)
			return candidates[i];
	return NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return S_ISREG(a->st_mode) && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* An overlay of the two lower layers, created: "lowerdir+" one at a time
 * (Linux 6.8), else (an overlayfs before 6.5 takes any key and fails only
 * at create) a fresh one with the single "lowerdir" string of older
 * kernels (Debian 12's 6.1), when neither path has a character that
 * string would have to escape. */
static int lower_only_overlay(const char *dir, const char *spare)
{
	int fs = hk_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	if (hk_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", dir, 0) == 0 &&
	    hk_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", spare, 0) == 0 &&
	    hk_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		return fs;
	int e = errno;
	close(fs);
	if (e != EINVAL || strpbrk(dir, ":,\\") || strpbrk(spare, ":,\\")) {
		errno = e;
		return -1;
	}
	_cleanup_free_ char *both = xasprintf("%s:%s", dir, spare);
	fs = hk_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs >= 0 && (hk_fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", both, 0) < 0 ||
			hk_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)) {
		e = errno;
		close(fs);
		errno = e;
		return -1;
	}
	return fs;
}

/* A detached read-only overlay over the binary's directory; the binary in
 * it, opened O_PATH. -1 (errno set) when overlayfs cannot be used here. */
static int view_overlay(const char *path, const struct stat *want)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (!slash || slash == dir || strstr(path, " (deleted)")) {
		errno = ENOENT;
		return -1;
	}
	*slash = '\0';
	const char *base = slash + 1;
	const char *spare = spare_layer(dir);
	if (!spare) {
		errno = ELOOP;
		return -1;
	}
	_cleanup_close_ int fs = lower_only_overlay(dir, spare);
	if (fs < 0)
		return -1;
	_cleanup_close_ int mnt = hk_fsmount(
		fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return -1;
	int fd = openat(mnt, base, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !same_file(&st, want))) {
		close(fd);
		errno = ESTALE; /* replaced since we started: not our binary */
		return -1;
	}
	return fd;
}

/* A sealed memfd copy of the binary (fd src). */
static int view_memfd(int src, const struct stat *st, struct hk_err *err)
{
	int mfd = memfd_create("husk", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create("husk", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return hk_fail(err, errno, "copy husk's binary to a sealed memfd");
	for (off_t off = 0; off < st->st_size;) {
		ssize_t w = sendfile(mfd, src, &off, (size_t)(st->st_size - off));
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(mfd);
			return hk_fail(err, e, "copy husk's binary to a sealed memfd");
		}
	}
	/* The original's mtime, so that the re-executed husk knows the copy
	 * for that file's (selfexe_init): it finds its companions and
	 * husk-init beside the original, not beside "/memfd:husk" (outside
	 * attack, fifth round F2). */
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (futimens(mfd, times) < 0) {
		int e = errno;
		close(mfd);
		return hk_fail(err, e, "give husk's copy of its binary the original's times");
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		int e = errno;
		close(mfd);
		return hk_fail(err, e, "seal husk's copy of its binary");
	}
	return mfd;
}

static int exec_view(int fd, char **argv, const char *path, const char *what, struct hk_err *err)
{
	extern char **environ;

	if (setenv(ORIGIN_ENV, path ? path : "", 1) < 0)
		return hk_fail(err, errno, "setenv %s", ORIGIN_ENV);
	hk_debug("selfexe: re-executing from %s", what);
	hk_execveat(fd, "", argv, environ, AT_EMPTY_PATH);
	int e = errno;
	unsetenv(ORIGIN_ENV);
	return hk_fail(err, e, "re-execute husk from %s of its binary", what);
}

/* Not writable by this caller (an unprivileged user running root's
 * binary, or root of a rootless engine's user namespace, to whom the
 * host's root is unmapped): nothing the container's ids can write either. */
static bool caller_cannot_write(void)
{
	return hk_rootless() && faccessat(AT_FDCWD, "/proc/self/exe", W_OK, AT_EACCESS) < 0 &&
	       (errno == EACCES || errno == EPERM || errno == EROFS);
}

int selfexe_protect(char **argv, struct hk_err *err)
{
	_cleanup_close_ int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (exe < 0 || fstat(exe, &st) < 0)
		return hk_fail(err, errno, "open husk's own binary (/proc/self/exe)");
	if (exe_is_sealed(exe) || caller_cannot_write())
		return 0;
	if (reexecuted)
		return hk_fail(err, 0,
			       "husk was re-executed from a view of its binary that is still "
			       "writable: refusing to go on (CVE-2019-5736)");
	const char *path = selfexe_path();
	if (geteuid() == 0 && path) {
		_cleanup_close_ int view = view_overlay(path, &st);
		if (view >= 0)
			exec_view(view, argv, path, "a read-only overlay", err);
		else
			hk_debug("selfexe: no overlay view of %s: %s", path, strerror(errno));
	}
	_cleanup_close_ int mfd = view_memfd(exe, &st, err);
	if (mfd < 0)
		return -1;
	return exec_view(mfd, argv, path, "a sealed memfd copy", err);
}

void selfexe_exec_companion(const char *path, char **argv)
{
	extern char **environ;
	struct stat st;

	if (geteuid() != 0 || hk_rootless() || stat(path, &st) < 0)
		return;
	_cleanup_close_ int view = view_overlay(path, &st);
	if (view < 0) {
		hk_debug("selfexe: no overlay view of %s: %s", path, strerror(errno));
		return;
	}
	if (setenv(ORIGIN_ENV, path, 1) < 0)
		return;
	hk_debug("selfexe: running %s from a read-only overlay", path);
	hk_execveat(view, "", argv, environ, AT_EMPTY_PATH);
	unsetenv(ORIGIN_ENV);
}
