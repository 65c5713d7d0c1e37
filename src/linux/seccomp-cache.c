#include "linux/seccomp-cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/rootless.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "spec/spec.h"

/* The file: MAGIC, the key's length and the program's (little-endian u32
 * each), the key, the program. */
#define MAGIC "HKBPF01\n"
#define MAGIC_LEN 8
#define HEADER_LEN (MAGIC_LEN + 8)
#define KEY_MAX (4u << 20)
#define INSNS_MAX 4096u /* BPF_MAXINSNS */
/* A machine runs a few profiles: past this many files, no more are kept. */
#define FILES_MAX 256

/* -- the key ------------------------------------------------------------ */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 256;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put_u64(struct buf *b, uint64_t v)
{
	unsigned char le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(v >> (8 * i));
	put(b, le, sizeof(le));
}

/* Length first: no two lists of strings give the same bytes. */
static void put_str(struct buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put_u64(b, s ? n : UINT64_MAX);
	put(b, s ? s : "", n);
}

static void put_rule(struct buf *b, const struct hk_seccomp_rule *r)
{
	put_u64(b, r->n_names);
	for (size_t i = 0; i < r->n_names; i++)
		put_str(b, r->names[i]);
	put_u64(b, (uint64_t)r->action);
	put_u64(b, r->has_errno);
	put_u64(b, r->errno_ret);
	put_u64(b, r->n_args);
	for (size_t i = 0; i < r->n_args; i++) {
		put_u64(b, r->args[i].index);
		put_u64(b, r->args[i].value);
		put_u64(b, r->args[i].value_two);
		put_u64(b, (uint64_t)r->args[i].op);
	}
}

unsigned char *seccomp_cache_key(const struct hk_seccomp *s, size_t *len)
{
	const struct scmp_version *v = seccomp_version();
	struct buf b = {0};
	struct utsname u;

	put_str(&b, "husk seccomp " HUSK_VERSION " tree");
	put_u64(&b, v ? v->major : 0);
	put_u64(&b, v ? v->minor : 0);
	put_u64(&b, v ? v->micro : 0);
	if (uname(&u) == 0) {
		put_str(&b, u.release);
		put_str(&b, u.version);
		put_str(&b, u.machine);
	}
	put_u64(&b, (uint64_t)s->default_action);
	put_u64(&b, s->has_default_errno);
	put_u64(&b, s->default_errno);
	put_u64(&b, s->flags);
	put_u64(&b, s->n_archs);
	for (size_t i = 0; i < s->n_archs; i++)
		put_str(&b, s->archs[i]);
	put_u64(&b, s->n_rules);
	for (size_t i = 0; i < s->n_rules; i++)
		put_rule(&b, &s->rules[i]);
	*len = b.len;
	return b.p;
}

/* FNV-1a, 64 bits: only a name; the key itself decides a hit. */
void seccomp_cache_name(const unsigned char *key, size_t len, char out[24])
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 1099511628211ull;
	}
	snprintf(out, 24, "%016llx.bpf", (unsigned long long)h);
}

/* -- the directory ------------------------------------------------------ */

int seccomp_cache_open_at(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		hk_debug("seccomp cache: mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		hk_debug("seccomp cache: open %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		hk_debug("seccomp cache: %s is not husk's own (owner %u, mode %o): not used", path,
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

int seccomp_cache_open(void)
{
	if (!hk_rootless())
		return seccomp_cache_open_at("/run/husk-seccomp");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!xdg || xdg[0] != '/')
		return -1;
	_cleanup_free_ char *path = xasprintf("%s/husk-seccomp", xdg);
	return seccomp_cache_open_at(path);
}

/* -- files -------------------------------------------------------------- */

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The file's bytes when it is a regular file of husk's, not writable by
 * others, and of a size the format allows; else NULL. */
static unsigned char *read_entry(int dirfd, const char *name, size_t *size)
{
	_cleanup_close_ int fd =
		openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_nlink != 1 || st.st_size < HEADER_LEN ||
	    (uint64_t)st.st_size > HEADER_LEN + KEY_MAX + INSNS_MAX * sizeof(struct sock_filter))
		return NULL;
	struct hk_err err = {0};
	unsigned char *data = (unsigned char *)hk_read_fd(fd, name, (size_t)st.st_size, size, &err);
	if (data && *size != (size_t)st.st_size) {
		free(data);
		return NULL;
	}
	return data;
}

int seccomp_cache_get(int dirfd, const unsigned char *key, size_t len, struct hk_seccomp_bpf *out)
{
	char name[24];
	size_t size = 0;

	if (dirfd < 0)
		return 0;
	seccomp_cache_name(key, len, name);
	_cleanup_free_ unsigned char *data = read_entry(dirfd, name, &size);
	if (!data)
		return 0;
	uint32_t klen = get_u32(data + MAGIC_LEN), n = get_u32(data + MAGIC_LEN + 4);
	if (memcmp(data, MAGIC, MAGIC_LEN) != 0 || klen != len || n == 0 || n > INSNS_MAX ||
	    size != HEADER_LEN + (size_t)klen + (size_t)n * sizeof(struct sock_filter) ||
	    memcmp(data + HEADER_LEN, key, len) != 0) {
		hk_debug("seccomp cache: %s is another profile's or not a program: a miss", name);
		return 0;
	}
	out->len = n;
	out->insns = xmalloc(n * sizeof(struct sock_filter));
	memcpy(out->insns, data + HEADER_LEN + klen, n * sizeof(struct sock_filter));
	return 1;
}

static bool full(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	for (struct dirent *e; (e = readdir(d)) && n < FILES_MAX;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n >= FILES_MAX;
}

void seccomp_cache_put(int dirfd, const unsigned char *key, size_t len,
		       const struct hk_seccomp_bpf *bpf)
{
	struct hk_err err = {0};
	char name[24];

	if (dirfd < 0 || len > KEY_MAX || bpf->len == 0 || bpf->len > INSNS_MAX)
		return;
	if (full(dirfd)) {
		hk_debug("seccomp cache: %d programs kept already: this one is not", FILES_MAX);
		return;
	}
	size_t prog = bpf->len * sizeof(struct sock_filter);
	_cleanup_free_ unsigned char *data = xmalloc(HEADER_LEN + len + prog);
	memcpy(data, MAGIC, MAGIC_LEN);
	set_u32(data + MAGIC_LEN, (uint32_t)len);
	set_u32(data + MAGIC_LEN + 4, (uint32_t)bpf->len);
	memcpy(data + HEADER_LEN, key, len);
	memcpy(data + HEADER_LEN + len, bpf->insns, prog);
	seccomp_cache_name(key, len, name);
	if (hk_write_atomic_mode(dirfd, name, (const char *)data, HEADER_LEN + len + prog, 0600,
				 &err) < 0)
		hk_debug("seccomp cache: %s", err.msg);
}
