/* spec/json: the typed getters. Each checks type and range, never coerces,
 * and names the JSON path; absent and null read as "not there" (0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "spec/json.h"
#include "spec/spec.h"

static const char doc_text[] =
	"{"
	"\"s\": \"text\", \"i\": 42, \"neg\": -7, \"d\": 1.5, \"b\": true,"
	"\"n\": null, \"o\": {\"k\": \"v\"}, \"a\": [\"x\", 2],"
	"\"sv\": [\"one\", \"two\"], \"num_str\": \"12abc\","
	"\"big\": 18446744073709551615, \"i64max\": 9223372036854775807,"
	"\"i64min\": -9223372036854775808, \"over\": 9223372036854775808,"
	"\"kv\": {\"a\": \"1\", \"b\": \"2\"}, \"kvbad\": {\"a\": \"1\", \"b\": 2}"
	"}";

static int doc_setup(void **state)
{
	struct hk_err err;
	hk_json *j = hk_json_parse(doc_text, strlen(doc_text), "doc", &err);
	if (!j)
		return -1;
	*state = j;
	return 0;
}

static int doc_teardown(void **state)
{
	hk_json_put(*state);
	return 0;
}

static void check_msg(const struct hk_err *err, const char *want)
{
	if (!strstr(err->msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err->msg, want);
}

static void test_str(void **state)
{
	hk_json *j = *state;
	struct hk_err err = {0};
	char *s = NULL;

	assert_int_equal(hk_json_get_str(j, "top", "s", &s, &err), 1);
	assert_string_equal(s, "text");
	free(s);
	s = NULL;
	assert_int_equal(hk_json_get_str(j, "top", "missing", &s, &err), 0);
	assert_int_equal(hk_json_get_str(j, "top", "n", &s, &err), 0);
	assert_null(s);

	assert_int_equal(hk_json_get_str(j, "top", "i", &s, &err), -1);
	check_msg(&err, "top.i: expected a string, got an integer");
	assert_int_equal(hk_json_get_str(j, "", "b", &s, &err), -1);
	assert_string_equal(err.msg, "b: expected a string, got a boolean");
	assert_int_equal(hk_json_get_str(j, "", "o", &s, &err), -1);
	check_msg(&err, "expected a string, got an object");
	assert_int_equal(hk_json_get_str(j, "", "a", &s, &err), -1);
	check_msg(&err, "expected a string, got an array");
	assert_int_equal(hk_json_get_str(j, "", "d", &s, &err), -1);
	check_msg(&err, "expected a string, got a number");
	assert_null(s);
	/* A NULL err is allowed: the caller only wants to know. */
	assert_int_equal(hk_json_get_str(j, "", "i", &s, NULL), -1);
}

static void test_i64(void **state)
{
	hk_json *j = *state;
	struct hk_err err = {0};
	int64_t v = 0;

	assert_int_equal(hk_json_get_i64(j, "p", "i", 0, 100, &v, &err), 1);
	assert_int_equal(v, 42);
	assert_int_equal(hk_json_get_i64(j, "p", "neg", -10, 0, &v, &err), 1);
	assert_int_equal(v, -7);
	assert_int_equal(hk_json_get_i64(j, "p", "i64max", INT64_MIN, INT64_MAX, &v, &err), 1);
	assert_true(v == INT64_MAX);
	assert_int_equal(hk_json_get_i64(j, "p", "i64min", INT64_MIN, INT64_MAX, &v, &err), 1);
	assert_true(v == INT64_MIN);
	v = 5;
	assert_int_equal(hk_json_get_i64(j, "p", "missing", 0, 1, &v, &err), 0);
	assert_int_equal(hk_json_get_i64(j, "p", "n", 0, 1, &v, &err), 0);
	assert_int_equal(v, 5); /* untouched */

	assert_int_equal(hk_json_get_i64(j, "p", "i", 0, 41, &v, &err), -1);
	assert_string_equal(err.msg, "p.i: 42 out of range [0, 41]");
	assert_int_equal(hk_json_get_i64(j, "p", "i", 43, 50, &v, &err), -1);
	check_msg(&err, "p.i: 42 out of range [43, 50]");
	assert_int_equal(hk_json_get_i64(j, "p", "neg", 0, 10, &v, &err), -1);
	check_msg(&err, "p.neg: -7 out of range [0, 10]");
	/* Past INT64_MAX: json-c saturates, the getter must not. */
	assert_int_equal(hk_json_get_i64(j, "p", "big", INT64_MIN, INT64_MAX, &v, &err), -1);
	check_msg(&err, "p.big: 18446744073709551615 out of range");
	assert_int_equal(hk_json_get_i64(j, "p", "over", INT64_MIN, INT64_MAX, &v, &err), -1);
	check_msg(&err, "p.over: 9223372036854775808 out of range");

	assert_int_equal(hk_json_get_i64(j, "p", "num_str", 0, 100, &v, &err), -1);
	check_msg(&err, "p.num_str: expected an integer, got a string");
	assert_int_equal(hk_json_get_i64(j, "p", "d", 0, 100, &v, &err), -1);
	check_msg(&err, "p.d: expected an integer, got a number");
	assert_int_equal(hk_json_get_i64(j, "p", "b", 0, 100, &v, &err), -1);
	check_msg(&err, "expected an integer, got a boolean");
	assert_int_equal(v, 5);
}

static void test_u64(void **state)
{
	hk_json *j = *state;
	struct hk_err err = {0};
	uint64_t v = 0;

	assert_int_equal(hk_json_get_u64(j, "r", "big", &v, &err), 1);
	assert_true(v == UINT64_MAX);
	assert_int_equal(hk_json_get_u64(j, "r", "over", &v, &err), 1);
	assert_true(v == 1ULL << 63);
	assert_int_equal(hk_json_get_u64(j, "r", "i", &v, &err), 1);
	assert_int_equal(v, 42);
	assert_int_equal(hk_json_get_u64(j, "r", "missing", &v, &err), 0);

	v = 9;
	assert_int_equal(hk_json_get_u64(j, "r", "neg", &v, &err), -1);
	assert_string_equal(err.msg, "r.neg: must not be negative");
	assert_int_equal(hk_json_get_u64(j, "r", "i64min", &v, &err), -1);
	check_msg(&err, "must not be negative");
	assert_int_equal(hk_json_get_u64(j, "r", "d", &v, &err), -1);
	check_msg(&err, "r.d: expected an integer, got a number");
	assert_int_equal(hk_json_get_u64(j, "r", "num_str", &v, &err), -1);
	check_msg(&err, "r.num_str: expected an integer, got a string");
	assert_int_equal(v, 9);
}

static void test_bool_obj_arr(void **state)
{
	hk_json *j = *state;
	struct hk_err err = {0};
	bool b = false;
	hk_json *o = NULL, *a = NULL;
	size_t n = 99;

	assert_int_equal(hk_json_get_bool(j, "", "b", &b, &err), 1);
	assert_true(b);
	assert_int_equal(hk_json_get_bool(j, "", "i", &b, &err), -1);
	check_msg(&err, "i: expected a boolean, got an integer");
	assert_int_equal(hk_json_get_bool(j, "", "s", &b, &err), -1);
	check_msg(&err, "expected a boolean, got a string");

	assert_int_equal(hk_json_get_obj(j, "", "o", &o, &err), 1);
	assert_non_null(o);
	assert_int_equal(hk_json_get_obj(j, "x", "a", &o, &err), -1);
	check_msg(&err, "x.a: expected an object, got an array");
	assert_int_equal(hk_json_get_obj(j, "x", "missing", &o, &err), 0);

	assert_int_equal(hk_json_get_arr(j, "", "a", &a, &n, &err), 1);
	assert_int_equal(n, 2);
	assert_int_equal(hk_json_get_arr(j, "", "o", &a, &n, &err), -1);
	check_msg(&err, "o: expected an array, got an object");

	char *s = NULL;
	assert_int_equal(hk_json_as_str(hk_json_at(a, 0), "a[0]", &s, &err), 1);
	assert_string_equal(s, "x");
	free(s);
	assert_int_equal(hk_json_as_str(hk_json_at(a, 1), "a[1]", &s, &err), -1);
	check_msg(&err, "a[1]: expected a string, got an integer");
	assert_null(hk_json_at(a, 2));
	assert_int_equal(hk_json_as_str(hk_json_at(a, 2), "a[2]", &s, &err), -1);
	check_msg(&err, "a[2]: expected a string, got null");
	int64_t v;
	assert_int_equal(hk_json_as_i64(hk_json_at(a, 1), "a[1]", 0, 1, &v, &err), -1);
	check_msg(&err, "a[1]: 2 out of range [0, 1]");
	assert_int_equal(hk_json_as_obj(a, "a", &err), -1);
	check_msg(&err, "a: expected an object, got an array");

	assert_true(hk_json_has(j, "s"));
	assert_false(hk_json_has(j, "n")); /* null is absent */
	assert_false(hk_json_has(j, "missing"));
}

static void test_strv(void **state)
{
	hk_json *j = *state;
	struct hk_err err = {0};
	char **v = NULL;
	size_t n = 0;

	assert_int_equal(hk_json_get_strv(j, "p", "sv", &v, &n, &err), 1);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "one");
	assert_string_equal(v[1], "two");
	assert_null(v[2]);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);

	v = NULL;
	assert_int_equal(hk_json_get_strv(j, "p", "a", &v, &n, &err), -1);
	check_msg(&err, "p.a[1]: expected a string, got an integer");
	assert_null(v);
	assert_int_equal(hk_json_get_strv(j, "p", "s", &v, &n, &err), -1);
	check_msg(&err, "p.s: expected an array, got a string");
	assert_int_equal(hk_json_get_strv(j, "p", "missing", &v, &n, &err), 0);
}

static void free_kv(struct hk_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void test_kv(void **state)
{
	hk_json *j = *state;
	struct hk_err err = {0};
	struct hk_kv *kv = NULL;
	size_t n = 0;

	assert_int_equal(hk_json_get_kv(j, "", "kv", &kv, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(kv[0].key, "a");
	assert_string_equal(kv[0].value, "1");
	assert_string_equal(kv[1].key, "b");
	assert_string_equal(kv[1].value, "2");
	free_kv(kv, n);

	kv = NULL;
	n = 0;
	assert_int_equal(hk_json_get_kv(j, "linux", "kvbad", &kv, &n, &err), -1);
	check_msg(&err, "linux.kvbad.b: expected a string, got an integer");
	free_kv(kv, n); /* what was decoded before the error */

	kv = NULL;
	n = 0;
	assert_int_equal(hk_json_get_kv(j, "", "missing", &kv, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(hk_json_get_kv(j, "", "a", &kv, &n, &err), -1);
	check_msg(&err, "a: expected an object, got an array");
}

static void test_parse(void **state)
{
	(void)state;
	struct hk_err err = {0};
	hk_json *j;

	j = hk_json_parse("{\"a\": 1}\n", 9, "state.json", &err);
	assert_non_null(j);
	hk_json_put(j);
	j = hk_json_parse("[1, 2]", 6, "x", &err);
	assert_non_null(j);
	hk_json_put(j);

	assert_null(hk_json_parse("{\"a\": 1", 7, "state.json", &err));
	check_msg(&err, "state.json: invalid JSON at offset 7");
	assert_null(hk_json_parse("", 0, "x", &err));
	check_msg(&err, "x: invalid JSON");
	/* Trailing data: json-c's strict mode or husk's own check refuses it. */
	assert_null(hk_json_parse("{\"a\": 1} [", 10, "x", &err));
	check_msg(&err, "x: invalid JSON");
	check_msg(&err, "offset 9");
	assert_null(hk_json_parse("{\"a\": tru}", 10, "x", &err));
	check_msg(&err, "x: invalid JSON at offset");
	assert_null(hk_json_parse("{\"a\": 01}", 9, "x", &err));
	check_msg(&err, "x: invalid JSON");
	assert_null(hk_json_parse("{\"a\": \"\xc3\"}", 9, "x", &err));
	check_msg(&err, "x: invalid JSON");
	assert_null(hk_json_parse("{\"a\": 1,}", 9, "x", &err));
	check_msg(&err, "x: invalid JSON");

	/* json-c takes NaN even in strict mode; it is a double, so no integer
	 * getter lets it through. */
	j = hk_json_parse("{\"a\": NaN}", 10, "x", &err);
	if (j) {
		int64_t v;
		assert_int_equal(hk_json_get_i64(j, "", "a", 0, 1, &v, &err), -1);
		check_msg(&err, "a: expected an integer, got a number");
		hk_json_put(j);
	}

	/* len bounds the text: what follows is not read. */
	j = hk_json_parse("{\"a\": 1}garbage", 8, "x", &err);
	assert_non_null(j);
	hk_json_put(j);

	/* Embedded NUL through an escape: parsed, refused by the string getter. */
	static const char nul[] = "{\"s\": \"a\\u0000b\"}";
	j = hk_json_parse(nul, strlen(nul), "x", &err);
	assert_non_null(j);
	char *s = NULL;
	assert_int_equal(hk_json_get_str(j, "", "s", &s, &err), -1);
	check_msg(&err, "s: string contains a NUL byte");
	assert_null(s);
	hk_json_put(j);
}

/* A NUL after the document is not white space. */
static void test_trailing_nul(void **state)
{
	(void)state;
	struct hk_err err = {0};

	hk_json *j = hk_json_parse("{}\0", 3, "x", &err);
	if (j) {
		hk_json_put(j);
		fail_msg("\"{}\\0\" accepted");
	}
	assert_non_null(strstr(err.msg, "x: invalid JSON"));
}

/* Integers past the 64-bit range must not turn into the nearest limit:
 * an rlimit of 2^64 is not "unlimited". Either the parser or the getter
 * may refuse them. */
static void test_integer_overflow(void **state)
{
	(void)state;
	static const char *const texts[] = {
		"{\"a\": 18446744073709551616}",
		"{\"a\": 99999999999999999999999}",
		"{\"a\": -9223372036854775809}",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct hk_err err = {0};
		hk_json *j = hk_json_parse(texts[i], strlen(texts[i]), "x", &err);
		if (!j)
			continue;
		uint64_t u;
		int64_t v;
		int ru = hk_json_get_u64(j, "", "a", &u, &err);
		int ri = hk_json_get_i64(j, "", "a", INT64_MIN, INT64_MAX, &v, &err);
		hk_json_put(j);
		if (ru >= 0 || ri >= 0)
			fail_msg("%s accepted (u64 %d, i64 %d)", texts[i], ru, ri);
	}
}

static void test_path(void **state)
{
	(void)state;
	char buf[32];

	assert_string_equal(hk_json_path(buf, sizeof(buf), "", "k"), "k");
	assert_string_equal(hk_json_path(buf, sizeof(buf), NULL, "k"), "k");
	assert_string_equal(hk_json_path(buf, sizeof(buf), "a.b[2]", "k"), "a.b[2].k");
	char small[8];
	assert_string_equal(hk_json_path(small, sizeof(small), "abcdef", "gh"), "abcdef.");
}

static void test_build_dump(void **state)
{
	(void)state;
	hk_json *o = hk_json_new_obj();
	hk_json *a = hk_json_new_arr();

	hk_json_set_str(o, "id", "c/1");
	hk_json_set_int(o, "pid", -1);
	hk_json_set_bool(o, "ok", false);
	hk_json_append(a, hk_json_new_str("x"));
	hk_json_set(o, "list", a);
	char *s = hk_json_dump(o, 0);
	assert_string_equal(s, "{\"id\":\"c/1\",\"pid\":-1,\"ok\":false,\"list\":[\"x\"]}");
	free(s);
	s = hk_json_dump(o, 1);
	assert_non_null(strstr(s, "\n  \"id\": \"c/1\""));
	free(s);
	s = hk_json_dump(o, 2);
	assert_non_null(strstr(s, "\n\t\"id\": \"c/1\""));
	free(s);
	hk_json_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_str, doc_setup, doc_teardown),
		cmocka_unit_test_setup_teardown(test_i64, doc_setup, doc_teardown),
		cmocka_unit_test_setup_teardown(test_u64, doc_setup, doc_teardown),
		cmocka_unit_test_setup_teardown(test_bool_obj_arr, doc_setup, doc_teardown),
		cmocka_unit_test_setup_teardown(test_strv, doc_setup, doc_teardown),
		cmocka_unit_test_setup_teardown(test_kv, doc_setup, doc_teardown),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_trailing_nul),
		cmocka_unit_test(test_integer_overflow),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_build_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
