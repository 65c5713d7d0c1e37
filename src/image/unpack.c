/* One layer tar -> one directory (see unpack.h). Parents are resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a layer that writes
 * through a symlink (its own or not) is refused, not followed. */
#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/rmtree.h"
#include "common/rootless.h"
#include "common/syscalls.h"
#include "common/xalloc.h"

#define WH_PREFIX ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

enum img_whiteout img_whiteout_of(const char *base, const char **target)
{
	if (strcmp(base, WH_OPAQUE) == 0)
		return IMG_WH_OPAQUE;
	if (strncmp(base, WH_META, strlen(WH_META)) == 0)
		return IMG_WH_META;
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0)
		return IMG_WH_NONE;
	*target = base + strlen(WH_PREFIX);
	if (!**target || strcmp(*target, ".") == 0 || strcmp(*target, "..") == 0 ||
	    strchr(*target, '/'))
		return IMG_WH_BAD;
	return IMG_WH_FILE;
}

static int open_dir(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	return hk_openat2(rootfd, path, &how);
}

static int budget_check(struct img_budget *b, int64_t more, struct hk_err *err);

/* The directory path (relative, clean) inside rootfd, made when missing:
 * each directory made counts against the budget as an entry and a block
 * (a path of 2,000 components in one tar entry makes 2,000 of them). */
static int parent_fd(int rootfd, char *path, struct img_budget *b, struct hk_err *err)
{
	if (!*path)
		return fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	int fd = open_dir(rootfd, path);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : hk_fail(err, errno, "layer entry %s", path);
	/* Made one component at a time, each beneath the last. */
	for (char *c = path;; c++) {
		if (*c != '/' && *c)
			continue;
		char saved = *c;
		*c = '\0';
		if (mkdirat(rootfd, path, 0755) == 0) {
			b->entries++;
			b->charged += IMG_BLOCK;
			if (budget_check(b, 0, err) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return hk_fail(err, errno, "layer entry %s", path);
		}
		fd = saved ? -1 : open_dir(rootfd, path);
		*c = saved;
		if (!saved)
			return fd >= 0 ? fd : hk_fail(err, errno, "layer entry %s", path);
	}
}

static int set_opaque(int rootfd, char *dir, struct img_budget *b, struct hk_err *err)
{
	_cleanup_close_ int fd = parent_fd(rootfd, dir, b, err);
	if (fd < 0)
		return -1;
	_cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", fd);
	/* an ordinary user's overlay reads user.overlay.* (launch/overlay.c) */
	const char *name = hk_rootless() ? "user.overlay.opaque" : "trusted.overlay.opaque";
	if (setxattr(self, name, "y", 1, 0) < 0)
		return hk_fail(err, errno, "layer: make %s opaque", *dir ? dir : "/");
	return 0;
}

/* A later entry of the same name replaces an earlier one; a directory
 * stays (its contents are merged), unless a non-directory replaces it. */
static int clear_name(int dirfd, const char *base, bool dir, struct hk_err *err)
{
	struct stat st;

	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "layer entry %s", base);
	if (S_ISDIR(st.st_mode))
		return dir ? 1 : hk_rmtree_at(dirfd, base, err);
	return unlinkat(dirfd, base, 0) < 0 ? hk_fail(err, errno, "layer entry %s", base) : 0;
}

static int make_hardlink(int rootfd, int dirfd, const char *base, const char *target,
			 struct img_budget *b, struct hk_err *err)
{
	_cleanup_free_ char *t = xstrdup(target);
	if (img_clean_name(t) < 0)
		return hk_fail(err, 0, "layer: hardlink %s -> %s points outside the layer", base,
			       target);
	char *slash = strrchr(t, '/');
	char *tbase = slash ? slash + 1 : t;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int tdir = parent_fd(rootfd, slash ? t : (char[]){""}, b, err);
	if (tdir < 0)
		return -1;
	if (linkat(tdir, tbase, dirfd, base, 0) < 0)
		return hk_fail(err, errno, "layer: hardlink %s -> %s", base, target);
	return 0;
}

/* The stream so far and what was charged (unpack.h) against the budget,
 * and now and then the cache's filesystem against its reserve. */
static int budget_check(struct img_budget *b, int64_t more, struct hk_err *err)
{
	int64_t used = archive_filter_bytes(b->a, 0) + b->charged;
	struct statvfs vfs;

	if (b->max_entries >= 0 && b->entries > b->max_entries) {
		b->exceeded = true;
		return hk_fail(err, EFBIG,
			       "layer: more than the %lld entries the cache's filesystem has "
			       "inodes for above the reserve husk keeps",
			       (long long)b->max_entries);
	}
	/* both bounds passed at once (an entry's size, told before its data):
	 * the smaller one says why */
	bool bomb = b->stream_max >= 0 && archive_filter_bytes(b->a, 0) > b->stream_max - more;
	if (bomb && used > b->max - more && b->max < b->stream_max)
		bomb = false;
	if (bomb) {
		b->exceeded = true;
		return hk_fail(err, 0,
			       "layer: a decompression bomb? its %lld bytes unpack to more than "
			       "%lld (%lld times as many, 64 MiB at least: --max-layer-ratio, 0 "
			       "for no bound)",
			       (long long)b->blob, (long long)b->stream_max, (long long)b->ratio);
	}
	if (used > b->max - more) {
		b->exceeded = true;
		return hk_fail(err, EFBIG,
			       "layer: unpacks to more than the %lld bytes a layer may take here: "
			       "at most 64 GiB, and no more than the cache's filesystem has free "
			       "above the reserve husk keeps (5%% of it, 4 GiB at most)",
			       (long long)b->max);
	}
	if (used < b->next_check)
		return 0;
	b->next_check = used + (64 << 20);
	if (fstatvfs(b->cachefd, &vfs) == 0 &&
	    (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize < b->reserve) {
		b->exceeded = true;
		return hk_fail(err, ENOSPC,
			       "layer: the cache's filesystem is down to the reserve husk keeps "
			       "free (5%% of it, 4 GiB at most)");
	}
	return 0;
}

static int pwrite_all(int fd, const char *buf, size_t len, int64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The data block by block, at the offsets the tar gives: a sparse file's
 * holes are skipped, never written as zeros, and the file gets its size
 * at the end, holes at the end included (libarchive's read_data_into_fd
 * left a file ending in a hole short). */
static int write_file(struct archive *a, struct archive_entry *e, int dirfd, const char *base,
		      struct img_budget *b, struct hk_err *err)
{
	_cleanup_close_ int fd =
		openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	const void *buf;
	size_t len;
	la_int64_t off;
	int64_t end = 0;
	int r;

	if (fd < 0)
		return hk_fail(err, errno, "layer entry %s", base);
	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		if (budget_check(b, 0, err) < 0)
			return -1;
		if (off < 0 || pwrite_all(fd, buf, len, off) < 0)
			return hk_fail(err, off < 0 ? EINVAL : errno, "layer entry %s", base);
		if (off + (int64_t)len > end)
			end = off + (int64_t)len;
	}
	if (r != ARCHIVE_EOF)
		return hk_fail(err, 0, "layer entry %s: %s", base, archive_error_string(a));
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : end;
	if (size > end && ftruncate(fd, (off_t)size) < 0)
		return hk_fail(err, errno, "layer entry %s: its size, %lld", base, (long long)size);
	return 0;
}

static int make_entry(struct archive *a, struct archive_entry *e, int rootfd, int dirfd,
		      const char *base, struct img_budget *b, struct hk_err *err)
{
	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	int r = clear_name(dirfd, base, type == AE_IFDIR && !hl, err);

	if (r < 0)
		return -1;
	if (hl)
		return make_hardlink(rootfd, dirfd, base, hl, b, err) < 0 ? -1 : 1;
	switch (type) {
	case AE_IFDIR:
		if (r == 0 && mkdirat(dirfd, base, 0700) < 0)
			return hk_fail(err, errno, "layer entry %s", base);
		return 0;
	case AE_IFREG:
		return write_file(a, e, dirfd, base, b, err);
	case AE_IFLNK:
		if (symlinkat(archive_entry_symlink(e) ?: "", dirfd, base) < 0)
			return hk_fail(err, errno, "layer entry %s", base);
		return 0;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (mknodat(dirfd, base, type | 0600, archive_entry_rdev(e)) == 0)
			return 0;
		/* A device node in a user namespace (an ordinary user's
		 * launch): not to be had, and not to be used either (the
		 * container's /dev is its own); left out, as rootless
		 * podman's storage leaves it. */
		if (errno == EPERM && type != AE_IFIFO && hk_rootless())
			return 1;
		return hk_fail(err, errno, "layer entry %s", base);
	default:
		return 1; /* sockets and the like: nothing to make */
	}
}

/* File capabilities and user.* attributes, after chown (which drops
 * security.capability). Nothing else: trusted.overlay.* from a tar would
 * be overlayfs metadata (redirects, opaque flags) of the image's making,
 * and so would user.overlay.* where overlayfs reads those (userxattr). */
static void set_xattrs(struct archive_entry *e, int dirfd, const char *base)
{
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(e) == 0)
		return;
	_cleanup_close_ int fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	while (fd >= 0 && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
		if (strcmp(name, "security.capability") == 0 ||
		    (strncmp(name, "user.", 5) == 0 && strncmp(name, "user.overlay.", 13) != 0))
			(void)!fsetxattr(fd, name, value, size, 0);
}

static void set_meta(struct archive_entry *e, int dirfd, const char *base)
{
	mode_t type = archive_entry_filetype(e);
	struct timespec t[2] = {{.tv_sec = archive_entry_mtime(e)},
				{.tv_sec = archive_entry_mtime(e)}};

	/* chown first: it clears set-id bits the mode then restores. */
	(void)!fchownat(dirfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
			AT_SYMLINK_NOFOLLOW);
	if (type != AE_IFLNK)
		(void)!fchmodat(dirfd, base, archive_entry_perm(e) & 07777, 0);
	if (type == AE_IFREG)
		set_xattrs(e, dirfd, base);
	(void)!utimensat(dirfd, base, t, AT_SYMLINK_NOFOLLOW);
}

/* target: checked by img_whiteout_of, a plain name. */
static int whiteout(int rootfd, char *dir, const char *target, struct img_budget *b,
		    struct hk_err *err)
{
	_cleanup_close_ int fd = parent_fd(rootfd, dir, b, err);
	if (fd < 0 || clear_name(fd, target, false, err) < 0)
		return -1;
	if (mknodat(fd, target, S_IFCHR | 0, makedev(0, 0)) < 0)
		return hk_fail(err, errno, "layer: whiteout %s", target);
	return 0;
}

static int one_entry(struct archive *a, struct archive_entry *e, int rootfd, struct img_budget *b,
		     struct hk_err *err)
{
	_cleanup_free_ char *path = xstrdup(archive_entry_pathname(e) ?: "");
	const char *target = NULL;

	/* Data not read here (a device's, a hardlink's, a whiteout's) is
	 * skipped by reading through it: counted before, not after. A
	 * sparse file's size is not what the stream holds of it: its data is
	 * counted block by block (write_file). */
	b->entries++;
	b->charged += IMG_BLOCK; /* its inode's block, whatever its size */
	int64_t size = archive_entry_sparse_count(e) > 0 ? 0 : archive_entry_size(e);
	if (budget_check(b, size > 0 ? size : 0, err) < 0)
		return -1;

	if (strcmp(path, "./") == 0 || strcmp(path, "/") == 0 || strcmp(path, ".") == 0)
		return 0; /* the layer's root itself */
	if (img_clean_name(path) < 0)
		return hk_fail(err, 0, "layer entry \"%s\": outside the layer",
			       archive_entry_pathname(e) ?: "");
	char *slash = strrchr(path, '/');
	char *base = slash ? slash + 1 : path;
	char *dir = slash ? path : path + strlen(path);
	if (slash)
		*slash = '\0';
	/* Every name is judged before anything is made or removed. */
	switch (img_whiteout_of(base, &target)) {
	case IMG_WH_OPAQUE:
		return set_opaque(rootfd, dir, b, err);
	case IMG_WH_FILE:
		return whiteout(rootfd, dir, target, b, err);
	case IMG_WH_META:
		return 0;
	case IMG_WH_BAD:
		return hk_fail(err, 0,
			       "layer entry \"%s\": a whiteout must name an entry (not \"%s\")",
			       archive_entry_pathname(e) ?: "", base);
	default:
		break;
	}
	_cleanup_close_ int dirfd = parent_fd(rootfd, dir, b, err);
	if (dirfd < 0)
		return -1;
	int r = make_entry(a, e, rootfd, dirfd, base, b, err);
	if (r == 0)
		set_meta(e, dirfd, base);
	return r < 0 ? -1 : 0;
}

int img_extract(struct archive *a, int rootfd, struct img_budget *b, struct hk_err *err)
{
	struct archive_entry *e;
	int r;

	b->a = a;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
		if (one_entry(a, e, rootfd, b, err) < 0)
			return -1;
	if (r != ARCHIVE_EOF)
		return hk_fail(err, 0, "layer: %s", archive_error_string(a));
	return 0;
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

int img_archive_formats(struct archive *a, struct hk_err *err)
{
	/* ARCHIVE_WARN: "Using external ... program" */
	if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK)
		return hk_fail(err, 0,
			       "libarchive decodes gzip or zstd only through an external program: "
			       "refused");
	archive_read_support_format_tar(a);
	return 0;
}
