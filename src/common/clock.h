#ifndef HUSK_COMMON_CLOCK_H
#define HUSK_COMMON_CLOCK_H

#include <stddef.h>
#include <time.h>

/* RFC 3339 times in UTC, computed from the epoch by arithmetic alone.
 *
 * glibc's gmtime_r loads the time zone (/etc/localtime) on its first call,
 * although UTC needs none: an open, a read and a parse on every husk
 * create, and 3.8 ms of a launch in the test VM. */

/* HK_RFC3339_LEN: room for "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" and its NUL,
 * any year from 0 to 9999. */
#define HK_RFC3339_LEN 32

/* ts as "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (nanos) or "YYYY-MM-DDTHH:MM:SSZ"
 * into buf; 0, or -1 when the year is outside 0..9999 or size is short. */
int hk_rfc3339(const struct timespec *ts, int nanos, char *buf, size_t size);

/* The current time, with nanoseconds, as a new string. */
char *hk_now_rfc3339(void);

#endif
