/* Directories husk keeps its own files in (the state root), reached
 * without trusting anyone but root and husk's own user: see trusted.h. */
#include "common/trusted.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/rootless.h"

#define MAX_LINKS 40 /* as the kernel's path walk */

struct walk {
	const char *what;  /* "--root" */
	const char *path;  /* as given */
	char at[PATH_MAX]; /* the directory reached so far: */
	int fd;            /* open, */
	struct stat st;    /* and its stat */
	uid_t me;
	bool readable; /* fd is not O_PATH */
	int links;     /* followed so far */
	bool root_ok;  /* the directory itself may be root's too */
};

struct walk_opts {
	bool create;
	mode_t mode;
};

/* In a user namespace of its own (rootless engines), husk sees root's
 * directories (/, /run) as owned by the overflow uid: the owner is outside
 * the namespace and unknown, most likely root. Outside one, that uid is
 * just another user (nobody).
 *
 * husk launch run by an ordinary user knows better: it walks its
 * directories on the host first, as the user, and records there which
 * ones root owns (ROOTS_RECORD); in the user namespace it then makes,
 * only those count as root's (ROOTS_PINNED), not another user's that
 * shows as the same overflow uid. */
enum roots_mode { ROOTS_ANY, ROOTS_RECORD, ROOTS_PINNED };
#define MAX_ROOTS 128
static enum roots_mode roots_mode = ROOTS_ANY;
static struct {
	dev_t dev;
	ino_t ino;
} roots[MAX_ROOTS];
static size_t n_roots;

void hk_trusted_record_roots(void)
{
	roots_mode = ROOTS_RECORD;
}

void hk_trusted_pin_roots(void)
{
	roots_mode = ROOTS_PINNED;
}

static bool pinned(const struct stat *st)
{
	for (size_t i = 0; i < n_roots; i++)
		if (roots[i].dev == st->st_dev && roots[i].ino == st->st_ino)
			return true;
	return false;
}

static bool unmapped_owner(const struct stat *st)
{
	_cleanup_free_ char *over = hk_read_file("/proc/sys/kernel/overflowuid", 64, NULL, NULL);

	if (!over || strtoul(over, NULL, 10) != st->st_uid)
		return false;
	return roots_mode == ROOTS_PINNED ? pinned(st) : !hk_initial_userns();
}

/* Owned by root (as far as husk can know), or by husk's uid me. */
static bool trusted_owner(const struct stat *st, uid_t me)
{
	if (st->st_uid == 0 && roots_mode == ROOTS_RECORD && !pinned(st) && n_roots < MAX_ROOTS) {
		roots[n_roots].dev = st->st_dev;
		roots[n_roots++].ino = st->st_ino;
	}
	return st->st_uid == 0 || st->st_uid == me || unmapped_owner(st);
}

/* A directory looked up in: nobody but root and us may change what its
 * names lead to (others may add names only where it is sticky, which keeps
 * them from renaming or removing ours). */
static int check_traversed(const struct walk *w, const struct stat *st, struct hk_err *err)
{
	if (!trusted_owner(st, w->me))
		return hk_fail(err, 0,
			       "%s %s: %s is owned by uid %u, neither root nor husk's uid %u: "
			       "refused",
			       w->what, w->path, w->at, (unsigned)st->st_uid, (unsigned)w->me);
	if ((st->st_mode & 022) && !(st->st_mode & S_ISVTX))
		return hk_fail(err, 0,
			       "%s %s: %s is writable by others (mode %04o, not sticky): refused",
			       w->what, w->path, w->at, (unsigned)(st->st_mode & 07777));
	return 0;
}

/* The directory itself: ours alone. */
static int check_final(const struct walk *w, const struct stat *st, struct hk_err *err)
{
	if (w->root_ok && trusted_owner(st, w->me) && st->st_uid != w->me) {
		if (st->st_mode & 022)
			return hk_fail(err, 0,
				       "%s %s: %s is writable by others (mode %04o): refused",
				       w->what, w->path, w->at, (unsigned)(st->st_mode & 07777));
		return 0;
	}
	if (st->st_uid != w->me)
		return hk_fail(err, 0,
			       "%s %s: %s is owned by uid %u, not by husk's uid %u: refused",
			       w->what, w->path, w->at, (unsigned)st->st_uid, (unsigned)w->me);
	if (st->st_mode & 022)
		return hk_fail(err, 0, "%s %s: %s is writable by others (mode %04o): refused",
			       w->what, w->path, w->at, (unsigned)(st->st_mode & 07777));
	return 0;
}

/* Nothing but slashes and "." left: the component before is the last. */
static bool only_dots(const char *q)
{
	for (;;) {
		while (*q == '/')
			q++;
		if (q[0] == '.' && (q[1] == '/' || q[1] == '\0'))
			q++;
		else
			return *q == '\0';
	}
}

static void walk_into(struct walk *w, const char *comp)
{
	size_t len = strlen(w->at);

	if (strcmp(comp, "..") == 0) {
		char *slash = strrchr(w->at, '/');
		if (slash && slash != w->at)
			*slash = '\0';
		else
			strcpy(w->at, "/");
		return;
	}
	snprintf(w->at + len, sizeof(w->at) - len, "%s%s", len > 1 ? "/" : "", comp);
}

/* Move to fd (owned from now on) as the directory reached; st is its
 * stat when known already. */
static int walk_to(struct walk *w, int fd, bool readable, const struct stat *st, struct hk_err *err)
{
	if (st) {
		w->st = *st;
	} else if (fstat(fd, &w->st) < 0) {
		int e = errno;
		close(fd);
		return hk_fail(err, e, "%s %s: stat %s", w->what, w->path, w->at);
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	w->readable = readable;
	return 0;
}

static int walk_from_root(struct walk *w, struct hk_err *err)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return hk_fail(err, errno, "open /");
	strcpy(w->at, "/");
	return walk_to(w, fd, true, NULL, err);
}

/* Follow the link at comp by hand: rest becomes its target and what was
 * left after it; an absolute target starts over at "/". */
static int splice_link(struct walk *w, int link, const char *comp, char *rest, size_t size,
		       const char *left, struct hk_err *err)
{
	char target[PATH_MAX], joined[2 * PATH_MAX];
	ssize_t n = readlinkat(link, "", target, sizeof(target) - 1);

	if (n < 0)
		return hk_fail(err, errno, "%s %s: read the link %s/%s", w->what, w->path, w->at,
			       comp);
	target[n] = '\0';
	if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", target, left) >= size)
		return hk_fail(err, ENAMETOOLONG, "%s %s", w->what, w->path);
	strcpy(rest, joined);
	return target[0] == '/' ? walk_from_root(w, err) : 0;
}

/* The next component, read-only when we may read it (so that the last
 * needs no reopening), else O_PATH: a link (not followed) or a directory
 * we may only search. Missing, made when asked to. */
static int open_step(struct walk *w, const char *comp, const struct walk_opts *o, bool *readable,
		     struct hk_err *err)
{
	const char *sep = strcmp(w->at, "/") ? "/" : "";
	int fd = openat(w->fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && o->create) {
		if (mkdirat(w->fd, comp, o->mode) < 0 && errno != EEXIST)
			return hk_fail(err, errno, "%s %s: mkdir %s%s%s", w->what, w->path, w->at,
				       sep, comp);
		fd = openat(w->fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	*readable = fd >= 0;
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == EACCES))
		fd = openat(w->fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "%s %s: open %s%s%s", w->what, w->path, w->at, sep,
			       comp);
	return fd;
}

static int start_walk(struct walk *w, char *rest, size_t size, struct hk_err *err)
{
	char cwd[PATH_MAX];

	if (!*w->path)
		return hk_fail(err, ENOENT, "%s: empty path", w->what);
	if (w->path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return hk_fail(err, errno, "%s %s: getcwd", w->what, w->path);
	if ((size_t)snprintf(rest, size, "%s/%s", w->path[0] == '/' ? "" : cwd, w->path) >= size)
		return hk_fail(err, ENAMETOOLONG, "%s %s", w->what, w->path);
	return walk_from_root(w, err);
}

/* One component: into a directory, or a link spliced into rest. */
static int step(struct walk *w, const char *comp, char **p, char *rest, size_t size,
		const struct walk_opts *o, struct hk_err *err)
{
	struct stat st;
	bool readable;
	_cleanup_close_ int next = open_step(w, comp, o, &readable, err);

	if (next < 0)
		return -1;
	if (fstat(next, &st) < 0)
		return hk_fail(err, errno, "%s %s: stat %s", w->what, w->path, comp);
	if (S_ISLNK(st.st_mode)) {
		char left[2 * PATH_MAX];
		walk_into(w, comp);
		if (only_dots(*p))
			return hk_fail(err, 0, "%s %s: %s is a symbolic link: refused", w->what,
				       w->path, w->at);
		/* In a sticky directory (/tmp) anyone may own a link: its owner
		 * chooses where the path goes, and can change it at will. */
		if (!trusted_owner(&st, w->me))
			return hk_fail(err, 0,
				       "%s %s: %s is a symbolic link of uid %u, neither root nor "
				       "husk's uid %u: refused",
				       w->what, w->path, w->at, (unsigned)st.st_uid,
				       (unsigned)w->me);
		walk_into(w, "..");
		if (++w->links > MAX_LINKS)
			return hk_fail(err, ELOOP, "%s %s", w->what, w->path);
		strcpy(left, *p);
		*p = rest;
		return splice_link(w, next, comp, rest, size, left, err);
	}
	walk_into(w, comp);
	if (!S_ISDIR(st.st_mode))
		return hk_fail(err, ENOTDIR, "%s %s: %s", w->what, w->path, w->at);
	return walk_to(w, TAKE_FD(next), readable, &st, err);
}

static int open_walked(const char *what, const char *path, bool create, mode_t mode, bool root_ok,
		       struct hk_err *err)
{
	struct walk w = {.what = what, .path = path, .me = geteuid(), .fd = -1, .root_ok = root_ok};
	const struct walk_opts o = {create, mode};
	char rest[2 * PATH_MAX], comp[NAME_MAX + 1];
	int r = start_walk(&w, rest, sizeof(rest), err);

	for (char *p = rest; r == 0;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		if (n > NAME_MAX) {
			r = hk_fail(err, ENAMETOOLONG, "%s %s", what, path);
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (strcmp(comp, ".") != 0)
			r = check_traversed(&w, &w.st, err) < 0
				    ? -1
				    : step(&w, comp, &p, rest, sizeof(rest), &o, err);
	}
	if (r == 0)
		r = check_final(&w, &w.st, err);
	/* Reached by O_PATH (searchable, not readable): open it for reading. */
	if (r == 0 && !w.readable) {
		int fd = openat(w.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = fd < 0 ? hk_fail(err, errno, "%s %s: open", what, path)
			   : walk_to(&w, fd, true, NULL, err);
	}
	if (r < 0) {
		if (w.fd >= 0)
			close(w.fd);
		return -1;
	}
	return w.fd;
}

int hk_open_trusted_dir(const char *what, const char *path, bool create, mode_t mode,
			struct hk_err *err)
{
	return open_walked(what, path, create, mode, false, err);
}

int hk_open_config_dir(const char *what, const char *path, struct hk_err *err)
{
	return open_walked(what, path, false, 0, true, err);
}

int hk_open_config_file(int dirfd, const char *what, const char *name, bool trusted,
			struct hk_err *err)
{
	struct stat st;
	char self[64];
	_cleanup_close_ int pathfd =
		openat(dirfd, name, O_PATH | O_CLOEXEC | (trusted ? O_NOFOLLOW : 0));

	if (pathfd < 0)
		return hk_fail(err, errno, "%s/%s", what, name);
	if (fstat(pathfd, &st) < 0)
		return hk_fail(err, errno, "%s/%s: stat", what, name);
	if (S_ISLNK(st.st_mode))
		return hk_fail(err, 0, "%s/%s: a symbolic link: refused", what, name);
	if (!S_ISREG(st.st_mode))
		return hk_fail(err, 0, "%s/%s: not a regular file: refused", what, name);
	if (trusted && !trusted_owner(&st, geteuid()))
		return hk_fail(err, 0,
			       "%s/%s: owned by uid %u, neither root nor husk's uid %u: refused",
			       what, name, (unsigned)st.st_uid, (unsigned)geteuid());
	if (trusted && (st.st_mode & 022))
		return hk_fail(err, 0, "%s/%s: writable by others (mode %04o): refused", what, name,
			       (unsigned)(st.st_mode & 07777));
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	int fd = open(self, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? hk_fail(err, errno, "%s/%s", what, name) : fd;
}
