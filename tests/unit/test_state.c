/* runtime/state: container id validation (the id names a directory under
 * --root, so anything that could escape it must be refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "runtime/state.h"

static void accept(const char *id)
{
	struct hk_err err = {0};
	if (state_validate_id(id, &err) < 0)
		fail_msg("id \"%.80s\" rejected: %s", id, err.msg);
}

static void reject(const char *id, const char *want)
{
	struct hk_err err = {0};
	if (state_validate_id(id, &err) == 0)
		fail_msg("id \"%.80s\" accepted", id);
	if (!strstr(err.msg, want))
		fail_msg("id \"%.80s\": error \"%s\" does not contain \"%s\"", id, err.msg, want);
	assert_int_equal(err.errnum, 0);
}

static void test_valid_ids(void **state)
{
	(void)state;
	accept("abc");
	accept("a-b_c.d+e");
	accept("A");
	accept("0123456789");
	accept("...");
	accept(".hidden");
	accept("-leading-dash");
}

static void test_invalid_ids(void **state)
{
	(void)state;
	reject("", "must not be empty");
	reject(".", "not allowed");
	reject("..", "not allowed");
	reject("a/b", "invalid character '/'");
	reject("/abs", "invalid character '/'");
	reject("a b", "invalid character ' '");
	reject("\n", "invalid character '?'");
	reject("a\tb", "invalid character '?'");
	reject("caf\xc3\xa9", "invalid character '?'");
	reject("a:b", "invalid character ':'");
	reject("a*", "invalid character '*'");
}

static void test_id_length(void **state)
{
	(void)state;
	char id[HK_ID_MAX + 2];

	assert_int_equal(HK_ID_MAX, 1024);
	memset(id, 'x', sizeof(id));
	id[HK_ID_MAX] = '\0';
	accept(id);
	id[HK_ID_MAX] = 'x';
	id[HK_ID_MAX + 1] = '\0';
	reject(id, "longer than 1024 characters");
}

/* A long invalid id is quoted shortened, so the message stays one line. */
static void test_long_invalid_id_message(void **state)
{
	(void)state;
	char id[1000];
	struct hk_err err;

	memset(id, 'y', sizeof(id));
	id[sizeof(id) - 2] = '/';
	id[sizeof(id) - 1] = '\0';
	assert_int_equal(state_validate_id(id, &err), -1);
	assert_non_null(strstr(err.msg, "invalid character '/'"));
	assert_true(strlen(err.msg) < 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_ids),
		cmocka_unit_test(test_invalid_ids),
		cmocka_unit_test(test_id_length),
		cmocka_unit_test(test_long_invalid_id_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
