/* The layer cache: CACHE/sha256/<hex>/ is the layer with that digest,
 * unpacked. A layer is unpacked into CACHE/tmp/ under CACHE/lock, checked
 * against its digest as it streams, and renamed into place only when whole
 * and right, so a present directory is always a complete, verified layer
 * that any number of containers may share (as overlayfs lower layers,
 * which are never written). */
#include <archive.h>
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
#include "common/file.h"
#include "common/log.h"
#include "common/rmtree.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "image/unpack.h"

struct feed {
	struct img_reader *r;
	struct img_sha256 h;
	struct hk_err *err;
	bool failed;
	char buf[1 << 16];
};

static la_ssize_t feed_read(struct archive *a, void *data, const void **buf)
{
	struct feed *f = data;
	ssize_t n = img_reader_read(f->r, f->buf, sizeof(f->buf), f->err);

	if (n < 0) {
		f->failed = true;
		archive_set_error(a, EIO, "%s", f->err->msg);
		return -1;
	}
	img_sha256_update(&f->h, f->buf, (size_t)n);
	*buf = f->buf;
	return n;
}

/* The rest of the blob, past the tar's end, counts for its digest too. */
static int drain(struct feed *f, struct hk_err *err)
{
	ssize_t n;

	while ((n = img_reader_read(f->r, f->buf, sizeof(f->buf), err)) > 0)
		img_sha256_update(&f->h, f->buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

static int unpack_stream(struct img_reader *r, int dirfd, const struct img_layer *l,
			 struct hk_err *err)
{
	struct feed *f = xzalloc(sizeof(*f));
	struct archive *a = archive_read_new();
	char got[IMG_HEX_LEN + 1];
	int rc = -1;

	f->r = r;
	f->err = err;
	img_sha256_init(&f->h);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	/* A blob that is not what its digest says fails as that, even when
	 * its tar or compression broke first. */
	int extracted = archive_read_open(a, f, NULL, feed_read, NULL) == ARCHIVE_OK
				? img_extract(a, dirfd, err)
				: hk_fail(err, 0, "layer %s: %s", l->blob, archive_error_string(a));
	struct hk_err derr = {0};
	if (f->failed || drain(f, &derr) < 0) {
		if (extracted == 0)
			*err = derr;
		goto out;
	}
	img_sha256_hex(&f->h, got);
	if (extracted < 0 && strcmp(got, l->hex) == 0)
		goto out;
	if (strcmp(got, l->hex) != 0) {
		hk_fail(err, 0,
			"layer %s does not match its digest sha256:%s (its content is sha256:%s)",
			l->blob, l->hex, got);
		goto out;
	}
	rc = 0;
out:
	archive_read_free(a);
	free(f);
	return rc;
}

static int unpack_one(struct img_image *img, int cachefd, const struct img_layer *l,
		      struct hk_err *err)
{
	struct img_reader r;
	char tmp[IMG_HEX_LEN + 32];
	_cleanup_free_ char *final = xasprintf("sha256/%s", l->hex);

	snprintf(tmp, sizeof(tmp), "tmp/%s.%d", l->hex, (int)getpid());
	if (mkdirat(cachefd, tmp, 0755) < 0)
		return hk_fail(err, errno, "image cache: mkdir %s", tmp);
	_cleanup_close_ int dirfd =
		openat(cachefd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = dirfd < 0 ? hk_fail(err, errno, "image cache: %s", tmp) : 0;
	if (rc == 0)
		rc = img_source_open_blob(&img->src, l->blob, &r, err);
	if (rc == 0) {
		rc = unpack_stream(&r, dirfd, l, err);
		img_reader_close(&r);
	}
	if (rc == 0 && renameat(cachefd, tmp, cachefd, final) < 0)
		rc = hk_fail(err, errno, "image cache: rename %s to %s", tmp, final);
	if (rc < 0)
		hk_rmtree_at(cachefd, tmp, NULL);
	return rc;
}

/* The cache holds what layers hold: set-id programs, device nodes. Only
 * husk's user may reach it, and only husk's user may have made it (its
 * maker could have planted "verified" layers in sha256/). */
static int check_owner(int fd, const char *dir, struct hk_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hk_fail(err, errno, "image cache %s", dir);
	if (st.st_uid != geteuid())
		return hk_fail(err, 0,
			       "image cache %s: owned by uid %u, not by husk's user (uid %u): its "
			       "owner could plant layers there",
			       dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if ((st.st_mode & 0077) && fchmod(fd, 0700) < 0)
		return hk_fail(err, errno, "image cache %s: chmod 0700", dir);
	return 0;
}

static int open_cache(const char *dir, int *lockfd, struct hk_err *err)
{
	if (hk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "image cache %s", dir);
	if (check_owner(fd, dir, err) < 0) {
		close(fd);
		return -1;
	}
	if ((mkdirat(fd, "sha256", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(fd, "tmp", 0700) < 0 && errno != EEXIST)) {
		close(fd);
		return hk_fail(err, errno, "image cache %s", dir);
	}
	*lockfd = openat(fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lockfd < 0) {
		close(fd);
		return hk_fail(err, errno, "image cache %s/lock", dir);
	}
	return fd;
}

static bool cached(int cachefd, const char *hex)
{
	char name[IMG_HEX_LEN + 8];
	struct stat st;

	snprintf(name, sizeof(name), "sha256/%s", hex);
	return fstatat(cachefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int img_unpack(struct img_image *img, const char *cache_dir, struct hk_err *err)
{
	_cleanup_close_ int lockfd = -1;
	_cleanup_close_ int cachefd = open_cache(cache_dir, &lockfd, err);
	bool locked = false;

	if (cachefd < 0)
		return -1;
	img->layer_dirs = xcalloc(img->n_layers, sizeof(char *));
	for (size_t i = 0; i < img->n_layers; i++) {
		const struct img_layer *l = &img->layers[i];
		img->layer_dirs[i] = xasprintf("%s/sha256/%s", cache_dir, l->hex);
		if (cached(cachefd, l->hex))
			continue;
		/* One unpacker at a time; what a dead one left in tmp/ goes. */
		if (!locked) {
			if (flock(lockfd, LOCK_EX) < 0)
				return hk_fail(err, errno, "image cache: lock");
			locked = true;
			hk_rmtree_at(cachefd, "tmp", NULL);
			if (mkdirat(cachefd, "tmp", 0700) < 0 && errno != EEXIST)
				return hk_fail(err, errno, "image cache: tmp");
		}
		if (cached(cachefd, l->hex))
			continue;
		hk_debug("image: unpacking layer sha256:%s", l->hex);
		if (unpack_one(img, cachefd, l, err) < 0)
			return -1;
		img->unpacked++;
	}
	return 0;
}
