/* One error type for the whole library: fixed size, nothing to free, and
 * small enough for the container's child to send to its parent in one write. */
#ifndef HUSK_COMMON_ERR_H
#define HUSK_COMMON_ERR_H

#include <stdarg.h>

struct hk_err {
	int errnum;    /* errno of the failure, 0 when it is not a syscall's */
	char msg[512]; /* one line naming the thing and the reason */
};

/* Fill err with the formatted message and, when errnum != 0, ": strerror".
 * Always returns -1 so callers can `return hk_fail(...)`. */
int hk_fail(struct hk_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to an error already raised. Returns -1. */
int hk_err_prefix(struct hk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void hk_err_clear(struct hk_err *err);

#endif
