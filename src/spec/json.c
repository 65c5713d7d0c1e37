#include "spec/json.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"

/* A strict RFC 8259 check before json-c sees the text: json-c 0.16's
 * "strict" mode still takes single quotes, raw control characters in
 * strings, NaN and malformed UTF-8, and saturates integers past 64 bits
 * (2^64 would read as UINT64_MAX, "unlimited" for an rlimit). */
struct jcheck {
	const unsigned char *p, *end;
	const char *what;
	const unsigned char *start;
	struct hk_err *err;
};

#define JSON_MAX_DEPTH 64

static int jfail(struct jcheck *c, const char *why)
{
	return hk_fail(c->err, 0, "%s: invalid JSON at offset %zu: %s", c->what,
		       (size_t)(c->p - c->start), why);
}

static void jws(struct jcheck *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int jcont(struct jcheck *c, unsigned char lo, unsigned char hi, int more)
{
	for (int i = 0; i < more; i++, lo = 0x80, hi = 0xbf) {
		if (++c->p >= c->end || *c->p < lo || *c->p > hi)
			return jfail(c, "malformed UTF-8");
	}
	c->p++;
	return 0;
}

/* One UTF-8 sequence: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int jutf8(struct jcheck *c)
{
	unsigned char b = *c->p;
	if (b >= 0xc2 && b <= 0xdf)
		return jcont(c, 0x80, 0xbf, 1);
	if (b == 0xe0)
		return jcont(c, 0xa0, 0xbf, 2);
	if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
		return jcont(c, 0x80, 0xbf, 2);
	if (b == 0xed)
		return jcont(c, 0x80, 0x9f, 2);
	if (b == 0xf0)
		return jcont(c, 0x90, 0xbf, 3);
	if (b >= 0xf1 && b <= 0xf3)
		return jcont(c, 0x80, 0xbf, 3);
	if (b == 0xf4)
		return jcont(c, 0x80, 0x8f, 3);
	return jfail(c, "malformed UTF-8");
}

static int jhex4(struct jcheck *c, unsigned *u)
{
	*u = 0;
	for (int i = 0; i < 4; i++, c->p++) {
		if (c->p >= c->end || !isxdigit(*c->p))
			return jfail(c, "bad \\u escape");
		*u = *u * 16 + (unsigned)(isdigit(*c->p) ? *c->p - '0' : (*c->p | 0x20) - 'a' + 10);
	}
	return 0;
}

static int jescape(struct jcheck *c)
{
	unsigned u, lo;

	c->p++; /* the backslash */
	if (c->p >= c->end)
		return jfail(c, "unterminated string");
	if (strchr("\"\\/bfnrt", *c->p) && *c->p) {
		c->p++;
		return 0;
	}
	if (*c->p != 'u')
		return jfail(c, "bad escape");
	c->p++;
	if (jhex4(c, &u) < 0)
		return -1;
	if (u >= 0xdc00 && u <= 0xdfff)
		return jfail(c, "lone low surrogate");
	if (u < 0xd800 || u > 0xdbff)
		return 0;
	if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
		return jfail(c, "lone high surrogate");
	c->p += 2;
	if (jhex4(c, &lo) < 0)
		return -1;
	return lo >= 0xdc00 && lo <= 0xdfff ? 0 : jfail(c, "lone high surrogate");
}

static int jstring(struct jcheck *c)
{
	c->p++; /* the quote */
	while (c->p < c->end && *c->p != '"') {
		if (*c->p < 0x20)
			return jfail(c, "control character in a string");
		if (*c->p == '\\') {
			if (jescape(c) < 0)
				return -1;
		} else if (*c->p >= 0x80) {
			if (jutf8(c) < 0)
				return -1;
		} else {
			c->p++;
		}
	}
	if (c->p >= c->end)
		return jfail(c, "unterminated string");
	c->p++;
	return 0;
}

static int jdigits(struct jcheck *c)
{
	const unsigned char *from = c->p;
	while (c->p < c->end && isdigit(*c->p))
		c->p++;
	return c->p > from ? 0 : jfail(c, "bad number");
}

static int jnumber(struct jcheck *c)
{
	const unsigned char *from = c->p;
	bool integer = true;
	char buf[32];

	if (*c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (jdigits(c) < 0)
		return -1;
	if (c->p < c->end && *c->p == '.') {
		integer = false;
		c->p++;
		if (jdigits(c) < 0)
			return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		integer = false;
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (jdigits(c) < 0)
			return -1;
	}
	if (!integer)
		return 0;
	size_t n = (size_t)(c->p - from);
	if (n >= sizeof(buf))
		return jfail(c, "integer out of range");
	memcpy(buf, from, n);
	buf[n] = '\0';
	errno = 0;
	if (buf[0] == '-')
		(void)strtoll(buf, NULL, 10);
	else
		(void)strtoull(buf, NULL, 10);
	return errno == ERANGE ? jfail(c, "integer out of range") : 0;
}

static int jliteral(struct jcheck *c, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return jfail(c, "unexpected character");
	c->p += n;
	return 0;
}

static int jvalue(struct jcheck *c, int depth);

static int jcontainer(struct jcheck *c, int depth, bool object)
{
	unsigned char close = object ? '}' : ']';

	if (depth >= JSON_MAX_DEPTH)
		return jfail(c, "nested too deep");
	c->p++;
	jws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		if (object) {
			jws(c);
			if (c->p >= c->end || *c->p != '"')
				return jfail(c, "expected a string key");
			if (jstring(c) < 0)
				return -1;
			jws(c);
			if (c->p >= c->end || *c->p != ':')
				return jfail(c, "expected ':'");
			c->p++;
		}
		if (jvalue(c, depth + 1) < 0)
			return -1;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return 0;
		}
		return jfail(c, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int jvalue(struct jcheck *c, int depth)
{
	int r;

	jws(c);
	if (c->p >= c->end)
		return jfail(c, "unexpected end of input");
	switch (*c->p) {
	case '{':
		r = jcontainer(c, depth, true);
		break;
	case '[':
		r = jcontainer(c, depth, false);
		break;
	case '"':
		r = jstring(c);
		break;
	case 't':
		r = jliteral(c, "true");
		break;
	case 'f':
		r = jliteral(c, "false");
		break;
	case 'n':
		r = jliteral(c, "null");
		break;
	default:
		r = (*c->p == '-' || isdigit(*c->p)) ? jnumber(c)
						     : jfail(c, "unexpected character");
		break;
	}
	jws(c);
	return r;
}

static int check_strict(const char *text, size_t len, const char *what, struct hk_err *err)
{
	struct jcheck c = {(const unsigned char *)text, (const unsigned char *)text + len, what,
			   (const unsigned char *)text, err};

	/* Every document husk reads is an object (or an array): anything
	 * else, "null" included, is refused here with a clear reason. */
	jws(&c);
	if (c.p < c.end && *c.p != '{' && *c.p != '[')
		return jfail(&c, "expected an object");
	if (jvalue(&c, 0) < 0)
		return -1;
	return c.p == c.end ? 0 : jfail(&c, "trailing data");
}

hk_json *hk_json_parse(const char *text, size_t len, const char *what, struct hk_err *err)
{
	struct json_tokener *tok = json_tokener_new();
	hk_json *j;

	if (!tok) {
		hk_fail(err, ENOMEM, "%s: json tokener", what);
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	if (len > INT32_MAX) {
		json_tokener_free(tok);
		hk_fail(err, 0, "%s: too large", what);
		return NULL;
	}
	if (check_strict(text, len, what, err) < 0) {
		json_tokener_free(tok);
		return NULL;
	}
	j = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		hk_fail(err, 0, "%s: invalid JSON: unexpected end of input", what);
		json_object_put(j);
		j = NULL;
	} else if (jerr != json_tokener_success) {
		hk_fail(err, 0, "%s: invalid JSON at offset %zu: %s", what,
			json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
		j = NULL;
	} else {
		size_t end = json_tokener_get_parse_end(tok);
		for (; end < len; end++) {
			if (text[end] == '\0' || !strchr(" \t\r\n", text[end])) {
				hk_fail(err, 0, "%s: invalid JSON: trailing data at offset %zu",
					what, end);
				json_object_put(j);
				j = NULL;
				break;
			}
		}
	}
	json_tokener_free(tok);
	if (!j && err && !err->msg[0])
		hk_fail(err, 0, "%s: expected a JSON object, got null", what);
	return j;
}

void hk_json_put(hk_json *j)
{
	json_object_put(j);
}

const char *hk_json_path(char *buf, size_t size, const char *path, const char *key)
{
	if (path && *path)
		snprintf(buf, size, "%s.%s", path, key);
	else
		snprintf(buf, size, "%s", key);
	return buf;
}

static const char *type_name(hk_json *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	default:
		return "an unknown type";
	}
}

static int wrong_type(const char *path, const char *want, hk_json *v, struct hk_err *err)
{
	return hk_fail(err, 0, "%s: expected %s, got %s", path, want, type_name(v));
}

/* Look key up: 0 absent or null, 1 present (*out set). */
static int lookup(hk_json *obj, const char *key, hk_json **out)
{
	hk_json *v = NULL;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
		return 0;
	*out = v;
	return 1;
}

bool hk_json_has(hk_json *obj, const char *key)
{
	hk_json *v;
	return lookup(obj, key, &v) == 1;
}

int hk_json_as_obj(hk_json *v, const char *path, struct hk_err *err)
{
	if (!json_object_is_type(v, json_type_object))
		return wrong_type(path, "an object", v, err);
	return 1;
}

int hk_json_as_arr(hk_json *v, const char *path, size_t *len, struct hk_err *err)
{
	if (!json_object_is_type(v, json_type_array))
		return wrong_type(path, "an array", v, err);
	*len = json_object_array_length(v);
	return 1;
}

int hk_json_get_obj(hk_json *obj, const char *path, const char *key, hk_json **out,
		    struct hk_err *err)
{
	char p[512];
	hk_json *v;

	if (!lookup(obj, key, &v))
		return 0;
	/* The JSON path is formatted only for an error: on the way to success
	 * it cost a fifth of reading a state file. */
	if (!json_object_is_type(v, json_type_object))
		return wrong_type(hk_json_path(p, sizeof(p), path, key), "an object", v, err);
	*out = v;
	return 1;
}

int hk_json_get_arr(hk_json *obj, const char *path, const char *key, hk_json **out, size_t *len,
		    struct hk_err *err)
{
	char p[512];
	hk_json *v;

	if (!lookup(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return wrong_type(hk_json_path(p, sizeof(p), path, key), "an array", v, err);
	*out = v;
	*len = json_object_array_length(v);
	return 1;
}

hk_json *hk_json_at(hk_json *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

int hk_json_as_str(hk_json *v, const char *path, char **out, struct hk_err *err)
{
	if (!v || !json_object_is_type(v, json_type_string))
		return wrong_type(path, "a string", v, err);
	const char *s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return hk_fail(err, 0, "%s: string contains a NUL byte", path);
	*out = xstrdup(s);
	return 1;
}

int hk_json_get_str(hk_json *obj, const char *path, const char *key, char **out, struct hk_err *err)
{
	char p[512];
	hk_json *v;

	if (!lookup(obj, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if ((size_t)json_object_get_string_len(v) == strlen(s)) {
			*out = xstrdup(s);
			return 1;
		}
	}
	return hk_json_as_str(v, hk_json_path(p, sizeof(p), path, key), out, err);
}

int hk_json_get_bool(hk_json *obj, const char *path, const char *key, bool *out, struct hk_err *err)
{
	char p[512];
	hk_json *v;

	if (!lookup(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return wrong_type(hk_json_path(p, sizeof(p), path, key), "a boolean", v, err);
	*out = json_object_get_boolean(v);
	return 1;
}

int hk_json_as_i64(hk_json *v, const char *path, int64_t min, int64_t max, int64_t *out,
		   struct hk_err *err)
{
	if (!v || !json_object_is_type(v, json_type_int))
		return wrong_type(path, "an integer", v, err);
	errno = 0;
	int64_t x = json_object_get_int64(v);
	/* json-c saturates at INT64_MAX for larger (uint64) values. */
	if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return hk_fail(err, 0, "%s: %s out of range [%lld, %lld]", path,
			       json_object_to_json_string(v), (long long)min, (long long)max);
	if (x < min || x > max)
		return hk_fail(err, 0, "%s: %lld out of range [%lld, %lld]", path, (long long)x,
			       (long long)min, (long long)max);
	*out = x;
	return 1;
}

int hk_json_get_i64(hk_json *obj, const char *path, const char *key, int64_t min, int64_t max,
		    int64_t *out, struct hk_err *err)
{
	char p[512];
	hk_json *v;

	if (!lookup(obj, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t x = json_object_get_int64(v);
		if (x >= min && x <= max && x != INT64_MAX) {
			*out = x;
			return 1;
		}
	}
	return hk_json_as_i64(v, hk_json_path(p, sizeof(p), path, key), min, max, out, err);
}

int hk_json_get_u64(hk_json *obj, const char *path, const char *key, uint64_t *out,
		    struct hk_err *err)
{
	char p[512];
	hk_json *v;

	if (!lookup(obj, key, &v))
		return 0;
	hk_json_path(p, sizeof(p), path, key);
	if (!json_object_is_type(v, json_type_int))
		return wrong_type(p, "an integer", v, err);
	if (json_object_get_int64(v) < 0)
		return hk_fail(err, 0, "%s: must not be negative", p);
	*out = json_object_get_uint64(v);
	return 1;
}

int hk_json_get_strv(hk_json *obj, const char *path, const char *key, char ***out, size_t *n,
		     struct hk_err *err)
{
	char p[512], ep[600];
	hk_json *arr;
	size_t len;
	int r;

	r = hk_json_get_arr(obj, path, key, &arr, &len, err);
	if (r <= 0)
		return r;
	hk_json_path(p, sizeof(p), path, key);
	char **v = xcalloc(len + 1, sizeof(char *));
	for (size_t i = 0; i < len; i++) {
		snprintf(ep, sizeof(ep), "%s[%zu]", p, i);
		if (hk_json_as_str(hk_json_at(arr, i), ep, &v[i], err) < 0) {
			for (size_t k = 0; k < i; k++)
				free(v[k]);
			free(v);
			return -1;
		}
	}
	*out = v;
	*n = len;
	return 1;
}

int hk_json_foreach(hk_json *obj, int (*fn)(const char *key, hk_json *val, void *data), void *data)
{
	json_object_object_foreach(obj, key, val)
	{
		if (fn(key, val, data) < 0)
			return -1;
	}
	return 0;
}

hk_json *hk_json_new_obj(void)
{
	return json_object_new_object();
}

hk_json *hk_json_new_arr(void)
{
	return json_object_new_array();
}

hk_json *hk_json_new_int(int64_t v)
{
	return json_object_new_int64(v);
}

hk_json *hk_json_new_u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

void hk_json_set_u64(hk_json *obj, const char *key, uint64_t val)
{
	json_object_object_add(obj, key, json_object_new_uint64(val));
}

hk_json *hk_json_new_str(const char *s)
{
	return json_object_new_string(s);
}

void hk_json_set(hk_json *obj, const char *key, hk_json *val)
{
	json_object_object_add(obj, key, val);
}

void hk_json_set_str(hk_json *obj, const char *key, const char *val)
{
	json_object_object_add(obj, key, json_object_new_string(val));
}

void hk_json_set_int(hk_json *obj, const char *key, int64_t val)
{
	json_object_object_add(obj, key, json_object_new_int64(val));
}

void hk_json_set_bool(hk_json *obj, const char *key, bool val)
{
	json_object_object_add(obj, key, json_object_new_boolean(val));
}

void hk_json_append(hk_json *arr, hk_json *val)
{
	json_object_array_add(arr, val);
}

char *hk_json_dump(hk_json *j, int style)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
	if (style == 2)
		flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
			 JSON_C_TO_STRING_SPACED;
	else if (style == 1)
		flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	else
		flags |= JSON_C_TO_STRING_PLAIN;
	return xstrdup(json_object_to_json_string_ext(j, flags));
}
