/* The layer cache: CACHE/sha256/<hex>/ is the layer with that digest,
 * unpacked. A layer is unpacked into CACHE/tmp/<hex>.<pid> (or, by one that
 * gave up waiting for another unpacker, tmp/solo.<pid>.<n>.<hex>), checked against
 * its digest as it streams, and renamed into place only when whole and
 * right, so a present directory is always a complete, verified layer that
 * any number of containers may share (as overlayfs lower layers, which are
 * never written).
 *
 * One unpacker per layer, not one for the whole cache: each layer has a
 * byte of CACHE/lock of its own (an OFD lock at the offset its digest's
 * first 60 bits give), so a launch waits only for a launch unpacking the
 * same layer, never for another image's, and for that one only as long as
 * img_patience() (more for a big layer) allows: then it unpacks the layer
 * itself, and whichever copy is whole first is renamed into place (the
 * other is dropped). And an unpack is bounded: a blob
 * is read to its descriptor's size and no further, a layer's tar stream
 * (what its compression unpacks to) may not exceed LAYER_MAX nor what the
 * cache's filesystem has free above a reserve of 5% of its size (4 GiB at
 * most), and holes of sparse files stay holes (unpack.c). */
#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/rmtree.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "image/unpack.h"

#define LAYER_MAX (64LL << 30)
#define RESERVE_MAX (4LL << 30)

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

/* The rest of the blob, past the tar's end, counts for its digest too
 * (the reader stops at the blob's size). */
static int drain(struct feed *f, struct hk_err *err)
{
	ssize_t n;

	while ((n = img_reader_read(f->r, f->buf, sizeof(f->buf), err)) > 0)
		img_sha256_update(&f->h, f->buf, (size_t)n);
	return n < 0 ? -1 : 0;
}

static int unpack_stream(struct img_reader *r, int dirfd, const struct img_layer *l,
			 struct img_budget *b, struct hk_err *err)
{
	struct feed *f = xzalloc(sizeof(*f));
	struct archive *a = archive_read_new();
	char got[IMG_HEX_LEN + 1];
	int rc = -1;

	f->r = r;
	f->err = err;
	img_sha256_init(&f->h);
	/* A blob that is not what its digest says fails as that, even when
	 * its tar or compression broke first (but not when it was too big:
	 * the rest of it is not read). */
	int extracted = img_archive_formats(a, err) < 0 ? -1
			: archive_read_open(a, f, NULL, feed_read, NULL) == ARCHIVE_OK
				? img_extract(a, dirfd, b, err)
				: hk_fail(err, 0, "layer %s: %s", l->blob, archive_error_string(a));
	if (extracted < 0 && b->exceeded)
		goto out;
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

/* What one layer may unpack to: LAYER_MAX, and no more than the cache's
 * filesystem has free above its reserve (5% of its size, RESERVE_MAX at
 * most, and as many of its inodes). */
static int budget_start(int cachefd, struct img_budget *b, struct hk_err *err)
{
	struct statvfs vfs;

	if (fstatvfs(cachefd, &vfs) < 0)
		return hk_fail(err, errno, "image cache: statvfs");
	*b = (struct img_budget){.cachefd = cachefd, .stream_max = -1};
	b->reserve = (int64_t)(vfs.f_blocks / 20) * (int64_t)vfs.f_frsize;
	if (b->reserve > RESERVE_MAX)
		b->reserve = RESERVE_MAX;
	b->max = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize - b->reserve;
	if (b->max > LAYER_MAX)
		b->max = LAYER_MAX;
	int64_t inodes = (int64_t)(vfs.f_files / 20);
	b->max_entries = vfs.f_files
				 ? (int64_t)vfs.f_favail - (inodes < (1 << 20) ? inodes : (1 << 20))
				 : -1;
	if (b->max <= 0 || (vfs.f_files && b->max_entries <= 0))
		return hk_fail(err, ENOSPC,
			       "image cache: its filesystem has no room above the reserve husk "
			       "keeps free (5%% of it, 4 GiB at most)");
	return 0;
}

/* A decompression bomb's bound: the tar stream at most ratio times the
 * blob's size (its descriptor's, or, without one, the archive entry's),
 * IMG_RATIO_FLOOR at least; none with ratio 0. */
static void bound_ratio(struct img_budget *b, int64_t ratio, int64_t blob)
{
	if (ratio <= 0 || blob < 0)
		return;
	b->ratio = ratio;
	b->blob = blob;
	b->stream_max = ratio * blob > IMG_RATIO_FLOOR ? ratio * blob : IMG_RATIO_FLOOR;
}

static bool cached(int cachefd, const char *hex);

/* tmp, made and opened: under the layer's lock (tmp/<hex>.<pid>), or, for
 * a solo unpacker, flock'ed for as long as it unpacks (a lock holder's
 * clear_tmp removes the solo directories nobody holds: theirs died). */
static int make_unpack_dir(int cachefd, const char *tmp, bool solo, struct hk_err *err)
{
	struct stat st;

	if (mkdirat(cachefd, tmp, 0755) < 0)
		return hk_fail(err, errno, "image cache: mkdir %s", tmp);
	_cleanup_close_ int fd =
		openat(cachefd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "image cache: %s", tmp);
	if (solo && flock(fd, LOCK_EX | LOCK_NB) < 0)
		return hk_fail(err, errno, "image cache: flock %s", tmp);
	if (fstat(fd, &st) < 0 || st.st_nlink == 0)
		return hk_fail(err, EAGAIN, "image cache: %s removed as it was made", tmp);
	return TAKE_FD(fd);
}

/* tmp becomes sha256/<hex>, unless another unpacker's copy got there
 * first (both are checked against the digest: either will do). */
static int commit_layer(int cachefd, const char *tmp, const struct img_layer *l, struct hk_err *err)
{
	_cleanup_free_ char *final = xasprintf("sha256/%s", l->hex);

	if (renameat2(cachefd, tmp, cachefd, final, RENAME_NOREPLACE) == 0)
		return 0;
	if ((errno == EEXIST || errno == ENOTEMPTY) && cached(cachefd, l->hex)) {
		hk_debug("image: layer sha256:%s was unpacked by another meanwhile", l->hex);
		hk_rmtree_at(cachefd, tmp, NULL);
		return 0;
	}
	return hk_fail(err, errno, "image cache: rename %s to %s", tmp, final);
}

static int unpack_one(struct img_image *img, int cachefd, const struct img_layer *l, bool solo,
		      struct hk_err *err)
{
	struct img_reader r;
	struct img_budget b;
	char tmp[IMG_HEX_LEN + 48];

	if (budget_start(cachefd, &b, err) < 0)
		return -1;
	static unsigned solos; /* threads of one pull may need one layer twice */
	if (solo)
		snprintf(tmp, sizeof(tmp), "tmp/solo.%d.%u.%s", (int)getpid(),
			 __atomic_fetch_add(&solos, 1, __ATOMIC_RELAXED), l->hex);
	else
		snprintf(tmp, sizeof(tmp), "tmp/%s.%d", l->hex, (int)getpid());
	_cleanup_close_ int dirfd = make_unpack_dir(cachefd, tmp, solo, err);
	int rc = dirfd < 0 ? -1 : 0;
	/* the blob itself is read whole for its digest: no bigger either */
	if (rc == 0)
		rc = img_source_open_blob(&img->src, l->blob, l->size, b.max, &r, err);
	if (rc == 0)
		bound_ratio(&b, img->max_ratio, r.left);
	if (rc == 0) {
		rc = unpack_stream(&r, dirfd, l, &b, err);
		img_reader_close(&r);
	}
	if (rc == 0)
		rc = commit_layer(cachefd, tmp, l, err);
	if (rc < 0)
		hk_rmtree_at(cachefd, tmp, NULL);
	return rc;
}

/* The cache holds what layers hold: set-id programs, device nodes. Only
 * husk's user may reach it, and only husk's user may have made it, or
 * changed what leads to it (its maker could plant "verified" layers in
 * sha256/, the owner of a link or directory on the way point the path
 * at a tree of theirs): the path is walked as --root is (trusted.h). */
int img_cache_open(const char *dir, int *lockfd, struct hk_err *err)
{
	struct stat st;
	_cleanup_close_ int fd = hk_open_trusted_dir("--cache-dir", dir, true, 0700, err);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return hk_fail(err, errno, "image cache %s", dir);
	if ((st.st_mode & 0077) && fchmod(fd, 0700) < 0)
		return hk_fail(err, errno, "image cache %s: chmod 0700", dir);
	if ((mkdirat(fd, "sha256", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(fd, "tmp", 0700) < 0 && errno != EEXIST))
		return hk_fail(err, errno, "image cache %s", dir);
	*lockfd = openat(fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*lockfd < 0)
		return hk_fail(err, errno, "image cache %s/lock", dir);
	return TAKE_FD(fd);
}

static bool cached(int cachefd, const char *hex)
{
	char name[IMG_HEX_LEN + 8];
	struct stat st;

	snprintf(name, sizeof(name), "sha256/%s", hex);
	return fstatat(cachefd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* The layer's byte of CACHE/lock (at the offset its digest's first 60
 * bits give: no image can be made to share a byte with another's layer):
 * F_WRLCK to take it, F_UNLCK to give it back; wait or fail (EAGAIN) when
 * another holds it. */
static int layer_lock(int lockfd, const char *hex, short type, bool wait)
{
	char first[16];

	memcpy(first, hex, 15);
	first[15] = '\0';
	struct flock fl = {.l_type = type,
			   .l_whence = SEEK_SET,
			   .l_start = (off_t)strtoull(first, NULL, 16),
			   .l_len = 1};
	int r;
	while ((r = fcntl(lockfd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl)) < 0 && errno == EINTR)
		;
	return r;
}

/* A solo unpacker's (or an rmi's, or a prune's) directory that nobody flock's any
 * more: it died. */
static void clear_unlocked(int tmpfd, const char *name)
{
	_cleanup_close_ int fd =
		openat(tmpfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
		hk_debug("image: removing tmp/%s, left by an unpacker that died", name);
		hk_rmtree_at(tmpfd, name, NULL);
	}
}

/* What a dead unpacker left in tmp/: an entry of a layer nobody holds the
 * lock of (tried on a file description of its own: OFD locks of one
 * description never conflict with each other), or a solo one's. */
static void clear_tmp(int cachefd, const char *mine)
{
	_cleanup_close_ int probe = openat(cachefd, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	int fd = openat(cachefd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (probe >= 0 && (e = readdir(d))) {
		if (strncmp(e->d_name, "solo.", 5) == 0 || strncmp(e->d_name, "rmi.", 4) == 0 ||
		    strncmp(e->d_name, "prune.", 6) == 0) {
			clear_unlocked(dirfd(d), e->d_name);
			continue;
		}
		const char *dot = strchr(e->d_name, '.');
		if (!dot || dot - e->d_name != IMG_HEX_LEN)
			continue;
		bool own = mine && strncmp(e->d_name, mine, IMG_HEX_LEN) == 0;
		if (!own && layer_lock(probe, e->d_name, F_WRLCK, false) < 0)
			continue;
		hk_debug("image: removing tmp/%s, left by an unpacker that died", e->d_name);
		hk_rmtree_at(dirfd(d), e->d_name, NULL);
		if (!own)
			layer_lock(probe, e->d_name, F_UNLCK, false);
	}
	closedir(d);
}

void img_cache_sweep(int cachefd)
{
	clear_tmp(cachefd, NULL);
}

static int open_layer(struct img_image *img, int cachefd, size_t i, struct hk_err *err)
{
	_cleanup_free_ char *name = xasprintf("sha256/%s", img->layers[i].hex);

	img->layer_fds[i] = openat(cachefd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return img->layer_fds[i] < 0 ? hk_fail(err, errno, "image cache: %s", name) : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int img_patience(struct hk_err *err)
{
	const char *s = getenv("HUSK_PULL_TIMEOUT");
	char *end;

	if (!s)
		return 120;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 86400)
		return hk_fail(err, 0, "HUSK_PULL_TIMEOUT=%s: expected seconds, 1 to 86400", s);
	return (int)v;
}

/* The layer's lock, waited for as long as the patience allows (and as a
 * download of the layer's size takes at 256 KiB/s): 1 taken, 0 the layer
 * got cached meanwhile, 2 given up (the other unpacker is too slow), or
 * -1 (err). */
static int wait_lock(struct img_image *img, int cachefd, int lockfd, const struct img_layer *l,
		     struct hk_err *err)
{
	if (layer_lock(lockfd, l->hex, F_WRLCK, false) == 0)
		return 1;
	if (errno != EAGAIN && errno != EACCES)
		return hk_fail(err, errno, "image cache: lock layer sha256:%s", l->hex);
	int64_t secs = img_patience(err);
	if (secs < 0)
		return -1;
	if (l->size / (256 * 1024) > secs)
		secs = l->size / (256 * 1024);
	hk_debug("image: layer sha256:%s is being unpacked by another; waiting %llds at most",
		 l->hex, (long long)secs);
	if (img->on_wait)
		img->on_wait(img->wait_data, l->hex, (int)secs);
	for (int64_t until = now_ms() + secs * 1000; now_ms() < until;) {
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
		if (cached(cachefd, l->hex))
			return 0;
		if (layer_lock(lockfd, l->hex, F_WRLCK, false) == 0)
			return 1;
		if (errno != EAGAIN && errno != EACCES)
			return hk_fail(err, errno, "image cache: lock layer sha256:%s", l->hex);
	}
	hk_debug("image: gave up waiting for layer sha256:%s: unpacking it as well", l->hex);
	return 2;
}

static int ensure_layer(struct img_image *img, int cachefd, int lockfd, size_t i,
			struct hk_err *err)
{
	const struct img_layer *l = &img->layers[i];

	if (cached(cachefd, l->hex))
		return open_layer(img, cachefd, i, err);
	int locked = wait_lock(img, cachefd, lockfd, l, err);
	if (locked < 0)
		return -1;
	int r = 0;
	if (locked && !cached(cachefd, l->hex)) {
		if (locked == 1)
			clear_tmp(cachefd, l->hex);
		hk_debug("image: unpacking layer sha256:%s", l->hex);
		r = unpack_one(img, cachefd, l, locked == 2, err);
		img->unpacked += r == 0;
	}
	if (locked == 1)
		layer_lock(lockfd, l->hex, F_UNLCK, false);
	return r < 0 ? -1 : open_layer(img, cachefd, i, err);
}

int img_cache_flock(int lockfd, int op, const char *dir, struct hk_err *err)
{
	if (flock(lockfd, op | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return hk_fail(err, errno, "image cache %s: flock", dir);
	int secs = img_patience(err);
	if (secs < 0)
		return -1;
	hk_debug("image: cache %s is held %s, waiting up to %d s", dir,
		 op == LOCK_EX ? "by a pull or launch" : "by a prune", secs);
	for (int64_t end = now_ms() + (int64_t)secs * 1000; now_ms() < end;) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (flock(lockfd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return hk_fail(err, errno, "image cache %s: flock", dir);
	}
	return hk_fail(err, EBUSY, "image cache %s: %s held it for %d s", dir,
		       op == LOCK_EX ? "pulls or launches" : "a prune", secs);
}

int img_cache_hold(const char *cache_dir, struct hk_err *err)
{
	int lockfd = -1;
	_cleanup_close_ int cachefd = img_cache_open(cache_dir, &lockfd, err);

	if (cachefd < 0)
		return -1;
	if (img_cache_flock(lockfd, LOCK_SH, cache_dir, err) < 0) {
		close(lockfd);
		return -1;
	}
	return lockfd;
}

int img_unpack(struct img_image *img, const char *cache_dir, struct hk_err *err)
{
	_cleanup_close_ int lockfd = -1;
	_cleanup_close_ int cachefd = img_cache_open(cache_dir, &lockfd, err);

	if (cachefd < 0 || img_patience(err) < 0)
		return -1;
	img->layer_dirs = xcalloc(img->n_layers, sizeof(char *));
	img->layer_fds = xcalloc(img->n_layers, sizeof(int));
	for (size_t i = 0; i < img->n_layers; i++)
		img->layer_fds[i] = -1;
	for (size_t i = 0; i < img->n_layers; i++) {
		img->layer_dirs[i] = xasprintf("%s/sha256/%s", cache_dir, img->layers[i].hex);
		if (ensure_layer(img, cachefd, lockfd, i, err) < 0)
			return -1;
	}
	return 0;
}
