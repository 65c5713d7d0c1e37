/* husk image prune: the layers of the cache that no image of the store and
 * no container uses, removed. The cache is held exclusively throughout
 * (image.h, img_cache_flock), so a pull or launch is either done recording
 * what it uses or has not looked for its layers yet. */
#include "image/prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rmtree.h"
#include "common/xalloc.h"
#include "image/image.h"

int img_prune_begin(struct img_prune *pr, const char *cache_dir, struct hk_err *err)
{
	memset(pr, 0, sizeof(*pr));
	pr->lockfd = -1;
	pr->dir = cache_dir;
	pr->cachefd = img_cache_open(cache_dir, &pr->lockfd, err);
	if (pr->cachefd < 0)
		return -1;
	if (img_cache_flock(pr->lockfd, LOCK_EX, cache_dir, err) < 0) {
		img_prune_end(pr);
		return -1;
	}
	return 0;
}

void img_prune_end(struct img_prune *pr)
{
	for (size_t i = 0; i < pr->n_keep; i++)
		free(pr->keep[i]);
	free(pr->keep);
	pr->keep = NULL;
	pr->n_keep = 0;
	if (pr->lockfd >= 0)
		close(pr->lockfd);
	if (pr->cachefd >= 0)
		close(pr->cachefd);
	pr->lockfd = pr->cachefd = -1;
}

static bool is_hex(const char *s)
{
	if (strlen(s) != IMG_HEX_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int img_prune_keep(struct img_prune *pr, const char *hex, struct hk_err *err)
{
	if (!is_hex(hex))
		return hk_fail(err, EINVAL, "layer %.80s: not a sha256 in hex", hex);
	pr->keep = xrealloc(pr->keep, (pr->n_keep + 1) * sizeof(*pr->keep));
	pr->keep[pr->n_keep++] = xstrdup(hex);
	return 0;
}

/* Every layer of the store's entry refs/<name>. One that cannot be read
 * stops the prune: its layers could not be told apart from unused ones. */
static int keep_entry(struct img_prune *pr, const char *name, struct hk_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/refs/%s", pr->dir, name);
	struct img_image *img = NULL;
	int rootfs = -1;

	if (img_open(path, &img, &rootfs, err) != 0) {
		if (rootfs >= 0)
			close(rootfs);
		if (!img)
			hk_fail(err, EINVAL, "%s is no image layout", path);
		return hk_err_prefix(err, "image store entry refs/%s (nothing removed)", name);
	}
	int r = 0;
	for (size_t i = 0; i < img->n_layers && r == 0; i++)
		r = img_prune_keep(pr, img->layers[i].hex, err);
	img_free(img);
	return r;
}

int img_prune_keep_store(struct img_prune *pr, struct hk_err *err)
{
	int fd = openat(pr->cachefd, "refs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "image cache %s: refs", pr->dir);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return hk_fail(err, errno, "image cache %s: refs", pr->dir);
	}
	struct dirent *e;
	int r = 0;
	while (r == 0 && (e = readdir(d)))
		if (e->d_name[0] != '.')
			r = keep_entry(pr, e->d_name, err);
	closedir(d);
	return r;
}

static bool kept(const struct img_prune *pr, const char *hex)
{
	for (size_t i = 0; i < pr->n_keep; i++)
		if (strcmp(pr->keep[i], hex) == 0)
			return true;
	return false;
}

/* tmp/prune.<pid>, flock'ed while the prune runs: what a prune that died
 * half way left there goes with the next sweep (cache.c, clear_tmp). */
static int make_trash(struct img_prune *pr, char *name, size_t size, struct hk_err *err)
{
	snprintf(name, size, "tmp/prune.%d", (int)getpid());
	hk_rmtree_at(pr->cachefd, name, NULL); /* a dead prune's of the same pid */
	if (mkdirat(pr->cachefd, name, 0700) < 0)
		return hk_fail(err, errno, "image cache %s: mkdir %s", pr->dir, name);
	int fd = openat(pr->cachefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return hk_fail(err, e, "image cache %s: %s", pr->dir, name);
	}
	return fd;
}

/* sha256/<hex> out of sight first (into the trash), then removed. */
static int remove_layer(struct img_prune *pr, const char *trash, const char *hex,
			struct hk_err *err)
{
	char from[IMG_HEX_LEN + 8], to[IMG_HEX_LEN + 64];

	snprintf(from, sizeof(from), "sha256/%s", hex);
	snprintf(to, sizeof(to), "%s/%s", trash, hex);
	if (renameat(pr->cachefd, from, pr->cachefd, to) < 0)
		return hk_fail(err, errno, "image cache %s: rename %s", pr->dir, from);
	if (hk_rmtree_at(pr->cachefd, to, err) < 0)
		return hk_err_prefix(err, "image cache %s: remove %s", pr->dir, from);
	return 0;
}

static long long tree_size(int at, const char *name, int depth)
{
	_cleanup_close_ int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	long long sum = 0;

	if (fd < 0 || depth > 256)
		return 0;
	DIR *d = fdopendir(fd);
	if (!d)
		return 0;
	fd = -1;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sum += (long long)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode))
			sum += tree_size(dirfd(d), e->d_name, depth + 1);
	}
	closedir(d);
	return sum;
}

int img_prune_run(struct img_prune *pr, img_prune_cb deleted, void *data, struct hk_err *err)
{
	int fd = openat(pr->cachefd, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "image cache %s: sha256", pr->dir);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return hk_fail(err, errno, "image cache %s: sha256", pr->dir);
	}
	char **gone = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (is_hex(e->d_name) && !kept(pr, e->d_name)) {
			gone = xrealloc(gone, (n + 1) * sizeof(*gone));
			gone[n++] = xstrdup(e->d_name);
		}
	char trash[64];
	int tfd = n ? make_trash(pr, trash, sizeof(trash), err) : -1;
	int r = n && tfd < 0 ? -1 : 0;
	for (size_t i = 0; i < n; i++) {
		long long size = r == 0 ? tree_size(dirfd(d), gone[i], 0) : 0;
		if (r == 0 && (r = remove_layer(pr, trash, gone[i], err)) == 0 && deleted)
			deleted(data, gone[i], size);
		free(gone[i]);
	}
	free(gone);
	closedir(d);
	if (tfd >= 0) {
		hk_rmtree_at(pr->cachefd, trash, NULL);
		close(tfd);
	}
	img_cache_sweep(pr->cachefd);
	return r;
}
