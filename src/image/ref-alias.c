/* Short-name aliases (ref.h): written nowhere but a file, the [aliases]
 * table of a registries.conf as podman has it (containers-registries.conf
 * (5)), read by a parser of that much TOML: comments, the [aliases]
 * header, and lines NAME = "DOMAIN/PATH" with NAME a bare key or a quoted
 * one (basic strings with \" and \\ escapes, or literal ones). Anything
 * else (another table, a key outside [aliases], an array) is an error
 * naming the file and the line: husk would not honour podman's search
 * lists, mirrors or blocked registries, and says so rather than ignoring
 * them.
 *
 * The file: $HUSK_REGISTRIES_CONF (taken as the caller names it), else
 * ~/.config/husk/registries.conf when it exists, else
 * /etc/husk/registries.conf (the user's file instead of the system's, as
 * podman does). An alias decides which image runs: the default files are
 * reached as trusted.h's hk_open_config_dir and _file have it (root's or
 * the caller's all the way, writable by nobody else, the file no link):
 * under sudo $HOME may still be another user's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "image/ref.h"

#define SYSTEM_DIR "/etc/husk"
#define CONF_NAME "registries.conf"
#define CONF_MAX (1 << 20)

struct parser {
	const char *file;
	int line;
	bool in_aliases;
	const char *want; /* the short name looked up */
	char *target;     /* its alias (malloc'd), once found */
	char **seen;      /* the names of the file so far: each once */
	size_t n_seen;
	struct hk_err *err;
};

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Nothing but a comment after p. */
static bool line_ends(const char *p)
{
	p = skip_ws(p);
	return !*p || *p == '#' || (*p == '\r' && !p[1]);
}

static int fail(struct parser *ps, const char *what)
{
	return hk_fail(ps->err, 0, "%s:%d: %s", ps->file, ps->line, what);
}

/* A quoted string at *p ('"' basic, '\'' literal), into *out. */
static int quoted(struct parser *ps, const char **p, char **out)
{
	char q = **p;
	const char *s = *p + 1;
	size_t n = 0;
	char *buf = xzalloc(strlen(s) + 1);

	if (q == '"' && s[0] == '"' && s[1] == '"') {
		free(buf);
		return fail(ps, "multi-line strings are more TOML than husk reads");
	}
	for (; *s && *s != q; s++) {
		if (q == '"' && *s == '\\') {
			if (s[1] != '"' && s[1] != '\\') {
				free(buf);
				return fail(ps, "only \\\" and \\\\ escapes are read");
			}
			s++;
		}
		buf[n++] = *s;
	}
	if (*s != q) {
		free(buf);
		return fail(ps, "an unterminated string");
	}
	*p = s + 1;
	*out = buf;
	return 0;
}

static int bare_key(struct parser *ps, const char **p, char **out)
{
	size_t n = strspn(*p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

	if (!n)
		return fail(ps, "expected [aliases] or NAME = \"IMAGE\"");
	*out = xzalloc(n + 1);
	memcpy(*out, *p, n);
	*p += n;
	return 0;
}

/* [TABLE]: only [aliases]. */
static int header(struct parser *ps, const char *p)
{
	if (p[1] == '[')
		return fail(ps, "an array of tables ([[registry]]...): husk reads only the "
				"[aliases] table of registries.conf");
	p = skip_ws(p + 1);
	size_t n = strcspn(p, " \t]");
	const char *close = strchr(p, ']');
	if (!close || !line_ends(close + 1))
		return fail(ps, "expected [aliases]");
	ps->in_aliases = n == 7 && strncmp(p, "aliases", 7) == 0 && skip_ws(p + n) == close;
	if (!ps->in_aliases)
		return fail(ps, "a table other than [aliases]: husk reads only that one of "
				"registries.conf");
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

/* podman's rules: NAME a short name (no domain, tag or digest), IMAGE
 * fully qualified (a domain) without tag or digest, or "" (no alias). */
static int check_alias(struct parser *ps, const char *name, const char *value)
{
	struct img_ref r;
	struct hk_err perr = {0};
	_cleanup_free_ char *bare = short_name(name);
	char what[600];

	if (!bare || strcmp(bare, name) != 0 || img_ref_parse(name, &r, &perr) < 0) {
		snprintf(what, sizeof(what),
			 "alias \"%s\": not a short name (no registry, tag or digest)", name);
		return fail(ps, what);
	}
	img_ref_clear(&r);
	if (!*value)
		return 0;
	_cleanup_free_ char *vname = short_name(value);
	const char *last = strrchr(value, '/');
	if (vname || strchr(value, '@') || (last && strchr(last, ':')) ||
	    img_ref_parse(value, &r, &perr) < 0) {
		snprintf(what, sizeof(what),
			 "alias \"%s\" = \"%s\": expected DOMAIN/PATH, without tag or digest", name,
			 value);
		return fail(ps, what);
	}
	img_ref_clear(&r);
	return 0;
}

static int remember(struct parser *ps, const char *name)
{
	char what[600];

	for (size_t i = 0; i < ps->n_seen; i++)
		if (strcmp(ps->seen[i], name) == 0) {
			snprintf(what, sizeof(what), "alias \"%s\" given twice", name);
			return fail(ps, what);
		}
	ps->seen = xrealloc(ps->seen, (ps->n_seen + 1) * sizeof(*ps->seen));
	ps->seen[ps->n_seen++] = xstrdup(name);
	return 0;
}

/* NAME = "IMAGE" */
static int pair(struct parser *ps, const char *p)
{
	_cleanup_free_ char *name = NULL, *value = NULL;

	if ((*p == '"' || *p == '\'' ? quoted(ps, &p, &name) : bare_key(ps, &p, &name)) < 0)
		return -1;
	p = skip_ws(p);
	if (*p == '.')
		return fail(ps, "dotted keys are more TOML than husk reads");
	if (*p != '=')
		return fail(ps, "expected NAME = \"IMAGE\"");
	p = skip_ws(p + 1);
	if (*p != '"' && *p != '\'')
		return fail(ps, "an alias is a string, \"DOMAIN/PATH\"");
	if (quoted(ps, &p, &value) < 0)
		return -1;
	if (!line_ends(p))
		return fail(ps, "more after the alias's value");
	if (!ps->in_aliases)
		return fail(ps, "a key outside [aliases]: husk reads only that table of "
				"registries.conf");
	if (check_alias(ps, name, value) < 0 || remember(ps, name) < 0)
		return -1;
	if (strcmp(name, ps->want) == 0 && *value)
		ps->target = TAKE_PTR(value);
	return 0;
}

static int parse(struct parser *ps, char *text)
{
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ps->line++;
		const char *p = skip_ws(line);
		if (line_ends(p))
			continue;
		if ((*p == '[' ? header(ps, p) : pair(ps, p)) < 0)
			return -1;
	}
	return 0;
}

/* The text of the file aliases come from (NULL with *file NULL when there
 * is none), or NULL (err). *file is malloc'd. */
static char *read_named(const char *named, struct hk_err *err)
{
	const char *slash = strrchr(named, '/');
	_cleanup_free_ char *dir = !slash ? xstrdup(".")
				   : slash == named
					   ? xstrdup("/")
					   : xasprintf("%.*s", (int)(slash - named), named);
	const char *base = slash ? slash + 1 : named;
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t len;

	if (dirfd < 0) {
		hk_fail(err, errno, "%s", named);
		return NULL;
	}
	/* errors say "DIR/NAME": "/NAME" for one in / */
	_cleanup_close_ int fd =
		hk_open_config_file(dirfd, slash == named ? "" : dir, base, false, err);
	return fd < 0 ? NULL : hk_read_fd(fd, named, CONF_MAX, &len, err);
}

static char *read_conf(const char *named, char **file, struct hk_err *err)
{
	const char *home = getenv("HOME");
	_cleanup_free_ char *user = home && *home ? xasprintf("%s/.config/husk", home) : NULL;
	const char *dirs[] = {user, SYSTEM_DIR};
	size_t len;

	*file = NULL;
	if (named) {
		*file = xstrdup(named);
		return read_named(named, err);
	}
	for (size_t i = 0; i < 2; i++) {
		if (!dirs[i])
			continue;
		struct hk_err derr = {0};
		_cleanup_close_ int dirfd = hk_open_config_dir("registries.conf", dirs[i], &derr);
		_cleanup_free_ char *path = xasprintf("%s/%s", dirs[i], CONF_NAME);
		_cleanup_close_ int fd =
			dirfd < 0 ? -1
				  : hk_open_config_file(dirfd, dirs[i], CONF_NAME, true, &derr);
		if (fd < 0 && derr.errnum == ENOENT)
			continue;
		*file = TAKE_PTR(path);
		if (fd < 0) {
			*err = derr;
			return NULL;
		}
		return hk_read_fd(fd, *file, CONF_MAX, &len, err);
	}
	return NULL;
}

static int alias_of(const char *name, const char *named, char **target, struct hk_err *err)
{
	_cleanup_free_ char *file = NULL;
	struct hk_err rerr = {0};
	_cleanup_free_ char *text = read_conf(named, &file, &rerr);

	*target = NULL;
	if (!text && file) {
		*err = rerr;
		return hk_err_prefix(err, "short-name aliases");
	}
	if (!text)
		return 0;
	struct parser ps = {.file = file, .want = name, .err = err};
	int r = parse(&ps, text) < 0 ? hk_err_prefix(err, "short-name aliases") : 0;
	for (size_t i = 0; i < ps.n_seen; i++)
		free(ps.seen[i]);
	free(ps.seen);
	if (r == 0)
		*target = TAKE_PTR(ps.target);
	free(ps.target);
	return r;
}

int img_ref_parse_alias(const char *s, const char *file, struct img_ref *ref, struct hk_err *err)
{
	const char *env = getenv("HUSK_REGISTRIES_CONF");

	*ref = (struct img_ref){0};
	file = file ? file : env && *env ? env : NULL;
	const char *in = strncmp(s, "docker://", 9) == 0 ? s + 9 : s;
	_cleanup_free_ char *name = short_name(in);
	_cleanup_free_ char *target = NULL;
	if (!name)
		return img_ref_parse(s, ref, err);
	if (alias_of(name, file, &target, err) < 0)
		return -1;
	if (!target)
		return img_ref_parse(s, ref, err);
	_cleanup_free_ char *full = xasprintf("%s%s", target, in + strlen(name));
	return img_ref_parse(full, ref, err);
}
