/* A registry's TLS material (registry.h), from a directory laid out as
 * containers-certs.d(5) and docker have it: *.crt CA certificates, added
 * to the system's; a client certificate NAME.cert with its key NAME.key.
 * --cert-dir names the directory; else the first of
 * ~/.config/containers/certs.d/DOMAIN, /etc/containers/certs.d/DOMAIN and
 * /etc/docker/certs.d/DOMAIN that exists (containers/image's order).
 *
 * Whoever may change those files decides whom husk trusts (a CA of
 * theirs) and which key it proves itself with: a default directory is
 * walked as the state root is (common/trusted.h: root's or husk's user's
 * all the way, writable by nobody else) and its files must be regular
 * files of root or husk's user that nobody else may write, not links. A
 * directory named by --cert-dir is the caller's choice and taken as it
 * is, but a fifo or device in it is still refused, never opened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "registry/registry.h"

#define CERT_MAX (1 << 20)
#define NAMES_MAX 1024

struct names {
	char **v;
	size_t n;
};

static void names_clear(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	*n = (struct names){0};
}

static bool ends_with(const char *s, const char *ext)
{
	size_t len = strlen(s), elen = strlen(ext);
	return len > elen && strcmp(s + len - elen, ext) == 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.crt, *.cert and *.key names of the directory, sorted. */
static int list(int dirfd, const char *what, struct names *out, struct hk_err *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		int errnum = errno;
		if (fd >= 0)
			close(fd);
		return hk_fail(err, errnum, "%s", what);
	}
	while ((e = readdir(d))) {
		if (!ends_with(e->d_name, ".crt") && !ends_with(e->d_name, ".cert") &&
		    !ends_with(e->d_name, ".key"))
			continue;
		if (out->n == NAMES_MAX) {
			closedir(d);
			return hk_fail(err, 0, "%s: more than %d certificates and keys", what,
				       NAMES_MAX);
		}
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), by_name);
	return 0;
}

static bool has(const struct names *n, const char *name)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->v[i], name) == 0)
			return true;
	return false;
}

static char *read_one(int dirfd, const char *what, const char *name, bool trusted, size_t *len,
		      struct hk_err *err)
{
	_cleanup_close_ int fd = hk_open_config_file(dirfd, what, name, trusted, err);
	if (fd < 0)
		return NULL;
	_cleanup_free_ char *path = xasprintf("%s/%s", what, name);
	return hk_read_fd(fd, path, CERT_MAX, len, err);
}

/* Each NAME.cert has its NAME.key and each key its certificate, as
 * containers/image wants them. */
static int check_pairs(const struct names *n, const char *what, struct hk_err *err)
{
	for (size_t i = 0; i < n->n; i++) {
		const char *s = n->v[i];
		bool cert = ends_with(s, ".cert"), key = ends_with(s, ".key");
		if (!cert && !key)
			continue;
		size_t base = strlen(s) - (cert ? 5 : 4);
		_cleanup_free_ char *other =
			xasprintf("%.*s%s", (int)base, s, cert ? ".key" : ".cert");
		if (!has(n, other))
			return hk_fail(err, 0,
				       cert ? "%s: client certificate %s has no key %s (a CA "
					      "certificate's name ends in .crt)"
					    : "%s: key %s has no client certificate %s",
				       what, s, other);
	}
	return 0;
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 2);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
}

/* The CA certificates, and the first client pair by name (libcurl presents
 * one certificate). */
static int load_dir(int dirfd, const char *what, bool trusted, struct reg_tls *t,
		    struct hk_err *err)
{
	struct names n = {0};
	int r = list(dirfd, what, &n, err);

	if (r == 0)
		r = check_pairs(&n, what, err);
	for (size_t i = 0; r == 0 && i < n.n; i++) {
		const char *s = n.v[i];
		size_t len;
		if (ends_with(s, ".crt")) {
			_cleanup_free_ char *pem = read_one(dirfd, what, s, trusted, &len, err);
			if (!pem)
				r = -1;
			else
				append(&t->cas, &t->cas_len, pem, len);
		} else if (ends_with(s, ".cert") && !t->cert) {
			_cleanup_free_ char *key = xasprintf("%.*s.key", (int)(strlen(s) - 5), s);
			t->cert = read_one(dirfd, what, s, trusted, &t->cert_len, err);
			t->key = t->cert ? read_one(dirfd, what, key, trusted, &t->key_len, err)
					 : NULL;
			if (!t->key)
				r = -1;
			else
				hk_debug("registry: client certificate %s/%s", what, s);
		}
	}
	names_clear(&n);
	return r;
}

/* A default certs.d directory: 0 with *fd, or 0 with *fd -1 when it is
 * not there (nor one of the directories on the way), or -1 (err). */
static int open_default(const char *path, int *fd, struct hk_err *err)
{
	struct hk_err derr = {0};

	*fd = hk_open_config_dir("certs.d", path, &derr);
	if (*fd >= 0 || derr.errnum == ENOENT)
		return 0;
	*err = derr;
	return -1;
}

int reg_tls_load(const char *domain, const char *cert_dir, struct reg_tls *t, struct hk_err *err)
{
	const char *home = getenv("HOME");
	_cleanup_free_ char *user =
		home && *home ? xasprintf("%s/.config/containers/certs.d", home) : NULL;
	const char *roots[] = {user, "/etc/containers/certs.d", "/etc/docker/certs.d"};
	_cleanup_close_ int fd = -1;

	*t = (struct reg_tls){0};
	if (cert_dir) {
		fd = open(cert_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return hk_fail(err, errno, "--cert-dir %s", cert_dir);
		t->dir = xstrdup(cert_dir);
		return load_dir(fd, cert_dir, false, t, err);
	}
	/* a domain is a host[:port] (ref.h); never one that climbs */
	if (!domain || domain[0] == '.' || strchr(domain, '/'))
		return 0;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && fd < 0; i++) {
		if (!roots[i])
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", roots[i], domain);
		if (open_default(path, &fd, err) < 0)
			return -1;
		if (fd >= 0)
			t->dir = TAKE_PTR(path);
	}
	return fd < 0 ? 0 : load_dir(fd, t->dir, true, t, err);
}

void reg_tls_clear(struct reg_tls *t)
{
	if (t->key)
		explicit_bzero(t->key, t->key_len);
	free(t->key);
	free(t->cert);
	free(t->cas);
	free(t->dir);
	*t = (struct reg_tls){0};
}
