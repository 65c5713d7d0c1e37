/* Extracting one layer tar into a directory, as an overlayfs lower layer:
 * OCI whiteouts become overlayfs whiteouts (0:0 character devices) and
 * opaque directories get trusted.overlay.opaque. The tar is hostile: no
 * entry lands outside the directory, no link is followed while extracting,
 * and a hardlink may only point at an entry of the same layer. Also what
 * every archive reader of image/ shares: entry names cleaned, the formats
 * and filters taken. */
#ifndef HUSK_IMAGE_UNPACK_H
#define HUSK_IMAGE_UNPACK_H

#include <stdbool.h>
#include <stdint.h>

struct archive;
struct hk_err;

enum img_whiteout { IMG_WH_NONE, IMG_WH_FILE, IMG_WH_OPAQUE, IMG_WH_META, IMG_WH_BAD };

/* What an entry's last component means: ".wh..wh..opq" makes its directory
 * opaque, ".wh.NAME" deletes NAME (*target), other ".wh..wh." names are
 * aufs metadata (ignored, as containerd does), ".wh.", ".wh.." and
 * ".wh..." name no entry (the layer is refused); anything else is a file. */
enum img_whiteout img_whiteout_of(const char *base, const char **target);

/* "./a/b", "/a/b" and "a/./b/" -> "a/b" (in place: empty and "."
 * components go); -1 for a ".." component or nothing left. */
int img_clean_name(char *name);

/* What a layer may take: max bytes of tar stream (what its compression
 * unpacks to: file data, which is all a layer writes, and headers) plus
 * a block for every entry and every directory its paths make, and
 * max_entries inodes (entries and directories made; -1: no limit); the
 * cache's filesystem re-checked every 64 MiB of that to keep reserve
 * bytes free (other unpackers write there too); and the tar stream alone
 * at most stream_max bytes (a decompression bomb's bound, image.h's
 * max_ratio). exceeded: set when the layer went past any of it. */
struct img_budget {
	int64_t max, max_entries, reserve;
	/* a decompression bomb's bound: the tar stream alone may be at most
	 * stream_max bytes (-1: none), ratio times the blob's blob bytes */
	int64_t stream_max, ratio, blob;
	int cachefd;
	int64_t entries, next_check;
	int64_t charged; /* IMG_BLOCK for each entry and each directory made */
	struct archive *a;
	bool exceeded;
};

/* What an entry or a directory costs at least, beyond the bytes of the
 * stream: a block of the filesystem. */
#define IMG_BLOCK 4096

/* What a reader of layers and image archives takes: tar, plain or
 * compressed with gzip or zstd (OCI's layer media types; docker's are
 * gzip), decoded in-process. Not libarchive's other filters: some run an
 * external program found on PATH (lrzip, grzip, lzop: a hostile
 * registry's bytes fed, as root, to whatever is installed), and xz may
 * take a 1 GiB dictionary per layer. -1 (err) when libarchive has no
 * built-in decoder for one of them (it would run a program). */
int img_archive_formats(struct archive *a, struct hk_err *err);

/* Extract every entry of a (opened) tar archive into rootfd, within b. */
int img_extract(struct archive *a, int rootfd, struct img_budget *b, struct hk_err *err);

#endif
