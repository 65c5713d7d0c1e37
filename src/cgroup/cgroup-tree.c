/* The cgroups a container made below its own (a writable cgroup mount:
 * systemd in a container, docker in docker), walked whole.
 *
 * The container chooses the tree's depth and width, so the walk holds no
 * open directory per level (a deep chain would exhaust fds) and builds no
 * path (a deep chain is longer than PATH_MAX): it reads a directory's
 * subdirectories into memory, goes down with openat(name) and back up with
 * openat(".."). A cgroup cannot be moved to another parent (v1 renames only
 * within one, v2 not at all), so ".." is the directory it came from. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/strv.h"
#include "common/xalloc.h"

/* More cgroups than this below one container is refused loudly rather than
 * walked in part: what is beyond would be hidden from ps, kill --all and
 * delete. Each cgroup costs the kernel kilobytes, so no real tree is near. */
#define CG_TREE_MAX_DIRS (1u << 20)

struct level {
	char *name; /* how the directory was entered from its parent */
	char **subdirs;
	size_t n, next;
};

static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The names of fd's subdirectories; a directory gone meanwhile has none. */
static char **read_subdirs(int fd, size_t *n)
{
	char **v = NULL;
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *e;

	*n = 0;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return NULL;
	}
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	return v;
}

static void push(struct level **st, size_t *depth, size_t *cap, int fd, char *name)
{
	if (*depth == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*st = xrealloc(*st, *cap * sizeof(**st));
	}
	struct level *l = &(*st)[(*depth)++];
	l->name = name;
	l->subdirs = read_subdirs(fd, &l->n);
	l->next = 0;
}

static void drop(struct level *l)
{
	hk_strv_free(l->subdirs, l->n);
	free(l->name);
}

int cg_walk_below(const char *dir, cg_tree_fn fn, void *data, struct hk_err *err)
{
	struct level *st = NULL;
	size_t depth = 0, cap = 0, seen = 0;
	int cur = open_dir_at(AT_FDCWD, dir), rc = 0;

	if (cur < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "open cgroup %s", dir);
	push(&st, &depth, &cap, cur, NULL);
	while (depth > 0) {
		struct level *top = &st[depth - 1];
		if (top->next < top->n) {
			const char *name = top->subdirs[top->next++];
			if (++seen > CG_TREE_MAX_DIRS) {
				rc = hk_fail(err, E2BIG, "cgroup %s: more than %u cgroups below it",
					     dir, CG_TREE_MAX_DIRS);
				break;
			}
			int child = open_dir_at(cur, name);
			if (child < 0)
				continue; /* removed meanwhile */
			close(cur);
			cur = child;
			push(&st, &depth, &cap, cur, xstrdup(name));
			continue;
		}
		if (depth == 1)
			break;
		int parent = open_dir_at(cur, "..");
		if (parent < 0) {
			rc = hk_fail(err, errno, "cgroup %s: go back up from %s", dir, top->name);
			break;
		}
		fn(parent, top->name, cur, data);
		close(cur);
		cur = parent;
		drop(top);
		depth--;
	}
	close(cur);
	while (depth > 0)
		drop(&st[--depth]);
	free(st);
	return rc;
}

static int parse_pids(const char *text, pid_t **pids, size_t *n)
{
	size_t count = 0;

	*pids = NULL;
	for (const char *p = text; *p;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		*pids = xrealloc(*pids, (count + 1) * sizeof(pid_t));
		(*pids)[count++] = (pid_t)v;
		p = end;
		while (*p == '\n')
			p++;
	}
	*n = count;
	return 0;
}

int cg_read_pids_at(int dirfd, const char *dir, pid_t **pids, size_t *n, struct hk_err *err)
{
	_cleanup_free_ char *text = hk_read_fileat(dirfd, "cgroup.procs", 64 << 20, NULL, err);

	*pids = NULL;
	*n = 0;
	if (!text) {
		if (err)
			hk_err_prefix(err, "cgroup %s", dir);
		return -1;
	}
	return parse_pids(text, pids, n);
}

int cg_read_pids(const char *dir, pid_t **pids, size_t *n, struct hk_err *err)
{
	_cleanup_close_ int fd = open_dir_at(AT_FDCWD, dir);

	*pids = NULL;
	*n = 0;
	if (fd < 0)
		return hk_fail(err, errno, "open cgroup %s", dir);
	return cg_read_pids_at(fd, dir, pids, n, err);
}
