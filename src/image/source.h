/* Where an image's files come from: an OCI image layout directory, or a tar
 * archive (oci-archive, docker-archive) read with libarchive. Small files
 * (index, manifests, configs) are read whole; layers are streamed. */
#ifndef HUSK_IMAGE_SOURCE_H
#define HUSK_IMAGE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hk_err;
struct archive;

enum img_kind { IMG_LAYOUT, IMG_OCI_ARCHIVE, IMG_DOCKER_ARCHIVE };

struct img_blob {
	char *name;
	char *data;
	size_t len;
};

struct img_source {
	enum img_kind kind;
	char *path;
	int dirfd; /* IMG_LAYOUT: the layout directory; else -1 */
	/* archives: the small entries, read in one pass */
	struct img_blob *blobs;
	size_t n_blobs;
	size_t total;
};

/* Open path: 0 for an image, 1 for a directory that is no image layout (a
 * root filesystem), -1 (err) for anything else. */
int img_source_open(const char *path, struct img_source *src, struct hk_err *err);
void img_source_close(struct img_source *src);
const char *img_kind_name(enum img_kind kind);

/* A small file of the image (NUL-terminated, at most 4 MiB). */
char *img_source_read(struct img_source *src, const char *name, size_t *len, struct hk_err *err);

/* A blob opened for streaming. */
struct img_reader {
	int fd;              /* layout: the blob's file */
	struct archive *tar; /* archives: the outer archive, at the blob's entry */
};

int img_source_open_blob(struct img_source *src, const char *name, struct img_reader *r,
			 struct hk_err *err);
/* Read up to len bytes: > 0, 0 at the end, -1 (err) on failure. */
ssize_t img_reader_read(struct img_reader *r, void *buf, size_t len, struct hk_err *err);
void img_reader_close(struct img_reader *r);

/* "./a/b", "/a/b" and "a/./b/" -> "a/b" (in place: empty and "."
 * components go); -1 for a ".." component or nothing left. */
int img_clean_name(char *name);

#endif
