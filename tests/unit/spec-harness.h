/* The harness of the spec tests (test_spec*.c): a bundle in a temp dir
 * with a rootfs/ in it, a small valid config (base_json), and ways to edit
 * it with json-c and check what spec/ makes of it. */
#ifndef HUSK_TESTS_SPEC_HARNESS_H
#define HUSK_TESTS_SPEC_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "spec/decode.h"
#include "spec/spec.h"

static char bundle[PATH_MAX];

static const char base_json[] =
	"{"
	"\"ociVersion\": \"1.0.0\","
	"\"root\": {\"path\": \"rootfs\"},"
	"\"process\": {\"args\": [\"/bin/sh\", \"-c\", \"true\"], \"cwd\": \"/work\"},"
	"\"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}"
	"}";

/* The value of an edit that removes the member instead of setting it. */
static const char DEL[] = "<delete>";

static inline char *bundle_path(const char *name)
{
	static char buf[PATH_MAX + 64];
	snprintf(buf, sizeof(buf), "%s/%s", bundle, name);
	return buf;
}

static inline int bundle_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(bundle, sizeof(bundle), "%s/husk-unit-spec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(bundle))
		return -1;
	if (mkdir(bundle_path("rootfs"), 0755) < 0)
		return -1;
	int fd = open(bundle_path("afile"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static inline int bundle_teardown(void **state)
{
	(void)state;
	unlink(bundle_path("config.json"));
	unlink(bundle_path("afile"));
	rmdir(bundle_path("rootfs"));
	return rmdir(bundle);
}

static inline json_object *parse_value(const char *text)
{
	if (strcmp(text, "null") == 0)
		return NULL;
	json_object *v = json_tokener_parse(text);
	if (!v)
		fail_msg("test bug: edit value is not JSON: %s", text);
	return v;
}

/* Set path ("linux.namespaces[0].type") in doc to the JSON text val, making
 * the objects on the way; DEL removes it. Keys with dots cannot be named:
 * set their parent object whole. */
static inline void patch(json_object *doc, const char *path, const char *val)
{
	char buf[256];
	char *save = NULL;
	json_object *cur = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	char *tok = strtok_r(buf, ".", &save);
	while (tok) {
		char *next = strtok_r(NULL, ".", &save);
		char *br = strchr(tok, '[');
		long idx = -1;
		json_object *child;

		if (br) {
			*br = '\0';
			idx = strtol(br + 1, NULL, 10);
		}
		if (!next && idx < 0) {
			if (val == DEL)
				json_object_object_del(cur, tok);
			else
				json_object_object_add(cur, tok, parse_value(val));
			return;
		}
		if (!json_object_object_get_ex(cur, tok, &child) || !child) {
			child = idx < 0 ? json_object_new_object() : json_object_new_array();
			json_object_object_add(cur, tok, child);
		}
		if (idx >= 0) {
			if (!json_object_is_type(child, json_type_array))
				fail_msg("test bug: %s is not an array", tok);
			if (!next) {
				if (val == DEL)
					json_object_array_del_idx(child, (size_t)idx, 1);
				else
					json_object_array_put_idx(child, (size_t)idx,
								  parse_value(val));
				return;
			}
			json_object *el = json_object_array_get_idx(child, (size_t)idx);
			if (!el) {
				el = json_object_new_object();
				json_object_array_put_idx(child, (size_t)idx, el);
			}
			child = el;
		}
		cur = child;
		tok = next;
	}
}

/* base_json with the edits in ap (path, value pairs, NULL-ended) applied. */
static inline struct hk_spec *vparse_edited(const char *base, struct hk_err *err, va_list ap)
{
	json_object *doc = json_tokener_parse(base);
	const char *path;

	assert_non_null(doc);
	while ((path = va_arg(ap, const char *))) {
		const char *val = va_arg(ap, const char *);
		patch(doc, path, val);
	}
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	memset(err, 0, sizeof(*err));
	struct hk_spec *s = spec_parse(text, strlen(text), bundle, err);
	json_object_put(doc);
	return s;
}

static inline __attribute__((sentinel)) struct hk_spec *parse_edited(struct hk_err *err, ...)
{
	va_list ap;
	va_start(ap, err);
	struct hk_spec *s = vparse_edited(base_json, err, ap);
	va_end(ap);
	return s;
}

/* The edited base must be accepted. */
static inline __attribute__((sentinel)) struct hk_spec *parse_ok(const char *first, ...)
{
	struct hk_err err;
	va_list ap;
	va_start(ap, first);
	json_object *doc = json_tokener_parse(base_json);
	const char *path = first;
	while (path) {
		patch(doc, path, va_arg(ap, const char *));
		path = va_arg(ap, const char *);
	}
	va_end(ap);
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	memset(&err, 0, sizeof(err));
	struct hk_spec *s = spec_parse(text, strlen(text), bundle, &err);
	if (!s)
		fail_msg("rejected: %s\nconfig: %s", err.msg, text);
	json_object_put(doc);
	return s;
}

static inline void check_msg(const struct hk_err *err, const char *want)
{
	if (!strstr(err->msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err->msg, want);
}

/* The edited base must be rejected with an error containing want. */
#define assert_rejected(want, ...)                                           \
	do {                                                                 \
		struct hk_err err_;                                          \
		struct hk_spec *s_ = parse_edited(&err_, __VA_ARGS__, NULL); \
		if (s_) {                                                    \
			spec_free(s_);                                       \
			fail_msg("accepted, expected \"%s\"", want);         \
		}                                                            \
		check_msg(&err_, want);                                      \
	} while (0)

#define assert_accepted(...)                                      \
	do {                                                      \
		struct hk_spec *s_ = parse_ok(__VA_ARGS__, NULL); \
		spec_free(s_);                                    \
	} while (0)

/* A raw text must be rejected with an error containing want. */
static inline void assert_text_rejected(const char *text, size_t len, const char *want)
{
	struct hk_err err;
	memset(&err, 0, sizeof(err));
	struct hk_spec *s = spec_parse(text, len, bundle, &err);
	if (s) {
		spec_free(s);
		fail_msg("accepted %s, expected \"%s\"", text, want);
	}
	check_msg(&err, want);
}

#endif
