/* Sizes on the command line (update --memory, launch -m, --log-opt
 * max-size): one parser, so that every flag takes the same text. */
#ifndef HUSK_COMMON_SIZE_H
#define HUSK_COMMON_SIZE_H

#include <stdint.h>

enum hk_size_result {
	HK_SIZE_OK = 0,
	HK_SIZE_BAD = -1,   /* not digits (a sign, a space, a fraction, nothing) */
	HK_SIZE_UNIT = -2,  /* digits, then something that is not a unit */
	HK_SIZE_LARGE = -3, /* more than INT64_MAX bytes */
};

/* Decimal digits, then at most one unit, b, k, m, g or t in either case
 * (binary: k is 1024), and after k, m, g or t at most a "b": "4096",
 * "512m", "512MB", "2g", "100kb". Nothing else. *bytes is set only on
 * HK_SIZE_OK. */
enum hk_size_result hk_parse_size(const char *s, int64_t *bytes);

#endif
