/* husk login and logout (registry.h): credentials checked against the
 * registry, then kept in podman's auth file, {"auths": {REGISTRY: {"auth":
 * base64(user:password)}}}, written whole (a temp file renamed over it),
 * 0600, its other entries and keys kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "image/ref.h"
#include "spec/json.h"
#include "registry/registry.h"

#define AUTHFILE_MAX (1 << 20)

static char *b64_encode(const char *s)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), n = 0;
	char *out = xzalloc((len + 2) / 3 * 4 + 1);
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[n++] = digits[(v >> 18) & 63];
		out[n++] = digits[(v >> 12) & 63];
		out[n++] = i + 1 < len ? digits[(v >> 6) & 63] : '=';
		out[n++] = i + 2 < len ? digits[v & 63] : '=';
	}
	return out;
}

/* The auth file's JSON (a new object when there is none yet). */
static json_object *load(const char *file, bool named, struct hk_err *err)
{
	size_t len;
	struct hk_err rerr = {0};
	_cleanup_free_ char *text = reg_authfile_read(file, named, AUTHFILE_MAX, &len, &rerr);

	if (!text && rerr.errnum != ENOENT) {
		*err = rerr;
		return NULL;
	}
	json_object *root = text ? hk_json_parse(text, len, file, err) : json_object_new_object();
	if (!root) {
		hk_err_prefix(err, "auth file");
		return NULL;
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		hk_fail(err, 0, "auth file %s: not a JSON object", file);
		return NULL;
	}
	return root;
}

/* Written whole: a new file renamed over the old (never through a link
 * planted at its name), 0600. */
static int save(const char *file, bool named, json_object *root, struct hk_err *err)
{
	const char *base;
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	_cleanup_close_ int dirfd = reg_authdir_open(file, named, true, &base, err);

	if (dirfd < 0)
		return -1;
	_cleanup_free_ char *line = xasprintf("%s\n", text);
	if (hk_write_atomic_mode(dirfd, base, line, strlen(line), 0600, err) < 0)
		return hk_err_prefix(err, "auth file %s", file);
	return 0;
}

/* host[:port], as the auth file's key and the registry's address */
static int check_registry(const char *registry, struct hk_err *err)
{
	struct img_ref ref;
	struct hk_err perr = {0};
	_cleanup_free_ char *probe = xasprintf("%s/x", registry);
	bool ok = !strchr(registry, '/') && img_ref_parse(probe, &ref, &perr) == 0;

	if (ok) {
		ok = strcmp(ref.domain, registry) == 0;
		img_ref_clear(&ref);
	}
	if (!ok)
		return hk_fail(err, 0,
			       "registry \"%s\": expected HOST[:PORT] (as quay.io or "
			       "127.0.0.1:5000)",
			       registry);
	return 0;
}

int reg_login(const char *registry, const char *user, const char *pass, const struct reg_opts *o,
	      struct hk_err *err)
{
	struct img_ref ref = {.domain = (char *)(uintptr_t)registry};
	struct reg_opts check = *o;
	struct reg_client c;

	if (check_registry(registry, err) < 0)
		return hk_err_prefix(err, "login");
	_cleanup_free_ char *creds = xasprintf("%s:%s", user, pass);

	/* the credentials tried are these, not what a file has */
	check.creds = creds;
	int r = reg_open(&c, &ref, &check, err);
	reg_close(&c);
	explicit_bzero(creds, strlen(creds));
	if (r < 0)
		return hk_err_prefix(err, "login %s", registry);
	bool named;
	_cleanup_free_ char *file = reg_authfile(o, &named);
	json_object *root = load(file, named, err), *auths;
	if (!root)
		return -1;
	if (!json_object_object_get_ex(root, "auths", &auths) ||
	    !json_object_is_type(auths, json_type_object)) {
		auths = json_object_new_object();
		json_object_object_add(root, "auths", auths);
	}
	_cleanup_free_ char *plain = xasprintf("%s:%s", user, pass);
	_cleanup_free_ char *token = b64_encode(plain);
	explicit_bzero(plain, strlen(plain));
	json_object *entry = json_object_new_object();
	json_object_object_add(entry, "auth", json_object_new_string(token));
	json_object_object_add(auths, registry, entry);
	r = save(file, named, root, err);
	json_object_put(root);
	return r;
}

int reg_logout(const char *registry, const struct reg_opts *o, struct hk_err *err)
{
	bool named;
	_cleanup_free_ char *file = reg_authfile(o, &named);
	json_object *root = load(file, named, err), *auths;

	if (!root)
		return -1;
	int r = 0;
	bool has = json_object_object_get_ex(root, "auths", &auths) &&
		   json_object_is_type(auths, json_type_object);
	if (!registry)
		json_object_object_add(root, "auths", json_object_new_object());
	else if (!has || !json_object_object_get_ex(auths, registry, NULL))
		r = hk_fail(err, 0, "logout %s: not logged in (no entry in %s)", registry, file);
	else
		json_object_object_del(auths, registry);
	if (r == 0)
		r = save(file, named, root, err);
	json_object_put(root);
	return r;
}
