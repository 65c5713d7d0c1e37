/* Small file helpers for husk's own files (state, cgroup knobs): never used
 * on paths inside a container's rootfs, which go through linux/rootfs.c. */
#ifndef HUSK_COMMON_FILE_H
#define HUSK_COMMON_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct hk_err;

/* Read a whole file (at most max bytes), NUL-terminated. */
char *hk_read_file(const char *path, size_t max, size_t *len, struct hk_err *err);
char *hk_read_fileat(int dirfd, const char *path, size_t max, size_t *len, struct hk_err *err);
/* The same from an open fd (say, stdin) to its end; path names it in errors. */
char *hk_read_fd(int fd, const char *path, size_t max, size_t *len, struct hk_err *err);
/* The same, with the fd's fstat the caller made already (NULL: none). */
struct stat;
char *hk_read_fd_stat(int fd, const char *path, size_t max, const struct stat *st, size_t *len,
		      struct hk_err *err);
/* Write data to dirfd/name atomically: a temp file renamed over it, so a
 * reader sees the old or the new whole, never a part. The temp file is
 * .<name>.<16 random hex digits>, made with O_CREAT|O_EXCL|O_NOFOLLOW: safe
 * in a directory others can write (a --pid-file's), where a planted name
 * fails the create instead of being written through. rename(2) replaces a
 * link at name, never follows it. The file gets mode (0644 for
 * hk_write_atomic), less the umask. No fsync: husk's files live in /run,
 * which a reboot empties anyway (tmpfs), so fsync buys no durability, and
 * it cost 0.5-2 ms a write where /run is on disk. */
int hk_write_atomic(int dirfd, const char *name, const char *data, size_t len, struct hk_err *err);
int hk_write_atomic_mode(int dirfd, const char *name, const char *data, size_t len, mode_t mode,
			 struct hk_err *err);
/* hk_write_atomic for a file rewritten in a directory only husk writes (a
 * container's state.json): the new file is exchanged with the old one
 * (renameat2 RENAME_EXCHANGE), which is then unlinked, where the
 * filesystem can. Renamed over another file, ext4 (auto_da_alloc) starts
 * writing the new one out at once, and the unlink of it at delete waited
 * for that write: 0.25 ms of each `husk run` whose state is on ext4
 * (bench/README.md, "The state dir on ext4"). */
int hk_rewrite_atomic(int dirfd, const char *name, const char *data, size_t len,
		      struct hk_err *err);
/* Create dirfd/name, which must not exist in any form (a link there fails
 * with EEXIST, never followed): openat with flags (O_WRONLY, O_APPEND...)
 * | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC. Returns the fd. */
int hk_create_excl(int dirfd, const char *name, int flags, mode_t mode, struct hk_err *err);
/* Open dirfd/name to append to (a log kept across runs): made as
 * hk_create_excl does when missing; when there, opened with O_NOFOLLOW and
 * O_NONBLOCK (a planted fifo fails, ENXIO, instead of blocking) and kept
 * only if it is a regular file owned by husk's euid with one link (no hard
 * link to another file). Returns the fd (O_WRONLY | O_APPEND, close on
 * exec). */
int hk_open_append(int dirfd, const char *name, mode_t mode, struct hk_err *err);
/* Write a string to an existing file (cgroup knobs, /proc files). */
int hk_write_str(const char *path, const char *s, struct hk_err *err);
int hk_write_strat(int dirfd, const char *name, const char *s, struct hk_err *err);
/* mkdir -p with mode; existing directories are fine. */
int hk_mkdir_p(const char *path, mode_t mode, struct hk_err *err);
/* Write all of buf to fd, retrying on EINTR and short writes. */
int hk_write_all(int fd, const void *buf, size_t len);

#endif
