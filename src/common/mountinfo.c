#include "common/mountinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"

#define MOUNTINFO_MAX (16 << 20)

/* A field, with the kernel's octal escapes (show_mountinfo's mangle())
 * turned back into characters. */
static char *unescape(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

int mountinfo_parse_line(const char *line, struct hk_mountinfo *out)
{
	_cleanup_free_ char *copy = xstrdup(line);
	char *save = NULL, *f[6], *w;
	int n = 0;

	*out = (struct hk_mountinfo){0};
	/* id parent major:minor root target options [optional...] - type source super */
	for (w = strtok_r(copy, " \n", &save); w && n < 6; w = strtok_r(NULL, " \n", &save))
		f[n++] = w;
	if (n < 6)
		return -1;
	while (w && strcmp(w, "-") != 0)
		w = strtok_r(NULL, " \n", &save);
	char *type = w ? strtok_r(NULL, " \n", &save) : NULL;
	char *source = type ? strtok_r(NULL, " \n", &save) : NULL;
	char *super = source ? strtok_r(NULL, " \n", &save) : NULL;
	char *end1, *end2;
	long id = strtol(f[0], &end1, 10), parent = strtol(f[1], &end2, 10);
	if (!super || *end1 || *end2 || id < 0 || parent < 0 || id > INT32_MAX ||
	    parent > INT32_MAX)
		return -1;
	out->id = (int)id;
	out->parent = (int)parent;
	out->root = unescape(f[3]);
	out->target = unescape(f[4]);
	out->mount_opts = unescape(f[5]);
	out->fstype = unescape(type);
	out->source = unescape(source);
	out->super_opts = unescape(super);
	out->super_raw = xstrdup(super);
	return 0;
}

void mountinfo_clear(struct hk_mountinfo *m)
{
	free(m->root);
	free(m->target);
	free(m->mount_opts);
	free(m->fstype);
	free(m->source);
	free(m->super_opts);
	free(m->super_raw);
	*m = (struct hk_mountinfo){0};
}

void mountinfo_free_all(struct hk_mountinfo *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mountinfo_clear(&v[i]);
	free(v);
}

int mountinfo_read(pid_t pid, struct hk_mountinfo **v, size_t *n, struct hk_err *err)
{
	char path[64];
	char *save = NULL;

	*v = NULL;
	*n = 0;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	_cleanup_free_ char *text = hk_read_file(path, MOUNTINFO_MAX, NULL, err);
	if (!text)
		return -1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct hk_mountinfo m;
		if (mountinfo_parse_line(l, &m) < 0) {
			mountinfo_free_all(*v, *n);
			*v = NULL;
			*n = 0;
			return hk_fail(err, 0, "%s: malformed line \"%.80s\"", path, l);
		}
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = m;
	}
	return 0;
}

char *mountinfo_opt(const char *opts, const char *key)
{
	size_t len = strlen(key);

	for (const char *o = opts; o && *o; o = strchr(o, ',') ? strchr(o, ',') + 1 : NULL) {
		if (strncmp(o, key, len) != 0 || o[len] != '=')
			continue;
		const char *v = o + len + 1, *end = v;
		/* overlayfs escapes a comma inside a path as "\," */
		while (*end && *end != ',') {
			if (end[0] == '\\' && end[1])
				end++;
			end++;
		}
		char *val = xmalloc((size_t)(end - v) + 1);
		memcpy(val, v, (size_t)(end - v));
		val[end - v] = '\0';
		return val;
	}
	return NULL;
}

char **mountinfo_split_layers(const char *lowerdir, size_t *n)
{
	_cleanup_free_ char *copy = xstrdup(lowerdir);
	char **v = NULL, *start = copy;

	*n = 0;
	for (char *p = copy;; p++) {
		if (*p == '\\' && p[1]) {
			memmove(p, p + 1, strlen(p)); /* keep the escaped character */
			continue;
		}
		if (*p != ':' && *p != '\0')
			continue;
		bool last = *p == '\0';
		*p = '\0';
		v = xrealloc(v, (*n + 1) * sizeof(char *));
		v[(*n)++] = xstrdup(start);
		if (last)
			return v;
		start = p + 1;
	}
}

/* In the raw field every ',' inside a value is escaped (\054), so a ','
 * always ends an option. */
static const char *raw_opt(const char *raw, const char *key, size_t *len)
{
	size_t klen = strlen(key);

	for (const char *o = raw; o && *o; o = strchr(o, ',') ? strchr(o, ',') + 1 : NULL) {
		if (strncmp(o, key, klen) != 0 || o[klen] != '=')
			continue;
		*len = strcspn(o + klen + 1, ",");
		return o + klen + 1;
	}
	return NULL;
}

char *mountinfo_raw_opt(const char *raw, const char *key)
{
	size_t len;
	const char *v = raw_opt(raw, key, &len);

	if (!v)
		return NULL;
	_cleanup_free_ char *copy = xasprintf("%.*s", (int)len, v);
	return unescape(copy);
}

static void add_layer(char ***v, size_t *n, char *layer)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = layer;
}

char **mountinfo_overlay_lowers(const char *raw, size_t *n)
{
	char **v = NULL;

	*n = 0;
	_cleanup_free_ char *all = mountinfo_raw_opt(raw, "lowerdir");
	if (all) {
		size_t k;
		char **layers = mountinfo_split_layers(all, &k);
		for (size_t i = 0; i < k; i++)
			add_layer(&v, n, layers[i]);
		free(layers);
	}
	for (const char *o = raw; o && *o; o = strchr(o, ',') ? strchr(o, ',') + 1 : NULL) {
		static const char key[] = "lowerdir+=";
		if (strncmp(o, key, sizeof(key) - 1) != 0)
			continue;
		const char *val = o + sizeof(key) - 1;
		_cleanup_free_ char *copy = xasprintf("%.*s", (int)strcspn(val, ","), val);
		add_layer(&v, n, unescape(copy));
	}
	return v;
}
