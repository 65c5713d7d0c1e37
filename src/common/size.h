/* Sizes on the command line (update --memory, launch -m, --log-opt
 * max-size): one parser, so that every flag takes the same text. */
#ifndef HUSK_COMMON_SIZE_H
#define HUSK_COMMON_SIZE_H

#include <stdint.h>

enum hk_size_result {
	HK_SIZE_OK = 0,
	HK_SIZE_BAD = -1,   /* not starting with a digit (a sign, a space, nothing) */
	HK_SIZE_UNIT = -2,  /* digits, then something that is not a unit */
	HK_SIZE_LARGE = -3, /* more than INT64_MAX bytes */
};

/* As runc's update and docker's -m read sizes (go-units' RAMInBytes):
 * digits, an optional fraction, an optional space, an optional unit k, m,
 * g, t or p in either case (binary: k is 1024), then an optional "i" and
 * "b": "4096", "512m", "512MB", "1.5g", "512mib", "5 m", "1p". No sign,
 * no leading blank. A fraction of a byte is dropped. *bytes is set only
 * on HK_SIZE_OK. */
enum hk_size_result hk_parse_size(const char *s, int64_t *bytes);

#endif
