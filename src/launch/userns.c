/* Ranges for --userns=auto, and idmapped mounts of the lower layers.
 *
 * Ranges: the first range of "root" in /etc/subuid, cut into slots of
 * 65536 ids, or else slots from 1000000 up (1024 of them). A slot is taken
 * by creating DATA/.userns/<slot>, naming the container's directory, whole
 * (launch_new_file: fails when it exists, so two launches never get the
 * same one)
 * and given back when the container's directory is removed. */
#include "launch/userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "launch/newfile.h"

#define DEFAULT_BASE 1000000u
#define DEFAULT_SLOTS 1024u

static void root_range(uint32_t *base, uint32_t *slots)
{
	_cleanup_free_ char *text = hk_read_file("/etc/subuid", 1 << 20, NULL, NULL);
	unsigned long start, count;

	*base = DEFAULT_BASE;
	*slots = DEFAULT_SLOTS;
	for (char *l = text; l && *l;) {
		char *end = strchr(l, '\n');
		if (end)
			*end = '\0';
		if (sscanf(l, "root:%lu:%lu", &start, &count) == 2 && count >= USERNS_SIZE &&
		    start + count <= UINT32_MAX) {
			*base = (uint32_t)start;
			*slots = (uint32_t)(count / USERNS_SIZE);
			return;
		}
		l = end ? end + 1 : NULL;
	}
}

/* A claim whose container directory is gone (a launch killed half-way)
 * is given back; so is an empty one an older husk left when killed
 * between creating and writing it. */
static bool stale(int claimsfd, const char *name)
{
	_cleanup_free_ char *owner = hk_read_fileat(claimsfd, name, 4096, NULL, NULL);
	struct stat st;

	if (!owner)
		return false;
	if (!*owner)
		return fstatat(claimsfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       st.st_mtime < time(NULL) - 60 && unlinkat(claimsfd, name, 0) == 0;
	if (stat(owner, &st) == 0 || errno != ENOENT)
		return false;
	return unlinkat(claimsfd, name, 0) == 0;
}

int userns_claim(const char *data_dir, const char *dir, uint32_t *host, struct hk_err *err)
{
	_cleanup_free_ char *claims = xasprintf("%s/.userns", data_dir);
	uint32_t base, slots;

	root_range(&base, &slots);
	if (mkdir(claims, 0700) < 0 && errno != EEXIST)
		return hk_fail(err, errno, "--userns=auto: mkdir %s", claims);
	_cleanup_close_ int claimsfd =
		open(claims, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (claimsfd < 0)
		return hk_fail(err, errno, "--userns=auto: open %s", claims);
	for (uint32_t k = 0; k < slots; k++) {
		char name[16];
		snprintf(name, sizeof(name), "%u", k);
		/* whole or not at all, failing when the slot is taken (err
		 * stays clean: callers read a message in it as a failure) */
		struct hk_err e = {0};
		int r = launch_new_file(claimsfd, name, dir, &e);
		if (r < 0 && e.errnum == EEXIST && stale(claimsfd, name))
			r = launch_new_file(claimsfd, name, dir, &e);
		if (r < 0 && e.errnum == EEXIST)
			continue;
		if (r < 0) {
			*err = e;
			return hk_err_prefix(err, "--userns=auto: claim in %s", claims);
		}
		_cleanup_free_ char *slot = xasprintf("%s/%s", claims, name);
		_cleanup_free_ char *rec = xasprintf("%s/userns-slot", dir);
		if (symlink(slot, rec) < 0) {
			unlinkat(claimsfd, name, 0);
			return hk_fail(err, errno, "--userns=auto: record %s", rec);
		}
		*host = base + k * USERNS_SIZE;
		return 0;
	}
	return hk_fail(err, 0, "--userns=auto: all %u ranges of %u ids from %u are taken", slots,
		       USERNS_SIZE, base);
}

/* A launch killed between claiming a slot and recording it in DIR left a
 * claim only its content ties to DIR: looked for among the claims. */
static void release_unrecorded(const char *dir)
{
	_cleanup_free_ char *copy = xstrdup(dir);
	char *slash = strrchr(copy, '/');
	if (!slash)
		return;
	*slash = '\0';
	_cleanup_free_ char *claims = xasprintf("%s/.userns", *copy ? copy : "/");
	DIR *d = opendir(claims);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *owner = hk_read_fileat(dirfd(d), e->d_name, 4096, NULL, NULL);
		if (owner && strcmp(owner, dir) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
}

void userns_release(const char *dir)
{
	_cleanup_free_ char *rec = xasprintf("%s/userns-slot", dir);
	char slot[4096];

	ssize_t n = readlink(rec, slot, sizeof(slot) - 1);
	if (n <= 0) {
		release_unrecorded(dir);
		return;
	}
	slot[n] = '\0';
	/* only a claim that names this very directory */
	_cleanup_free_ char *owner = hk_read_file(slot, 4096, NULL, NULL);
	if (owner && strcmp(owner, dir) == 0)
		unlink(slot);
	unlink(rec);
}

/* A user namespace with the map, held by a child that waits to be told to
 * exit: its /proc/PID/ns/user is the fd idmapped mounts want. */
static int map_fd(uint32_t host, struct hk_err *err)
{
	int go[2], ready[2];
	char c = 0;

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		return hk_fail(err, errno, "fork");
	if (pid == 0) {
		close(go[1]);
		c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		(void)!write(ready[1], &c, 1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	int fd = -1;
	if (read(ready[0], &c, 1) == 1 && c == 'y') {
		char path[64], map[64];
		snprintf(map, sizeof(map), "0 %u %u\n", host, USERNS_SIZE);
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		int r = hk_write_str(path, map, err);
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		if (r == 0 && hk_write_str(path, map, err) == 0) {
			snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				hk_fail(err, errno, "open %s", path);
		}
	} else {
		hk_fail(err, 0, "--userns=auto: cannot make a user namespace");
	}
	close(go[1]);
	close(ready[0]);
	waitpid(pid, NULL, 0);
	return fd;
}

int userns_idmap_mount(const char *src, const char *target, uint32_t host, struct hk_err *err)
{
	_cleanup_close_ int uns = map_fd(host, err);
	if (uns < 0)
		return -1;
	_cleanup_close_ int tree = hk_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return hk_fail(err, errno, "open_tree %s", src);
	/* In launch's own mount namespace (reserve.c), used by the overlay
	 * only, whose own mount flags are what the container's programs and
	 * devices obey (exec, set-id and device opens check the overlay's
	 * mount, not the layer's): nothing here needs them. */
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
					      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      MOUNT_ATTR_NOEXEC,
				  .userns_fd = (uint64_t)uns};
	if (hk_mount_setattr(tree, "", AT_EMPTY_PATH, &attr) < 0)
		return hk_fail(err, errno, "--userns=auto: idmapped mount of %s", src);
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return hk_fail(err, errno, "mkdir %s", target);
	if (hk_move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hk_fail(err, errno, "mount %s on %s", src, target);
	return 0;
}
