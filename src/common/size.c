#include "common/size.h"

#include <stdbool.h>
#include <string.h>

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The unit's power of 1024 ("kmgtp"), 0 for none; p moves past it and
 * past an "i" and a "b". */
static int unit_shift(const char **p)
{
	static const char units[] = "kmgtp";
	const char *u = **p ? strchr(units, **p | 0x20) : NULL;
	int shift = 0;

	if (u) {
		shift = 10 * (int)(u - units + 1);
		(*p)++;
	}
	if ((**p | 0x20) == 'i')
		(*p)++;
	if ((**p | 0x20) == 'b')
		(*p)++;
	return shift;
}

enum hk_size_result hk_parse_size(const char *s, int64_t *bytes)
{
	unsigned long long whole = 0;
	long double frac = 0, scale = 1;
	bool large = false, has_frac = false;
	const char *p = s;

	if (!digit(*p))
		return HK_SIZE_BAD;
	for (; digit(*p); p++) {
		if (whole > (unsigned long long)INT64_MAX / 10)
			large = true;
		else
			whole = whole * 10 + (unsigned long long)(*p - '0');
	}
	if (*p == '.') {
		has_frac = true;
		if (!digit(*++p))
			return HK_SIZE_UNIT;
		for (; digit(*p); p++)
			frac += (long double)(*p - '0') * (scale /= 10);
	}
	if (*p == ' ')
		p++;
	int shift = unit_shift(&p);
	if (*p)
		return HK_SIZE_UNIT;
	if (large || (!has_frac && shift && whole > ((unsigned long long)INT64_MAX >> shift)) ||
	    whole > (unsigned long long)INT64_MAX)
		return HK_SIZE_LARGE;
	if (!has_frac) {
		*bytes = (int64_t)(whole << shift);
		return HK_SIZE_OK;
	}
	long double v = ((long double)whole + frac) * (long double)(1ULL << shift);
	if (v >= 9223372036854775807.0L)
		return HK_SIZE_LARGE;
	*bytes = (int64_t)v;
	return HK_SIZE_OK;
}
