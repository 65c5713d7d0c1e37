/* image/ref.c: image references as docker and podman read them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include "common/err.h"
#include "image/ref.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_good(void **state)
{
	(void)state;
	static const struct {
		const char *in, *canonical, *api;
	} cases[] = {
		{"alpine", "docker.io/library/alpine:latest", "registry-1.docker.io"},
		{"library/alpine:3.20", "docker.io/library/alpine:3.20", "registry-1.docker.io"},
		{"docker://alpine", "docker.io/library/alpine:latest", "registry-1.docker.io"},
		{"index.docker.io/user/app", "docker.io/user/app:latest", "registry-1.docker.io"},
		{"user/app:v1.2-rc_3", "docker.io/user/app:v1.2-rc_3", "registry-1.docker.io"},
		{"host:5000/team/app@" D64, "host:5000/team/app@" D64, "host:5000"},
		{"host:5000/team/app:1@" D64, "host:5000/team/app:1@" D64, "host:5000"},
		{"localhost/app", "localhost/app:latest", "localhost"},
		{"quay.io/a/b/c", "quay.io/a/b/c:latest", "quay.io"},
		{"[::1]:5000/a", "[::1]:5000/a:latest", "[::1]:5000"},
		{"a.b__c-d--e", "docker.io/library/a.b__c-d--e:latest", "registry-1.docker.io"},
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct img_ref ref;
		struct hk_err err = {0};
		if (img_ref_parse(cases[i].in, &ref, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err.msg);
		char *s = img_ref_string(&ref);
		assert_string_equal(s, cases[i].canonical);
		assert_string_equal(img_ref_api_host(&ref), cases[i].api);
		free(s);
		img_ref_clear(&ref);
	}
}

static void test_bad(void **state)
{
	(void)state;
	static const char *const cases[] = {
		"",     "Alpine", "a//b",        "/a",         "a/",
		"a:",   "a:-x",   "a@sha256:12", "a@md5:0123", "host:99999999/a",
		"a..b", "a_-b",   "-a",          "a b",        "host:5000/",
		"a/B",  "x:t t",
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct img_ref ref;
		struct hk_err err = {0};
		if (img_ref_parse(cases[i], &ref, &err) == 0)
			fail_msg("\"%s\" was accepted", cases[i]);
		assert_non_null(strstr(err.msg, "image reference"));
	}
}

static void test_loopback(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool loop;
	} cases[] = {{"127.0.0.1:5000/a", true},
		     {"localhost:5000/a", true},
		     {"[::1]:1/a", true},
		     {"localhost.example/a", false},
		     {"alpine", false},
		     {"128.0.0.1/a", false},
		     /* names, not addresses: plain http to them sent credentials in
		      * clear (outside attack on husk pull) */
		     {"127.evil.test:15006/foo", false},
		     {"127.0.0.1.example.com/a", false},
		     {"127.0.0.1/a", true}};
	for (size_t i = 0; i < N(cases); i++) {
		struct img_ref ref;
		struct hk_err err = {0};
		assert_int_equal(img_ref_parse(cases[i].in, &ref, &err), 0);
		assert_int_equal(img_ref_loopback(&ref), cases[i].loop);
		img_ref_clear(&ref);
	}
}

static void write_text(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_aliases(void **state)
{
	(void)state;
	char file[] = "/tmp/husk-test-aliases-XXXXXX";
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	/* podman's registries.conf [aliases], as Debian's shortnames.conf has it */
	write_text(file, "# short names\n"
			 "[aliases]\n"
			 "  # a comment\n"
			 "app = \"registry.example:5000/team/app\"   # a comment\n"
			 "  \"deep/name\"='quay.io/x/y'\n"
			 "\"gone\" = \"\"\n"
			 "\"alpine\" = \"docker.io/library/alpine\"\r\n"
			 "\n");
	static const struct {
		const char *in, *canonical;
	} cases[] = {
		{"app", "registry.example:5000/team/app:latest"},
		{"app:1.2", "registry.example:5000/team/app:1.2"},
		{"app@" D64, "registry.example:5000/team/app@" D64},
		{"docker://app", "registry.example:5000/team/app:latest"},
		{"deep/name:3", "quay.io/x/y:3"},
		{"alpine", "docker.io/library/alpine:latest"},
		{"host:1/app", "host:1/app:latest"},
		{"apps", "docker.io/library/apps:latest"},
		{"gone", "docker.io/library/gone:latest"}, /* "": no alias */
	};
	for (size_t i = 0; i < N(cases); i++) {
		struct img_ref ref;
		struct hk_err err = {0};
		if (img_ref_parse_alias(cases[i].in, file, &ref, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err.msg);
		char *s = img_ref_string(&ref);
		assert_string_equal(s, cases[i].canonical);
		free(s);
		img_ref_clear(&ref);
	}
	/* what is no alias, or more TOML than husk reads: the file and line */
	static const struct {
		const char *text, *line, *why;
	} bad[] = {
		{"[aliases]\napp docker.io/x\n", ":2:", "expected NAME"},
		{"[aliases]\napp = \"alpine:3\"\n", ":2:", "DOMAIN/PATH"},
		{"[aliases]\napp = \"quay.io/x:3\"\n", ":2:", "without tag"},
		{"[aliases]\n\"quay.io/app\" = \"quay.io/x\"\n", ":2:", "not a short name"},
		{"[aliases]\n\"app:1\" = \"quay.io/x\"\n", ":2:", "not a short name"},
		{"[aliases]\napp = \"quay.io/x\"\napp = \"quay.io/y\"\n", ":3:", "given twice"},
		{"app = \"quay.io/x\"\n", ":1:", "outside [aliases]"},
		{"unqualified-search-registries = [\"docker.io\"]\n", ":1:", "a string"},
		{"[[registry]]\nlocation = \"x\"\n", ":1:", "[[registry]]"},
		{"[engine]\n", ":1:", "other than [aliases]"},
		{"[aliases]\na.b = \"quay.io/x\"\n", ":2:", "dotted"},
		{"[aliases]\napp = \"quay.io/x\n", ":2:", "unterminated"},
		{"[aliases]\napp = \"quay.io/x\" extra\n", ":2:", "more after"},
		{"[aliases]\napp = \"\"\"quay.io/x\"\"\"\n", ":2:", "multi-line"},
		{"[aliases]\napp = \"quay\\u0041.io/x\"\n", ":2:", "escapes"},
	};
	for (size_t i = 0; i < N(bad); i++) {
		write_text(file, bad[i].text);
		struct img_ref ref;
		struct hk_err err = {0};
		assert_int_equal(img_ref_parse_alias("app", file, &ref, &err), -1);
		if (!strstr(err.msg, file) || !strstr(err.msg, bad[i].line) ||
		    !strstr(err.msg, bad[i].why))
			fail_msg("%s: %s", bad[i].text, err.msg);
	}
	/* a name given elsewhere needs no alias: the file is not read */
	struct img_ref ref;
	struct hk_err err = {0};
	assert_int_equal(img_ref_parse_alias("quay.io/x", file, &ref, &err), 0);
	img_ref_clear(&ref);
	unlink(file);
	/* named and missing: an error, not no aliases */
	assert_int_equal(img_ref_parse_alias("app", file, &ref, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_aliases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
