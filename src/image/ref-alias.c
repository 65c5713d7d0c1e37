/* Short-name aliases (ref.h): written nowhere but the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "image/ref.h"

#define ALIASES_FILE "/etc/husk/aliases.conf"
#define ALIASES_MAX (1 << 20)

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* The target of name in text (malloc'd), NULL when none; -1 (err) for a
 * line that is no alias. */
static int find(char *text, const char *file, const char *name, char **target, struct hk_err *err)
{
	int lineno = 0;

	*target = NULL;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *l = trim(line), *eq = strchr(l, '=');
		if (!*l)
			continue;
		if (!eq)
			return hk_fail(err, 0, "%s:%d: expected NAME = IMAGE", file, lineno);
		*eq = '\0';
		if (strcmp(trim(l), name) == 0 && !*target)
			*target = xstrdup(trim(eq + 1));
	}
	return 0;
}

/* s's name (before a tag or digest) when it has no domain, else NULL */
static char *short_name(const char *s)
{
	size_t n = strcspn(s, "@");
	const char *slash = memchr(s, '/', n), *colon;
	if (slash && (memchr(s, '.', (size_t)(slash - s)) || memchr(s, ':', (size_t)(slash - s)) ||
		      (slash - s == 9 && strncmp(s, "localhost", 9) == 0)))
		return NULL;
	const char *last = memrchr(s, '/', n);
	colon = memchr(last ? last : s, ':', n - (size_t)((last ? last : s) - s));
	size_t len = colon ? (size_t)(colon - s) : n;
	char *out = xzalloc(len + 1);
	memcpy(out, s, len);
	return out;
}

int img_ref_parse_alias(const char *s, const char *file, struct img_ref *ref, struct hk_err *err)
{
	const char *env = getenv("HUSK_ALIASES");

	*ref = (struct img_ref){0};
	file = file ? file : env && *env ? env : ALIASES_FILE;
	const char *in = strncmp(s, "docker://", 9) == 0 ? s + 9 : s;
	_cleanup_free_ char *name = short_name(in);
	if (!name)
		return img_ref_parse(s, ref, err);
	size_t len;
	struct hk_err rerr = {0};
	_cleanup_free_ char *text = hk_read_file(file, ALIASES_MAX, &len, &rerr);
	if (!text) {
		if (rerr.errnum == ENOENT)
			return img_ref_parse(s, ref, err);
		*err = rerr;
		return hk_err_prefix(err, "short-name aliases");
	}
	_cleanup_free_ char *target = NULL;
	if (find(text, file, name, &target, err) < 0)
		return -1;
	if (!target)
		return img_ref_parse(s, ref, err);
	struct img_ref t;
	if (img_ref_parse(target, &t, err) < 0 || strchr(target, '@') ||
	    strchr(strrchr(target, '/') ? strrchr(target, '/') : target, ':') ||
	    !strchr(target, '/')) {
		if (t.domain)
			img_ref_clear(&t);
		return hk_fail(err, 0, "%s: alias %s = %s: not DOMAIN/PATH", file, name, target);
	}
	_cleanup_free_ char *full = xasprintf("%s/%s%s", t.domain, t.path, in + strlen(name));
	img_ref_clear(&t);
	return img_ref_parse(full, ref, err);
}
