/* Image sources: a layout directory, opened beneath its fd without
 * following links out of it, or a tar read twice at most: once for the
 * small files, then once per layer that is not in the cache. */
#include "image/source.h"
#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/syscalls.h"
#include "common/xalloc.h"

#define SMALL_MAX (4u << 20)    /* an index, manifest or config */
#define SMALL_TOTAL (64u << 20) /* all of them in one archive */

const char *img_kind_name(enum img_kind kind)
{
	switch (kind) {
	case IMG_LAYOUT:
		return "OCI image layout";
	case IMG_OCI_ARCHIVE:
		return "oci-archive";
	case IMG_DOCKER_ARCHIVE:
		return "docker-archive";
	default:
		return "image";
	}
}

#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)

const char *img_file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a fifo";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "of an unknown type";
	}
}

static int reopen_fd(int pathfd, int flags)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	return open(self, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

int img_open_regular(int dirfd, const char *name, uint64_t resolve, struct stat *st,
		     struct hk_err *err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = resolve};
	_cleanup_close_ int path = hk_openat2(dirfd, name, &how);

	if (path < 0)
		return hk_fail(err, errno, "%s", name);
	if (fstat(path, st) < 0)
		return hk_fail(err, errno, "stat %s", name);
	if (!S_ISREG(st->st_mode))
		return hk_fail(err, 0, "%s: %s, not a regular file", name,
			       img_file_type(st->st_mode));
	int fd = reopen_fd(path, O_RDONLY);
	return fd < 0 ? hk_fail(err, errno, "open %s", name) : fd;
}

/* Each pass over an archive reads it from a file description of its own,
 * of the file img_source_open checked. archive_read_open_fd leaves the fd
 * open: it is the reader's (img_reader.fd) or closed here. */
static struct archive *tar_open(struct img_source *src, int *fd, struct hk_err *err)
{
	struct archive *a = archive_read_new();

	*fd = reopen_fd(src->tarfd, O_RDONLY);
	if (*fd < 0) {
		hk_fail(err, errno, "open %s", src->path);
		archive_read_free(a);
		return NULL;
	}
	if (img_archive_formats(a, err) < 0) {
		archive_read_free(a);
		close(*fd);
		*fd = -1;
		return NULL;
	}
	if (archive_read_open_fd(a, *fd, 1 << 16) != ARCHIVE_OK) {
		/* libarchive's "errno" of a file that is no archive is EILSEQ
		 * ("Invalid or incomplete multibyte or wide character"): not
		 * worth saying */
		int e = archive_errno(a);
		hk_fail(err, e > 0 && e != EILSEQ ? e : 0, "%s: %s", src->path,
			archive_error_string(a));
		archive_read_free(a);
		close(*fd);
		*fd = -1;
		return NULL;
	}
	return a;
}

static int keep_small(struct img_source *src, struct archive *a, struct archive_entry *e,
		      const char *name, struct hk_err *err)
{
	la_int64_t size = archive_entry_size(e);

	/* a sparse entry would read as its holes filled with zeros */
	if (archive_entry_filetype(e) != AE_IFREG || size < 0 || size > SMALL_MAX ||
	    archive_entry_sparse_count(e) > 0 || src->total + (size_t)size > SMALL_TOTAL)
		return 0;
	struct img_blob b = {.name = xstrdup(name), .data = xmalloc((size_t)size + 1)};
	la_ssize_t n = archive_read_data(a, b.data, (size_t)size);
	if (n != size) {
		free(b.name);
		free(b.data);
		return hk_fail(err, 0, "%s: entry %s: %s", src->path, name,
			       n < 0 ? archive_error_string(a) : "truncated");
	}
	b.data[size] = '\0';
	b.len = (size_t)size;
	src->blobs = xrealloc(src->blobs, (src->n_blobs + 1) * sizeof(*src->blobs));
	src->blobs[src->n_blobs++] = b;
	src->total += (size_t)size;
	return 0;
}

/* The first pass over an archive: every small file, and what kind it is. */
static int scan_archive(struct img_source *src, struct hk_err *err)
{
	_cleanup_close_ int fd = -1;
	struct archive *a = tar_open(src, &fd, err);
	struct archive_entry *e;
	bool index = false, manifest = false;
	int r;

	if (!a)
		return -1;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		_cleanup_free_ char *name = xstrdup(archive_entry_pathname(e) ?: "");
		if (img_clean_name(name) < 0)
			continue;
		index |= strcmp(name, "index.json") == 0;
		manifest |= strcmp(name, "manifest.json") == 0;
		if (keep_small(src, a, e, name, err) < 0) {
			archive_read_free(a);
			return -1;
		}
	}
	if (r != ARCHIVE_EOF) {
		hk_fail(err, 0, "%s: %s", src->path, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	archive_read_free(a);
	if (!index && !manifest)
		return hk_fail(err, 0,
			       "%s: a tar archive with neither index.json (oci-archive) nor "
			       "manifest.json (docker-archive)",
			       src->path);
	/* docker save since 25 writes both: the OCI index describes it fully. */
	src->kind = index ? IMG_OCI_ARCHIVE : IMG_DOCKER_ARCHIVE;
	return 0;
}

/* index.json and oci-layout, where they are, must be regular files: a
 * fifo there would block the launch, a device be read. 1 when neither is
 * there (a root filesystem). */
static int layout_files(struct img_source *src, struct hk_err *err)
{
	static const char *const names[] = {"index.json", "oci-layout"};
	bool found = false;

	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		if (fstatat(src->dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return hk_fail(err, errno, "%s/%s", src->path, names[i]);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			return hk_fail(err, 0, "%s: %s is %s, not a regular file", src->path,
				       names[i], img_file_type(st.st_mode));
		found = true;
	}
	return found ? 0 : 1;
}

/* Root's or the caller's, and so is a link at path: another user must not
 * choose what runs (a directory "alpine" planted where root launches
 * alpine, a link of theirs to root's own 0700 tree). */
static int check_owner(const char *path, const struct stat *st, struct hk_err *err)
{
	struct stat lst;
	uid_t me = geteuid();

	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && lst.st_uid != 0 && lst.st_uid != me)
		return hk_fail(err, 0,
			       "%s: a symbolic link of uid %u, neither root's nor husk's user's: "
			       "refused",
			       path, (unsigned)lst.st_uid);
	if (st->st_uid != 0 && st->st_uid != me)
		return hk_fail(err, 0,
			       "%s: owned by uid %u, neither root nor husk's user: refused (chown "
			       "it, or copy it)",
			       path, (unsigned)st->st_uid);
	return 0;
}

int img_source_open(const char *path, struct img_source *src, struct hk_err *err)
{
	struct stat st;

	*src = (struct img_source){.dirfd = -1, .tarfd = -1, .path = xstrdup(path)};
	/* O_PATH: nothing is opened before its type is known */
	_cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return hk_fail(err, errno, "%s", path);
	if (check_owner(path, &st, err) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		src->dirfd = TAKE_FD(fd);
		/* An image layout has index.json; anything else is a rootfs. */
		int r = layout_files(src, err);
		if (r == 0)
			src->kind = IMG_LAYOUT;
		return r;
	}
	if (!S_ISREG(st.st_mode))
		return hk_fail(err, 0, "%s: %s, neither a directory nor an image archive", path,
			       img_file_type(st.st_mode));
	src->tarfd = TAKE_FD(fd);
	struct hk_err aerr = {0};
	if (scan_archive(src, &aerr) < 0)
		return hk_fail(err, 0,
			       "%s: neither a directory nor an image (OCI layout, oci-archive, "
			       "docker-archive): %s",
			       path, aerr.msg);
	return 0;
}

void img_source_close(struct img_source *src)
{
	if (src->dirfd >= 0)
		close(src->dirfd);
	src->dirfd = -1;
	if (src->tarfd >= 0)
		close(src->tarfd);
	src->tarfd = -1;
	for (size_t i = 0; i < src->n_blobs; i++) {
		free(src->blobs[i].name);
		free(src->blobs[i].data);
	}
	free(src->blobs);
	src->blobs = NULL;
	src->n_blobs = 0;
	free(src->path);
	src->path = NULL;
}

static int size_matches(const char *path, const char *name, int64_t size, int64_t got,
			struct hk_err *err)
{
	if (size >= 0 && got != size)
		return hk_fail(err, 0, "%s: %s: %lld bytes, but its descriptor says %lld", path,
			       name, (long long)got, (long long)size);
	return 0;
}

char *img_source_read(struct img_source *src, const char *name, int64_t size, size_t *len,
		      struct hk_err *err)
{
	if (size > (int64_t)SMALL_MAX)
		return hk_fail(err, EFBIG, "%s: %s: %lld bytes, more than the %u MiB husk reads",
			       src->path, name, (long long)size, SMALL_MAX >> 20),
		       NULL;
	if (src->kind == IMG_LAYOUT) {
		struct stat st;
		_cleanup_close_ int fd = img_open_regular(src->dirfd, name, BENEATH, &st, err);
		if (fd < 0)
			return hk_err_prefix(err, "%s", src->path), NULL;
		if (size_matches(src->path, name, size, st.st_size, err) < 0)
			return NULL;
		char *data = hk_read_fd(fd, name, SMALL_MAX, len, err);
		if (data && size_matches(src->path, name, size, (int64_t)*len, err) < 0) {
			free(data);
			return NULL;
		}
		return data;
	}
	for (size_t i = 0; i < src->n_blobs; i++) {
		if (strcmp(src->blobs[i].name, name) != 0)
			continue;
		if (size_matches(src->path, name, size, (int64_t)src->blobs[i].len, err) < 0)
			return NULL;
		char *copy = xmalloc(src->blobs[i].len + 1);
		memcpy(copy, src->blobs[i].data, src->blobs[i].len + 1);
		*len = src->blobs[i].len;
		return copy;
	}
	hk_fail(err, ENOENT, "%s: %s", src->path, name);
	return NULL;
}

/* The blob's size as it will be read, against its descriptor's or max. */
static int blob_size_ok(struct img_source *src, const char *name, int64_t size, int64_t max,
			int64_t got, struct hk_err *err)
{
	if (size_matches(src->path, name, size, got, err) < 0)
		return -1;
	if (got > max)
		return hk_fail(err, EFBIG,
			       "%s: %s: %lld bytes, more than a layer may have here (%lld: see "
			       "the README's husk launch, Images)",
			       src->path, name, (long long)got, (long long)max);
	return 0;
}

static int open_layout_blob(struct img_source *src, const char *name, int64_t size, int64_t max,
			    struct img_reader *r, struct hk_err *err)
{
	struct stat st;

	r->fd = img_open_regular(src->dirfd, name, BENEATH, &st, err);
	if (r->fd < 0)
		return hk_err_prefix(err, "%s", src->path);
	r->left = st.st_size;
	return blob_size_ok(src, name, size, max, st.st_size, err);
}

static int open_archive_blob(struct img_source *src, const char *name, int64_t size, int64_t max,
			     struct img_reader *r, struct hk_err *err)
{
	struct archive_entry *e;
	int rc;

	r->tar = tar_open(src, &r->fd, err);
	if (!r->tar)
		return -1;
	while ((rc = archive_read_next_header(r->tar, &e)) == ARCHIVE_OK) {
		_cleanup_free_ char *n = xstrdup(archive_entry_pathname(e) ?: "");
		if (img_clean_name(n) < 0 || strcmp(n, name) != 0)
			continue;
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (archive_entry_sparse_count(e) > 0)
			return hk_fail(err, 0,
				       "%s: %s: a sparse entry (no image tool writes one; its "
				       "holes would read as zeros)",
				       src->path, name);
		r->left = archive_entry_size(e);
		return blob_size_ok(src, name, size, max, r->left, err);
	}
	return hk_fail(err, rc == ARCHIVE_EOF ? ENOENT : 0, "%s: %s%s%s", src->path, name,
		       rc == ARCHIVE_EOF ? "" : ": ",
		       rc == ARCHIVE_EOF ? "" : archive_error_string(r->tar));
}

int img_source_open_blob(struct img_source *src, const char *name, int64_t size, int64_t max,
			 struct img_reader *r, struct hk_err *err)
{
	*r = (struct img_reader){.fd = -1, .name = name};
	int rc = src->open_blob            ? src->open_blob(src, name, size, max, r, err)
		 : src->kind == IMG_LAYOUT ? open_layout_blob(src, name, size, max, r, err)
					   : open_archive_blob(src, name, size, max, r, err);
	if (rc < 0)
		img_reader_close(r);
	return rc;
}

ssize_t img_reader_read(struct img_reader *r, void *buf, size_t len, struct hk_err *err)
{
	ssize_t n;

	if (r->left <= 0)
		return 0;
	if ((int64_t)len > r->left)
		len = (size_t)r->left;
	if (r->tar) {
		la_ssize_t got = archive_read_data(r->tar, buf, len);
		if (got < 0)
			return hk_fail(err, 0, "read %s: %s", r->name,
				       archive_error_string(r->tar));
		n = got;
	} else {
		do
			n = read(r->fd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return hk_fail(err, errno, "read %s", r->name);
	}
	if (n == 0)
		return hk_fail(err, 0, "read %s: %lld bytes short of its size", r->name,
			       (long long)r->left);
	r->left -= n;
	return n;
}

void img_reader_close(struct img_reader *r)
{
	if (r->tar)
		archive_read_free(r->tar);
	r->tar = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}
