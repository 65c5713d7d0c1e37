/* Credentials for a registry, where podman and docker keep them: --creds,
 * --authfile or $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json,
 * ~/.docker/config.json. Each is {"auths": {KEY: {"auth": base64(user:pass)}}}
 * with KEY a registry (host[:port]), a repository in it (host/path: the
 * most specific wins), or, for docker.io, its legacy URL. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "image/ref.h"
#include "spec/json.h"
#include "registry/registry.h"

#define AUTHFILE_MAX (1 << 20)

static int b64_value(char c)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(digits, c) : NULL;
	return p ? (int)(p - digits) : -1;
}

/* base64 (padding optional) -> malloc'd NUL-terminated bytes, or NULL */
static char *b64_decode(const char *s)
{
	size_t len = strlen(s);
	char *out = xzalloc(len / 4 * 3 + 4);
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int v = b64_value(s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	if (strlen(out) != n) { /* a NUL inside */
		free(out);
		return NULL;
	}
	return out;
}

static int split_creds(const char *s, const char *what, char **user, char **pass,
		       struct hk_err *err)
{
	const char *colon = strchr(s, ':');

	if (!colon || colon == s)
		return hk_fail(err, 0, "%s: expected USER:PASSWORD", what);
	*user = xzalloc((size_t)(colon - s) + 1);
	memcpy(*user, s, (size_t)(colon - s));
	*pass = xstrdup(colon + 1);
	return 0;
}

/* The entry for key in auths: 1 found, 0 not, -1 (err) undecodable. */
static int entry(json_object *auths, const char *key, const char *file, char **user, char **pass,
		 struct hk_err *err)
{
	json_object *e, *a;

	if (!json_object_object_get_ex(auths, key, &e) ||
	    !json_object_is_type(e, json_type_object) ||
	    !json_object_object_get_ex(e, "auth", &a) || !json_object_is_type(a, json_type_string))
		return 0;
	_cleanup_free_ char *plain = b64_decode(json_object_get_string(a));
	char what[512];
	snprintf(what, sizeof(what), "%s: auths[\"%s\"].auth", file, key);
	if (!plain)
		return hk_fail(err, 0, "%s: not base64", what);
	return split_creds(plain, what, user, pass, err) < 0 ? -1 : 1;
}

static int lookup(json_object *auths, const struct img_ref *ref, const char *file, char **user,
		  char **pass, struct hk_err *err)
{
	/* DOMAIN/PATH, then each shorter repository prefix, then DOMAIN */
	_cleanup_free_ char *key = img_ref_name(ref);
	size_t domain_len = strlen(ref->domain);
	for (;;) {
		int r = entry(auths, key, file, user, pass, err);
		if (r != 0)
			return r;
		char *slash = strrchr(key, '/');
		if (!slash || (size_t)(slash - key) < domain_len)
			break;
		*slash = '\0';
	}
	_cleanup_free_ char *https = xasprintf("https://%s", ref->domain);
	int r = entry(auths, https, file, user, pass, err);
	if (r == 0 && strcmp(ref->domain, "docker.io") == 0)
		r = entry(auths, "https://index.docker.io/v1/", file, user, pass, err);
	return r;
}

int reg_authdir_open(const char *file, bool named, bool create, const char **base,
		     struct hk_err *err)
{
	const char *slash = strrchr(file, '/');
	_cleanup_free_ char *dir =
		slash ? (slash == file ? xstrdup("/")
				       : xasprintf("%.*s", (int)(slash - file), file))
		      : xstrdup(".");

	*base = slash ? slash + 1 : file;
	if (!**base)
		return hk_fail(err, EISDIR, "auth file %s: names no file", file);
	if (!named)
		return hk_open_trusted_dir("auth file", dir, create, 0700, err);
	if (create && slash && slash != file && hk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? hk_fail(err, errno, "auth file %s", file) : fd;
}

char *reg_authfile_read(const char *file, bool named, size_t max, size_t *len, struct hk_err *err)
{
	const char *base;
	struct stat st;
	_cleanup_close_ int dirfd = reg_authdir_open(file, named, false, &base, err);
	if (dirfd < 0)
		return NULL;
	_cleanup_close_ int fd =
		openat(dirfd, base, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (named ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		hk_fail(err, errno == ELOOP ? 0 : errno,
			errno == ELOOP ? "auth file %s: a symbolic link: refused" : "auth file %s",
			file);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		hk_fail(err, errno, "auth file %s", file);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		hk_fail(err, 0, "auth file %s: not a regular file: refused", file);
		return NULL;
	}
	if (!named && (st.st_uid != geteuid() || (st.st_mode & 022))) {
		hk_fail(err, 0,
			"auth file %s: owned by uid %u or writable by others, not husk's user's "
			"alone: refused",
			file, (unsigned)st.st_uid);
		return NULL;
	}
	return hk_read_fd(fd, file, max, len, err);
}

/* 1 found, 0 not (or no such file, unless required), -1 (err) */
static int from_file(const char *file, bool named, bool required, const struct img_ref *ref,
		     char **user, char **pass, struct hk_err *err)
{
	size_t len;
	struct hk_err rerr = {0};
	_cleanup_free_ char *text = reg_authfile_read(file, named, AUTHFILE_MAX, &len, &rerr);

	if (!text) {
		if (!required && rerr.errnum == ENOENT)
			return 0;
		*err = rerr;
		return -1;
	}
	json_object *root = hk_json_parse(text, len, file, err), *auths;
	int r = 0;
	if (!root)
		return hk_err_prefix(err, "auth file");
	if (!json_object_is_type(root, json_type_object))
		r = hk_fail(err, 0, "auth file %s: not a JSON object", file);
	else if (json_object_object_get_ex(root, "auths", &auths) &&
		 json_object_is_type(auths, json_type_object))
		r = lookup(auths, ref, file, user, pass, err);
	json_object_put(root);
	return r;
}

char *reg_authfile(const struct reg_opts *o, bool *named)
{
	const char *given = o->authfile ? o->authfile : getenv("REGISTRY_AUTH_FILE");
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	*named = given && *given;
	if (*named)
		return xstrdup(given);
	if (xdg && *xdg)
		return xasprintf("%s/containers/auth.json", xdg);
	return xasprintf("/run/containers/%u/auth.json", (unsigned)getuid());
}

int reg_creds(const struct img_ref *ref, const struct reg_opts *o, char **user, char **pass,
	      struct hk_err *err)
{
	*user = *pass = NULL;
	if (o->creds) {
		const char *colon = strchr(o->creds, ':');
		if (colon)
			return split_creds(o->creds, "--creds", user, pass, err);
		*user = xstrdup(o->creds);
		*pass = xstrdup("");
		return 0;
	}
	bool named;
	_cleanup_free_ char *podman = reg_authfile(o, &named);
	if (named)
		return from_file(podman, true, true, ref, user, pass, err) < 0 ? -1 : 0;
	const char *home = getenv("HOME");
	_cleanup_free_ char *docker =
		home && *home ? xasprintf("%s/.docker/config.json", home) : NULL;
	int r = from_file(podman, false, false, ref, user, pass, err);
	if (r == 0 && docker)
		r = from_file(docker, false, false, ref, user, pass, err);
	return r < 0 ? -1 : 0;
}
