/* Where an image's files come from: an OCI image layout directory, or a tar
 * archive (oci-archive, docker-archive) read with libarchive. Small files
 * (index, manifests, configs) are read whole; layers are streamed. */
#ifndef HUSK_IMAGE_SOURCE_H
#define HUSK_IMAGE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct hk_err;
struct archive;
struct img_reader;

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
	int tarfd; /* archives: the archive, O_PATH (each pass reopens it); else -1 */
	/* archives: the small entries, read in one pass */
	struct img_blob *blobs;
	size_t n_blobs;
	size_t total;
	/* when set, blobs are opened by this instead (a registry's: the
	 * layout holds the manifest and config, the layers are downloaded) */
	int (*open_blob)(struct img_source *src, const char *name, int64_t size, int64_t max,
			 struct img_reader *r, struct hk_err *err);
	void *opaque;
};

/* Open path: 0 for an image, 1 for a directory that is no image layout (a
 * root filesystem), -1 (err) for anything else. */
int img_source_open(const char *path, struct img_source *src, struct hk_err *err);
void img_source_close(struct img_source *src);
const char *img_kind_name(enum img_kind kind);

/* A small file of the image (NUL-terminated, at most 4 MiB). size: what
 * its descriptor says, -1 when it has none (index.json, docker-archive's
 * manifest.json and config); a file of another size is refused. */
char *img_source_read(struct img_source *src, const char *name, int64_t size, size_t *len,
		      struct hk_err *err);

/* A blob opened for streaming, never more than its size. */
struct img_reader {
	int fd;              /* layout: the blob's file */
	struct archive *tar; /* archives: the outer archive, at the blob's entry */
	int64_t left;        /* bytes still to come */
	const char *name;
};

/* Open the blob name: a regular file (never a fifo or a device, which
 * could block or never end), not sparse, of exactly size bytes (its
 * descriptor's), or, with size -1 (docker-archive layers), of at most
 * max bytes. */
int img_source_open_blob(struct img_source *src, const char *name, int64_t size, int64_t max,
			 struct img_reader *r, struct hk_err *err);
/* Read up to len bytes: > 0, 0 at the end, -1 (err) on failure (a blob
 * shorter than its size too). */
ssize_t img_reader_read(struct img_reader *r, void *buf, size_t len, struct hk_err *err);
void img_reader_close(struct img_reader *r);

/* Open name in or beneath dirfd (resolve: openat2's RESOLVE_* flags) for
 * reading, only if it is a regular file: looked up with O_PATH and
 * checked before anything opens it (a device's open has effects, a fifo's
 * blocks), then reopened through /proc/self/fd, O_NONBLOCK | O_NOCTTY.
 * Returns the fd, with its stat in *st; errnum ENOENT when missing. */
int img_open_regular(int dirfd, const char *name, uint64_t resolve, struct stat *st,
		     struct hk_err *err);
/* "a fifo", "a character device"...: what a file that is not regular is. */
const char *img_file_type(mode_t mode);

#endif
