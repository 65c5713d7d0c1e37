/* Image sources: a layout directory, opened beneath its fd without
 * following links out of it, or a tar read twice at most: once for the
 * small files, then once per layer that is not in the cache. */
#include "image/source.h"

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

/* Leading "/" and "./" go, as do empty and "." components anywhere (as
 * path.Clean does for containerd): what is left names an entry by plain
 * components, none of them "." or "..", so no later step can be handed
 * "." or ".." as a name to act on. */
int img_clean_name(char *name)
{
	char *out = name;

	for (const char *c = name; *c;) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return -1;
		if (len && !(len == 1 && c[0] == '.')) {
			if (out != name)
				*out++ = '/';
			memmove(out, c, len);
			out += len;
		}
		c = slash ? slash + 1 : c + len;
	}
	*out = '\0';
	return out == name ? -1 : 0;
}

static int open_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	return hk_openat2(dirfd, name, &how);
}

static struct archive *tar_open(const char *path, struct hk_err *err)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		hk_fail(err, archive_errno(a) > 0 ? archive_errno(a) : 0, "%s: %s", path,
			archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static int keep_small(struct img_source *src, struct archive *a, struct archive_entry *e,
		      const char *name, struct hk_err *err)
{
	la_int64_t size = archive_entry_size(e);

	if (archive_entry_filetype(e) != AE_IFREG || size < 0 || size > SMALL_MAX ||
	    src->total + (size_t)size > SMALL_TOTAL)
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
	struct archive *a = tar_open(src->path, err);
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

int img_source_open(const char *path, struct img_source *src, struct hk_err *err)
{
	struct stat st;

	*src = (struct img_source){.dirfd = -1, .path = xstrdup(path)};
	if (stat(path, &st) < 0)
		return hk_fail(err, errno, "%s", path);
	if (S_ISDIR(st.st_mode)) {
		src->dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (src->dirfd < 0)
			return hk_fail(err, errno, "open %s", path);
		/* An image layout has index.json; anything else is a rootfs. */
		if (faccessat(src->dirfd, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
		    faccessat(src->dirfd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			return 1;
		src->kind = IMG_LAYOUT;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return hk_fail(err, 0, "%s: neither a directory nor an image archive", path);
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

char *img_source_read(struct img_source *src, const char *name, size_t *len, struct hk_err *err)
{
	if (src->kind == IMG_LAYOUT) {
		_cleanup_close_ int fd = open_beneath(src->dirfd, name, O_RDONLY);
		if (fd < 0)
			return hk_fail(err, errno, "%s: %s", src->path, name), NULL;
		return hk_read_fd(fd, name, SMALL_MAX, len, err);
	}
	for (size_t i = 0; i < src->n_blobs; i++) {
		if (strcmp(src->blobs[i].name, name) != 0)
			continue;
		char *copy = xmalloc(src->blobs[i].len + 1);
		memcpy(copy, src->blobs[i].data, src->blobs[i].len + 1);
		*len = src->blobs[i].len;
		return copy;
	}
	hk_fail(err, ENOENT, "%s: %s", src->path, name);
	return NULL;
}

int img_source_open_blob(struct img_source *src, const char *name, struct img_reader *r,
			 struct hk_err *err)
{
	struct archive_entry *e;
	int rc;

	*r = (struct img_reader){.fd = -1};
	if (src->kind == IMG_LAYOUT) {
		r->fd = open_beneath(src->dirfd, name, O_RDONLY);
		return r->fd < 0 ? hk_fail(err, errno, "%s: %s", src->path, name) : 0;
	}
	r->tar = tar_open(src->path, err);
	if (!r->tar)
		return -1;
	while ((rc = archive_read_next_header(r->tar, &e)) == ARCHIVE_OK) {
		_cleanup_free_ char *n = xstrdup(archive_entry_pathname(e) ?: "");
		if (img_clean_name(n) == 0 && strcmp(n, name) == 0 &&
		    archive_entry_filetype(e) == AE_IFREG)
			return 0;
	}
	hk_fail(err, rc == ARCHIVE_EOF ? ENOENT : 0, "%s: %s%s%s", src->path, name,
		rc == ARCHIVE_EOF ? "" : ": ",
		rc == ARCHIVE_EOF ? "" : archive_error_string(r->tar));
	img_reader_close(r);
	return -1;
}

ssize_t img_reader_read(struct img_reader *r, void *buf, size_t len, struct hk_err *err)
{
	if (r->fd >= 0) {
		ssize_t n;
		do
			n = read(r->fd, buf, len);
		while (n < 0 && errno == EINTR);
		return n < 0 ? hk_fail(err, errno, "read blob") : n;
	}
	la_ssize_t n = archive_read_data(r->tar, buf, len);
	return n < 0 ? hk_fail(err, 0, "read blob: %s", archive_error_string(r->tar)) : n;
}

void img_reader_close(struct img_reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->tar)
		archive_read_free(r->tar);
	r->tar = NULL;
}
