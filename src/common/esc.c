#include "common/esc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

/* Length of the well-formed UTF-8 sequence at s (1 to 4 bytes, RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF) with its code
 * point in *cp; 0 when s does not start one. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	uint32_t v, min;
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
			return 0;
		v = v << 6 | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Characters a terminal acts on, or that change how a line reads. */
static bool cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c ||
	       cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

struct sink {
	char *out;
	size_t size;
	size_t need;    /* the whole result's length */
	size_t written; /* what fitted, whole pieces only */
	bool full;
};

static void put(struct sink *k, const char *p, size_t n)
{
	if (!k->full && k->written + n < k->size) {
		memcpy(k->out + k->written, p, n);
		k->written += n;
	} else {
		k->full = true;
	}
	k->need += n;
}

static void put_fmt(struct sink *k, const char *fmt, unsigned v)
{
	char buf[8];
	int n = snprintf(buf, sizeof(buf), fmt, v);

	put(k, buf, (size_t)n);
}

/* One ASCII byte, in mode. */
static void put_ascii(struct sink *k, unsigned char c, enum hk_esc_mode mode)
{
	static const char shorts[] = {
		['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
	bool control = c < 0x20 || c == 0x7f;

	if (mode == HK_ESC_TEXT && control) {
		put_fmt(k, "\\x%02x", c);
	} else if (mode == HK_ESC_JSON && (c == '"' || c == '\\')) {
		char esc[2] = {'\\', (char)c};
		put(k, esc, 2);
	} else if (mode == HK_ESC_JSON && c < sizeof(shorts) && shorts[c]) {
		char esc[2] = {'\\', shorts[c]};
		put(k, esc, 2);
	} else if ((mode == HK_ESC_JSON && control) || (mode == HK_ESC_JSON_TEXT && c == 0x7f)) {
		/* JSON_TEXT: a raw C0 byte is json-c's own layout (newlines,
		 * tabs of pretty printing), never inside a string. */
		put_fmt(k, "\\u%04x", c);
	} else {
		put(k, (const char *)&c, 1);
	}
}

size_t hk_esc_into(const char *s, enum hk_esc_mode mode, char *out, size_t size)
{
	struct sink k = {out, size, 0, 0, false};
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		size_t len = utf8_seq(p, &cp);
		if (len == 1) {
			put_ascii(&k, *p, mode);
		} else if (len == 0 && mode == HK_ESC_TEXT) {
			put_fmt(&k, "\\x%02x", *p);
		} else if (len == 0) {
			put(&k, "\\ufffd", 6);
		} else if (cp_unsafe(cp)) {
			put_fmt(&k, "\\u%04x", cp);
		} else {
			put(&k, (const char *)p, len);
		}
		p += len ? len : 1;
	}
	if (size > 0)
		out[k.written] = '\0';
	return k.need;
}

char *hk_esc_mode(const char *s, enum hk_esc_mode mode)
{
	size_t n = hk_esc_into(s, mode, NULL, 0);
	char *out = xmalloc(n + 1);

	hk_esc_into(s, mode, out, n + 1);
	return out;
}

char *hk_esc(const char *s)
{
	return hk_esc_mode(s, HK_ESC_TEXT);
}

bool hk_esc_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		size_t len = utf8_seq(p, &cp);
		if (len == 0 || cp_unsafe(cp))
			return false;
		p += len;
	}
	return true;
}

bool hk_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	while (*p) {
		size_t len = utf8_seq(p, &cp);
		if (!len)
			return false;
		p += len;
	}
	return true;
}
