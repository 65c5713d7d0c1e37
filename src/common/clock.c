/* UTC dates from the epoch without the C library's time zone machinery. */
#include "common/clock.h"

#include <stdint.h>
#include <stdio.h>

#include "common/xalloc.h"

struct civil {
	int64_t year;
	unsigned month, day;
};

/* Days since 1970-01-01 to a date of the proleptic Gregorian calendar.
 * The calendar repeats every 400 years (146097 days); counted from
 * 0000-03-01, each such era's leap day falls at the end of its year. */
static struct civil civil_from_days(int64_t days)
{
	const int64_t shifted = days + 719468; /* 0000-03-01 to 1970-01-01 */
	const int64_t era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
	const int64_t doe = shifted - era * 146097;                                /* 0..146096 */
	const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
	const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
	const int64_t mp = (5 * doy + 2) / 153;                                    /* 0 = March */
	struct civil c = {
		.day = (unsigned)(doy - (153 * mp + 2) / 5 + 1),
		.month = (unsigned)(mp < 10 ? mp + 3 : mp - 9),
	};
	c.year = yoe + era * 400 + (c.month <= 2);
	return c;
}

int hk_rfc3339(const struct timespec *ts, int nanos, char *buf, size_t size)
{
	int64_t secs = (int64_t)ts->tv_sec;
	int64_t days = (secs >= 0 ? secs : secs - 86399) / 86400;
	int64_t rest = secs - days * 86400;
	struct civil c = civil_from_days(days);

	if (c.year < 0 || c.year > 9999 || ts->tv_nsec < 0 || ts->tv_nsec > 999999999)
		return -1;
	int n = snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02d", (int)c.year, c.month, c.day,
			 (int)(rest / 3600), (int)(rest / 60 % 60), (int)(rest % 60));
	if (n > 0 && (size_t)n < size)
		n += nanos ? snprintf(buf + n, size - (size_t)n, ".%09ldZ", (long)ts->tv_nsec)
			   : snprintf(buf + n, size - (size_t)n, "Z");
	return n > 0 && (size_t)n < size ? 0 : -1;
}

char *hk_now_rfc3339(void)
{
	struct timespec ts;
	char buf[HK_RFC3339_LEN];

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || hk_rfc3339(&ts, 1, buf, sizeof(buf)) < 0)
		return xstrdup("1970-01-01T00:00:00.000000000Z");
	return xstrdup(buf);
}
