/* common/size.h: the one size parser of the command line (update's
 * --memory and friends, launch's -m and --log-opt max-size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/size.h"

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		int64_t bytes;
	} ok[] = {
		{"0", 0},
		{"4096", 4096},
		{"512m", 512LL << 20},
		{"512M", 512LL << 20},
		{"512mb", 512LL << 20},
		{"512MB", 512LL << 20},
		{"2g", 2LL << 30},
		{"100kb", 100 << 10},
		{"7b", 7},
		{"3t", 3LL << 40},
		{"8388607t", 8388607LL << 40},
		{"9223372036854775807", INT64_MAX},
		/* go-units' forms, as runc's update takes them */
		{"1.5g", 3LL << 29},
		{"512mib", 512LL << 20},
		{"512MiB", 512LL << 20},
		{"1p", 1LL << 50},
		{"5 m", 5LL << 20},
		{"0.5k", 512},
		{"2.0001", 2},
	};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -5;
		assert_int_equal(hk_parse_size(ok[i].s, &v), HK_SIZE_OK);
		assert_true(v == ok[i].bytes);
	}
}

static void test_refused(void **state)
{
	static const char *const bad[] = {"", "-1", "-1m", "+5", " 5", "m", "b"};
	static const char *const unit[] = {"12abc",  "32x", "1bb",  "5  m", "1kbb",
					   "1.5.1g", "1.g", "0x10", "5mm"};
	static const char *const large[] = {"9223372036854775808", "8388608t",
					    "99999999999999999999", "8192p"};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hk_parse_size(bad[i], &v), HK_SIZE_BAD);
	for (size_t i = 0; i < sizeof(unit) / sizeof(unit[0]); i++)
		assert_int_equal(hk_parse_size(unit[i], &v), HK_SIZE_UNIT);
	for (size_t i = 0; i < sizeof(large) / sizeof(large[0]); i++)
		assert_int_equal(hk_parse_size(large[i], &v), HK_SIZE_LARGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
