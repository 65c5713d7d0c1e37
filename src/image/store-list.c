/* husk images and husk rmi: the store's entries (store.h). */
#include <dirent.h>
#include <errno.h>
#include <sys/file.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rmtree.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "image/ref.h"
#include "image/store.h"
#include "spec/json.h"

#define REF_NAME "org.opencontainers.image.ref.name"

static void entry_clear(struct img_store_entry *e)
{
	free(e->name);
	free(e->digest);
	free(e->created);
	*e = (struct img_store_entry){0};
}

/* The index.json's one descriptor: its digest and the reference. */
static int entry_names(struct img_image *img, struct img_store_entry *e, struct hk_err *err)
{
	size_t len, n = 0;
	_cleanup_free_ char *json = img_source_read(&img->src, "index.json", -1, &len, err);
	hk_json *root = json ? hk_json_parse(json, len, "index.json", err) : NULL, *mans = NULL,
		*ann = NULL;
	int r = -1;

	if (!root)
		return -1;
	if (hk_json_get_arr(root, "index.json", "manifests", &mans, &n, err) < 0 || n != 1 ||
	    hk_json_get_str(hk_json_at(mans, 0), "index.json", "digest", &e->digest, err) < 0 ||
	    hk_json_get_obj(hk_json_at(mans, 0), "index.json", "annotations", &ann, err) < 0 ||
	    !ann || hk_json_get_str(ann, "index.json", REF_NAME, &e->name, err) <= 0)
		hk_fail(err, 0, "index.json: not a store entry");
	else
		r = 0;
	hk_json_put(root);
	return r;
}

static int entry_config(struct img_image *img, struct img_store_entry *e, struct hk_err *err)
{
	size_t len;
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", img->id);
	_cleanup_free_ char *json = img_source_read(&img->src, name, -1, &len, err);
	hk_json *root = json ? hk_json_parse(json, len, "image config", err) : NULL;

	if (!root)
		return -1;
	int r = hk_json_get_str(root, "image config", "created", &e->created, err);
	hk_json_put(root);
	e->size = (long long)len;
	for (size_t i = 0; i < img->n_layers; i++)
		e->size += img->layers[i].size;
	return r < 0 ? -1 : 0;
}

static int read_entry(const char *cache_dir, const char *hex, struct img_store_entry *e,
		      struct hk_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/refs/%s", cache_dir, hex);
	struct img_image *img = NULL;
	int rootfs = -1;

	*e = (struct img_store_entry){0};
	int r = img_open(path, &img, &rootfs, err);
	if (rootfs >= 0)
		close(rootfs);
	if (r != 0)
		return r < 0 ? -1 : hk_fail(err, 0, "%s: no image layout", path);
	memcpy(e->id, img->id, sizeof(e->id));
	r = entry_names(img, e, err) < 0 || entry_config(img, e, err) < 0 ? -1 : 0;
	img_free(img);
	return r;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct img_store_entry *)a)->name,
		      ((const struct img_store_entry *)b)->name);
}

int img_store_list(const char *cache_dir, struct img_store_entry **out, size_t *n,
		   struct hk_err *err)
{
	*out = NULL;
	*n = 0;
	_cleanup_close_ int cachefd =
		hk_open_trusted_dir("--cache-dir", cache_dir, false, 0700, err);
	if (cachefd < 0)
		return err->errnum == ENOENT ? 0 : -1;
	int fd = openat(cachefd, "refs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return e == ENOENT ? 0 : hk_fail(err, e, "image cache %s: refs", cache_dir);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != IMG_HEX_LEN)
			continue;
		struct img_store_entry e;
		struct hk_err eerr = {0};
		if (read_entry(cache_dir, de->d_name, &e, &eerr) < 0) {
			hk_debug("images: refs/%s left out: %s", de->d_name, eerr.msg);
			entry_clear(&e);
			continue;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = e;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), by_name);
	return 0;
}

void img_store_list_free(struct img_store_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		entry_clear(&e[i]);
	free(e);
}

int img_store_remove(const char *cache_dir, const struct img_ref *ref, struct hk_err *err)
{
	_cleanup_close_ int cachefd =
		hk_open_trusted_dir("--cache-dir", cache_dir, false, 0700, err);
	_cleanup_free_ char *name = img_store_name(ref);
	_cleanup_free_ char *s = img_ref_string(ref);
	char tmp[64];

	if (cachefd < 0)
		return -1;
	if (mkdirat(cachefd, "tmp", 0700) < 0 && errno != EEXIST)
		return hk_fail(err, errno, "image cache %s: mkdir tmp", cache_dir);
	snprintf(tmp, sizeof(tmp), "tmp/rmi.%d", (int)getpid());
	hk_rmtree_at(cachefd, tmp, NULL);
	/* flock'ed while it goes: one killed half-way is what the next
	 * pull's sweep (img_cache_sweep) finds unlocked and removes */
	_cleanup_close_ int fd =
		openat(cachefd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		return hk_fail(err, errno, "image %s", s);
	if (renameat(cachefd, name, cachefd, tmp) < 0)
		return hk_fail(err, errno, "image %s", s);
	return hk_rmtree_at(cachefd, tmp, err);
}

bool img_store_complete(const char *cache_dir, const struct img_ref *ref)
{
	_cleanup_free_ char *path = img_store_path(cache_dir, ref);
	struct img_image *img = NULL;
	struct hk_err err = {0};
	int rootfs = -1;

	if (!img_store_has(cache_dir, ref))
		return false;
	if (img_open(path, &img, &rootfs, &err) != 0) {
		if (rootfs >= 0)
			close(rootfs);
		hk_debug("launch: %s: %s", path, err.msg);
		return false;
	}
	bool all = true;
	for (size_t i = 0; i < img->n_layers && all; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/sha256/%s", cache_dir, img->layers[i].hex);
		struct stat st;
		all = lstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	}
	img_free(img);
	return all;
}
