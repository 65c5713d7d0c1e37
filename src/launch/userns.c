/* Ranges for --userns=auto, and idmapped mounts of the lower layers.
 *
 * Ranges come only from subordinate ids the host set aside: the ranges of
 * "containers" in /etc/subuid and /etc/subgid (podman's --userns=auto
 * convention), else root's own; with neither, --userns auto is refused
 * (husk used to take ids from 1000000 up, which local users may have).
 * Each is cut in slots of 65536 ids; a slot that overlaps another owner's
 * subordinate range (a user who can map those ids in a namespace of their
 * own) or holds an id of /etc/passwd (or, for gids, of /etc/group) is
 * never handed out. uids come from /etc/subuid, gids from /etc/subgid.
 *
 * A uid slot is taken by creating DATA/.userns/u<first uid> and a gid slot
 * DATA/.userns/g<first gid>, each naming the container's directory, made
 * whole (launch_new_file: fails when it exists, so two launches never get
 * the same one), and given back when the container's directory is removed
 * (or found gone: a launch killed half-way). */
#include "launch/userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "launch/newfile.h"
#include "linux/userns.h"
#include "spec/spec.h"

#define DB_MAX (16u << 20)
#define POOL "containers"
#define RECORD "userns-ids"

/* A decimal number of digits only (no sign, no space), below 2^32. */
static bool parse_u32(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return v <= UINT32_MAX;
}

/* A number as newuidmap reads it (shadow's getulong: strtoull in base 0,
 * so leading blanks, a sign, 0x and a leading 0 all count), the whole
 * field or nothing. husk must see a line exactly as newuidmap does: a
 * range newuidmap grants a user but husk skipped would be handed out to a
 * container that user can then enter (outside attack, issue 15). */
static bool parse_ul(const char *s, size_t len, uint64_t *out)
{
	char buf[64], *end;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (*end != '\0' || errno == ERANGE)
		return false;
	*out = v;
	return true;
}

/* One "owner:start:count" line as shadow reads it (a fourth field is
 * ignored); false for anything shadow skips too. */
static bool parse_sub(const char *line, size_t len, char *owner, size_t osz, struct userns_range *r)
{
	const char *c1 = memchr(line, ':', len);
	const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
	const char *c3 = c2 ? memchr(c2 + 1, ':', len - (size_t)(c2 + 1 - line)) : NULL;
	size_t count_len = (size_t)((c3 ? c3 : line + len) - (c2 ? c2 + 1 : line));
	uint64_t start, count;

	if (!c2 || (size_t)(c1 - line) >= osz || c1 == line)
		return false;
	if (!parse_ul(c1 + 1, (size_t)(c2 - c1 - 1), &start) ||
	    !parse_ul(c2 + 1, count_len, &count) || count == 0)
		return false;
	memcpy(owner, line, (size_t)(c1 - line));
	owner[c1 - line] = '\0';
	*r = (struct userns_range){start, count};
	return true;
}

/* [start, start + count) of r, the end saturated at 2^64. */
static uint64_t range_end(const struct userns_range *r)
{
	return r->start + r->count < r->start ? UINT64_MAX : r->start + r->count;
}

static bool is_root(const char *owner)
{
	return strcmp(owner, "root") == 0 || strcmp(owner, "0") == 0;
}

/* The lines of text, split into the pool's ranges (owner is the pool:
 * "containers", or root) and everyone else's. */
static void split_ranges(const char *text, bool containers, struct userns_range **pool,
			 size_t *n_pool, struct userns_range **other, size_t *n_other)
{
	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char owner[256];
		struct userns_range r;
		if (parse_sub(l, len, owner, sizeof(owner), &r)) {
			bool mine = containers ? strcmp(owner, POOL) == 0 : is_root(owner);
			struct userns_range **v = mine ? pool : other;
			size_t *n = mine ? n_pool : n_other;
			*v = xrealloc(*v, (*n + 1) * sizeof(**v));
			(*v)[(*n)++] = r;
		}
		l = end ? end + 1 : NULL;
	}
}

static bool has_owner(const char *text, const char *name)
{
	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char owner[256];
		struct userns_range r;
		if (parse_sub(l, len, owner, sizeof(owner), &r) && strcmp(owner, name) == 0)
			return true;
		l = end ? end + 1 : NULL;
	}
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Any of the sorted ids in [s, s + USERNS_SIZE)? */
static bool holds_used(uint64_t s, const uint32_t *used, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (used[mid] < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && used[lo] < s + USERNS_SIZE;
}

static bool slot_free(uint64_t s, const struct userns_range *other, size_t n_other,
		      const uint32_t *used, size_t n_used)
{
	for (size_t i = 0; i < n_other; i++)
		if (s < range_end(&other[i]) && other[i].start < s + USERNS_SIZE)
			return false;
	return !holds_used(s, used, n_used);
}

size_t userns_slots(const char *text, const uint32_t *used, size_t n_used, uint32_t **slots)
{
	struct userns_range *pool = NULL, *other = NULL;
	size_t n_pool = 0, n_other = 0, n = 0;
	uint32_t *sorted = xcalloc(n_used + 1, sizeof(*sorted));

	memcpy(sorted, used, n_used * sizeof(*used));
	qsort(sorted, n_used, sizeof(*sorted), cmp_u32);
	split_ranges(text, has_owner(text, POOL), &pool, &n_pool, &other, &n_other);
	*slots = NULL;
	for (size_t i = 0; i < n_pool; i++) {
		uint64_t end = range_end(&pool[i]);
		for (uint64_t s = pool[i].start;
		     s + USERNS_SIZE <= end && s + USERNS_SIZE <= UINT32_MAX; s += USERNS_SIZE) {
			if (!slot_free(s, other, n_other, sorted, n_used))
				continue;
			*slots = xrealloc(*slots, (n + 1) * sizeof(**slots));
			(*slots)[n++] = (uint32_t)s;
		}
	}
	free(pool);
	free(other);
	free(sorted);
	return n;
}

size_t userns_user_ranges(const char *text, const char *name, uint32_t id, struct userns_range *out,
			  size_t max)
{
	char num[16];
	size_t n = 0;

	snprintf(num, sizeof(num), "%u", id);
	for (const char *l = text; l && *l && n < max;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char owner[256];
		struct userns_range r;
		/* a map holds ids below 2^32 - 1 only: the rest of a range is
		 * left out (newuidmap would refuse it) */
		if (parse_sub(l, len, owner, sizeof(owner), &r) &&
		    ((name && strcmp(owner, name) == 0) || strcmp(owner, num) == 0) &&
		    r.start < UINT32_MAX) {
			if (range_end(&r) > UINT32_MAX)
				r.count = UINT32_MAX - r.start;
			out[n++] = r;
		}
		l = end ? end + 1 : NULL;
	}
	return n;
}

/* The numeric field (0-based) of each line of a passwd or group file. */
static void db_ids(const char *text, int field, uint32_t **ids, size_t *n)
{
	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		const char *f = l, *stop = l + len;
		for (int k = 0; k < field && f; k++) {
			f = memchr(f, ':', (size_t)(stop - f));
			f = f ? f + 1 : NULL;
		}
		const char *colon = f ? memchr(f, ':', (size_t)(stop - f)) : NULL;
		uint64_t v;
		if (f && parse_u32(f, (size_t)((colon ? colon : stop) - f), &v) && v < UINT32_MAX) {
			*ids = xrealloc(*ids, (*n + 1) * sizeof(**ids));
			(*ids)[(*n)++] = (uint32_t)v;
		}
		l = end ? end + 1 : NULL;
	}
}

/* The host's files: uids, or gids (file /etc/subgid, and the ids of
 * /etc/group and the groups of /etc/passwd). */
static size_t host_slots(bool gids, uint32_t **slots, struct hk_err *err)
{
	const char *file = gids ? "/etc/subgid" : "/etc/subuid";
	_cleanup_free_ char *sub = hk_read_file(file, DB_MAX, NULL, err);
	_cleanup_free_ char *passwd = hk_read_file("/etc/passwd", DB_MAX, NULL, NULL);
	_cleanup_free_ char *group = gids ? hk_read_file("/etc/group", DB_MAX, NULL, NULL) : NULL;
	_cleanup_free_ uint32_t *used = NULL;
	size_t n_used = 0;

	*slots = NULL;
	if (!sub && err->errnum != ENOENT)
		return 0;
	hk_err_clear(err);
	db_ids(passwd, gids ? 3 : 2, &used, &n_used);
	db_ids(group, 2, &used, &n_used);
	return sub ? userns_slots(sub, used, n_used, slots) : 0;
}

/* A claim whose container directory is gone (a launch killed half-way)
 * is given back; so is an empty one an older husk left when killed
 * between creating and writing it. */
static bool stale(int claimsfd, const char *name)
{
	_cleanup_free_ char *owner = hk_read_fileat(claimsfd, name, 4096, NULL, NULL);
	struct stat st;

	if (!owner)
		return false;
	if (!*owner)
		return fstatat(claimsfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       st.st_mtime < time(NULL) - 60 && unlinkat(claimsfd, name, 0) == 0;
	if (stat(owner, &st) == 0 || errno != ENOENT)
		return false;
	return unlinkat(claimsfd, name, 0) == 0;
}

/* The first of slots whose claim file (prefix and first id) could be
 * made; -1 (err clean) when all are taken. */
static int claim_one(int claimsfd, const char *dir, char prefix, const uint32_t *slots, size_t n,
		     uint32_t *got, struct hk_err *err)
{
	for (size_t k = 0; k < n; k++) {
		char name[16];
		snprintf(name, sizeof(name), "%c%u", prefix, slots[k]);
		/* whole or not at all, failing when the slot is taken (err
		 * stays clean: callers read a message in it as a failure) */
		struct hk_err e = {0};
		int r = launch_new_file(claimsfd, name, dir, &e);
		if (r < 0 && e.errnum == EEXIST && stale(claimsfd, name))
			r = launch_new_file(claimsfd, name, dir, &e);
		if (r < 0 && e.errnum == EEXIST)
			continue;
		if (r < 0) {
			*err = e;
			return -1;
		}
		*got = slots[k];
		return 0;
	}
	return -1;
}

static int no_range(struct hk_err *err)
{
	if (err->errnum)
		return hk_err_prefix(err, "--userns auto");
	return hk_fail(err, 0,
		       "--userns auto: /etc/subuid and /etc/subgid set no ids aside for it: add "
		       "a range of \"" POOL "\" to both (as for podman's --userns=auto), e.g. "
		       "\"" POOL ":2147483648:2147483648\", clear of other users' ranges and "
		       "of /etc/passwd's ids");
}

static int record(const char *dir, uint32_t uid, uint32_t gid, struct hk_err *err)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char text[32];

	if (dfd < 0)
		return hk_fail(err, errno, "--userns auto: open %s", dir);
	snprintf(text, sizeof(text), "%u %u\n", uid, gid);
	return launch_new_file(dfd, RECORD, text, err);
}

int userns_claim(const char *data_dir, const char *dir, uint32_t *uid, uint32_t *gid,
		 struct hk_err *err)
{
	_cleanup_free_ char *claims = xasprintf("%s/.userns", data_dir);
	_cleanup_free_ uint32_t *uslots = NULL, *gslots = NULL;
	size_t nu = host_slots(false, &uslots, err);

	if (nu == 0)
		return no_range(err);
	size_t ng = host_slots(true, &gslots, err);
	if (ng == 0)
		return no_range(err);
	if (mkdir(claims, 0700) < 0 && errno != EEXIST)
		return hk_fail(err, errno, "--userns auto: mkdir %s", claims);
	_cleanup_close_ int claimsfd =
		open(claims, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (claimsfd < 0)
		return hk_fail(err, errno, "--userns auto: open %s", claims);
	if (claim_one(claimsfd, dir, 'u', uslots, nu, uid, err) < 0 ||
	    claim_one(claimsfd, dir, 'g', gslots, ng, gid, err) < 0) {
		userns_release(dir);
		if (err->errnum)
			return hk_err_prefix(err, "--userns auto: claim in %s", claims);
		return hk_fail(err, 0,
			       "--userns auto: all %zu uid and %zu gid ranges of %u ids set aside "
			       "in /etc/subuid and /etc/subgid are taken",
			       nu, ng, USERNS_SIZE);
	}
	if (record(dir, *uid, *gid, err) < 0) {
		userns_release(dir);
		return -1;
	}
	return 0;
}

uint32_t userns_recorded_uid(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/" RECORD, dir);
	_cleanup_free_ char *text = hk_read_file(path, 64, NULL, NULL);
	unsigned long uid;

	return text && sscanf(text, "%lu", &uid) == 1 && uid < UINT32_MAX ? (uint32_t)uid : 0;
}

void userns_release(const char *dir)
{
	_cleanup_free_ char *copy = xstrdup(dir);
	char *slash = strrchr(copy, '/');
	if (!slash)
		return;
	*slash = '\0';
	_cleanup_free_ char *claims = xasprintf("%s/.userns", *copy ? copy : "/");
	int fd = open(claims, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		_cleanup_free_ char *owner = hk_read_fileat(dirfd(d), e->d_name, 4096, NULL, NULL);
		if (owner && strcmp(owner, dir) == 0)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* The container's range, 0 up, as a user namespace fd (linux/userns.h:
 * made by a helper that is never dumpable, outside attack F4). */
static int map_fd(uint32_t uid, uint32_t gid, struct hk_err *err)
{
	const struct hk_idmap u = {.container_id = 0, .host_id = uid, .size = USERNS_SIZE};
	const struct hk_idmap g = {.container_id = 0, .host_id = gid, .size = USERNS_SIZE};

	int fd = userns_with_maps(&u, 1, &g, 1, err);
	return fd < 0 ? hk_err_prefix(err, "--userns auto") : fd;
}

int userns_idmap_mount(int src, const char *target, uint32_t uid, uint32_t gid, struct hk_err *err)
{
	_cleanup_close_ int uns = map_fd(uid, gid, err);
	if (uns < 0)
		return -1;
	_cleanup_close_ int tree =
		hk_open_tree(src, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return hk_fail(err, errno, "open_tree of a layer for %s", target);
	/* In launch's own mount namespace (reserve.c), used by the overlay
	 * only, whose own mount flags are what the container's programs and
	 * devices obey (exec, set-id and device opens check the overlay's
	 * mount, not the layer's): nothing here needs them. */
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY |
					      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					      MOUNT_ATTR_NOEXEC,
				  .userns_fd = (uint64_t)uns};
	if (hk_mount_setattr(tree, "", AT_EMPTY_PATH, &attr) < 0)
		return hk_fail(err, errno, "--userns auto: idmapped mount for %s", target);
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return hk_fail(err, errno, "mkdir %s", target);
	if (hk_move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return hk_fail(err, errno, "mount a layer on %s", target);
	return TAKE_FD(tree);
}
