/* Image references (ref.h), after the grammar of docker's distribution
 * reference package: path components of lowercase letters and digits
 * joined by '.', '_', "__" or dashes; a tag of at most 128 word characters,
 * '.' and '-' (not first); a name of at most 255 characters. */
#include "image/ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "image/digest.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* one path component: alnum+ ((. | _ | __ | -+) alnum+)* */
static bool component_ok(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !alnum_lower(s[0]) || !alnum_lower(s[len - 1]))
		return false;
	while (i < len) {
		if (alnum_lower(s[i])) {
			i++;
			continue;
		}
		size_t sep = i;
		while (i < len && !alnum_lower(s[i]))
			i++;
		size_t n = i - sep;
		bool dashes = strspn(s + sep, "-") >= n;
		if (!(n == 1 && (s[sep] == '.' || s[sep] == '_')) &&
		    !(n == 2 && s[sep] == '_' && s[sep + 1] == '_') && !dashes)
			return false;
	}
	return true;
}

static bool path_ok(const char *path)
{
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (!component_ok(p, len))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* host[:port]: letters, digits, '-', '.', or a bracketed IPv6 address */
static bool domain_ok(const char *d)
{
	if (!*d)
		return false;
	const char *port = NULL;
	if (d[0] == '[') {
		const char *close = strchr(d, ']');
		if (!close || close == d + 1 ||
		    strspn(d + 1, "0123456789abcdefABCDEF:") != (size_t)(close - d - 1))
			return false;
		if (close[1] && close[1] != ':')
			return false;
		port = close[1] ? close + 2 : NULL;
	} else {
		size_t host = strcspn(d, ":");
		if (host == 0)
			return false;
		for (size_t i = 0; i < host; i++)
			if (!isalnum((unsigned char)d[i]) && d[i] != '-' && d[i] != '.')
				return false;
		port = d[host] ? d + host + 1 : NULL;
	}
	if (port && (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5))
		return false;
	return true;
}

static bool tag_ok(const char *t)
{
	size_t len = strlen(t);

	if (len == 0 || len > TAG_MAX_LEN || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
			return false;
	return true;
}

static bool is_domain(const char *first, size_t len)
{
	return memchr(first, '.', len) || memchr(first, ':', len) ||
	       (len == 9 && memcmp(first, "localhost", 9) == 0);
}

static int split(char *s, struct img_ref *ref, struct hk_err *err)
{
	char *at = strchr(s, '@');
	if (at) {
		*at = '\0';
		char hex[IMG_HEX_LEN + 1];
		if (img_digest_parse(at + 1, "digest", hex, err) < 0)
			return -1;
		ref->digest = xstrdup(at + 1);
	}
	char *slash = strrchr(s, '/');
	char *colon = strrchr(slash ? slash : s, ':');
	if (colon) {
		*colon = '\0';
		if (!tag_ok(colon + 1))
			return hk_fail(err, 0, "\"%s\" is not a valid tag", colon + 1);
		ref->tag = xstrdup(colon + 1);
	}
	slash = strchr(s, '/');
	if (slash && is_domain(s, (size_t)(slash - s))) {
		*slash = '\0';
		ref->domain = xstrdup(s);
		s = slash + 1;
	} else
		ref->domain = xstrdup("docker.io");
	if (strcmp(ref->domain, "index.docker.io") == 0) {
		free(ref->domain);
		ref->domain = xstrdup("docker.io");
	}
	bool hub = strcmp(ref->domain, "docker.io") == 0;
	ref->path = hub && !strchr(s, '/') ? xasprintf("library/%s", s) : xstrdup(s);
	return 0;
}

int img_ref_parse(const char *s, struct img_ref *ref, struct hk_err *err)
{
	*ref = (struct img_ref){0};
	if (strncmp(s, "docker://", 9) == 0)
		s += 9;
	_cleanup_free_ char *copy = xstrdup(s);
	int r = split(copy, ref, err);
	if (r == 0 && !domain_ok(ref->domain))
		r = hk_fail(err, 0, "\"%s\" is not a registry host[:port]", ref->domain);
	if (r == 0 &&
	    (!path_ok(ref->path) || strlen(ref->domain) + 1 + strlen(ref->path) > NAME_MAX_LEN))
		r = hk_fail(err, 0,
			    "\"%s\" is not a repository name (lowercase letters, digits and "
			    "separators, at most %d characters)",
			    ref->path, NAME_MAX_LEN);
	if (r == 0 && !ref->tag && !ref->digest)
		ref->tag = xstrdup("latest");
	if (r < 0) {
		hk_err_prefix(err, "image reference \"%s\"", s);
		img_ref_clear(ref);
	}
	return r;
}

void img_ref_clear(struct img_ref *ref)
{
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	*ref = (struct img_ref){0};
}

char *img_ref_name(const struct img_ref *ref)
{
	return xasprintf("%s/%s", ref->domain, ref->path);
}

char *img_ref_string(const struct img_ref *ref)
{
	return xasprintf("%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "",
			 ref->tag ? ref->tag : "", ref->digest ? "@" : "",
			 ref->digest ? ref->digest : "");
}

const char *img_ref_api_host(const struct img_ref *ref)
{
	return strcmp(ref->domain, "docker.io") == 0 ? "registry-1.docker.io" : ref->domain;
}

/* 127.a.b.c written as an address, digits and three dots only: a name
 * such as 127.evil.test is a host like any other (outside attack: it was
 * taken for loopback, so plain http and credentials in clear). */
static bool loopback_v4(const char *d, size_t len)
{
	int dots = 0, digits = 0;

	if (len < 7 || strncmp(d, "127.", 4) != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (digits == 0 || digits > 3)
				return false;
			dots++;
			digits = 0;
		} else if (d[i] >= '0' && d[i] <= '9') {
			digits++;
		} else {
			return false;
		}
	}
	return dots == 3 && digits > 0 && digits <= 3;
}

bool img_ref_loopback(const struct img_ref *ref)
{
	const char *d = ref->domain;
	size_t host = d[0] == '[' ? strcspn(d, "]") + 1 : strcspn(d, ":");

	return (host == 9 && strncmp(d, "localhost", 9) == 0) || loopback_v4(d, host) ||
	       (host == 5 && strncmp(d, "[::1]", 5) == 0);
}
