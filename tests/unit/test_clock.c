/* common/clock.h: RFC 3339 UTC times by arithmetic, checked against the C
 * library's gmtime_r over dates that exercise the calendar's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/clock.h"

static void libc_form(time_t t, long ns, char *buf, size_t size)
{
	struct tm tm;
	char date[40];

	assert_non_null(gmtime_r(&t, &tm));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%09ldZ", date, ns);
}

static void check(time_t t, long ns)
{
	struct timespec ts = {.tv_sec = t, .tv_nsec = ns};
	char want[64], got[HK_RFC3339_LEN];

	libc_form(t, ns, want, sizeof(want));
	assert_int_equal(hk_rfc3339(&ts, 1, got, sizeof(got)), 0);
	assert_string_equal(got, want);
}

static void test_known_dates(void **state)
{
	static const struct {
		time_t t;
		const char *s;
	} known[] = {
		{0, "1970-01-01T00:00:00Z"},
		{-1, "1969-12-31T23:59:59Z"},
		{951782400, "2000-02-29T00:00:00Z"},
		{951868800, "2000-03-01T00:00:00Z"},
		{1709164800, "2024-02-29T00:00:00Z"},
		{4107542400, "2100-03-01T00:00:00Z"}, /* 2100: no leap day */
		{1796323801, "2026-12-03T18:50:01Z"},
		{253402300799, "9999-12-31T23:59:59Z"},
		{-62167219200, "0000-01-01T00:00:00Z"},
	};
	char buf[HK_RFC3339_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct timespec ts = {.tv_sec = known[i].t};
		assert_int_equal(hk_rfc3339(&ts, 0, buf, sizeof(buf)), 0);
		assert_string_equal(buf, known[i].s);
	}
}

/* Every day from 1900 to 2200 at a time of day that moves, and the
 * nanoseconds printed in full. */
static void test_against_libc(void **state)
{
	(void)state;
	for (time_t t = -2208988800; t < 7258118400; t += 86400 + 3607)
		check(t, (long)(t % 1000000000 + 1000000000) % 1000000000);
	check(1796323801, 0);
	check(1796323801, 999999999);
	check(1796323801, 7);
}

static void test_refusals(void **state)
{
	char buf[HK_RFC3339_LEN];
	struct timespec big = {.tv_sec = 253402300800}; /* year 10000 */
	struct timespec neg = {.tv_sec = -62167219201}; /* year -1 */
	struct timespec bad_ns = {.tv_sec = 0, .tv_nsec = 1000000000};
	struct timespec ok = {.tv_sec = 0};

	(void)state;
	assert_int_equal(hk_rfc3339(&big, 0, buf, sizeof(buf)), -1);
	assert_int_equal(hk_rfc3339(&neg, 0, buf, sizeof(buf)), -1);
	assert_int_equal(hk_rfc3339(&bad_ns, 1, buf, sizeof(buf)), -1);
	/* too short for the nanoseconds, long enough without */
	assert_int_equal(hk_rfc3339(&ok, 1, buf, 25), -1);
	assert_int_equal(hk_rfc3339(&ok, 0, buf, 21), 0);
	assert_int_equal(hk_rfc3339(&ok, 0, buf, 20), -1);
}

/* Now, in the form state.json records. */
static void test_now(void **state)
{
	char *s = hk_now_rfc3339();

	(void)state;
	assert_int_equal(strlen(s), 30);
	assert_int_equal(s[29], 'Z');
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_dates),
		cmocka_unit_test(test_against_libc),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
