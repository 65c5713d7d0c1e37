#include "common/size.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum hk_size_result hk_parse_size(const char *s, int64_t *bytes)
{
	static const char units[] = "bkmgt";
	char *end;

	/* strtoull alone would take a sign and leading spaces */
	if (*s < '0' || *s > '9')
		return HK_SIZE_BAD;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
		return HK_SIZE_LARGE;
	if (*end) {
		const char *u = strchr(units, *end | 0x20);
		if (!u || (end[1] && !((end[1] | 0x20) == 'b' && !end[2] && u != units)))
			return HK_SIZE_UNIT;
		for (long i = 0; i < u - units; i++) {
			if (v > (unsigned long long)INT64_MAX / 1024)
				return HK_SIZE_LARGE;
			v *= 1024;
		}
	}
	*bytes = (int64_t)v;
	return HK_SIZE_OK;
}
