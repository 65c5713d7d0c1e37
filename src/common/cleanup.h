/* Scope-bound cleanup helpers. Every cleanup function accepts NULL / -1. */
#ifndef HUSK_COMMON_CLEANUP_H
#define HUSK_COMMON_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(fn) __attribute__((cleanup(fn)))

static inline void hk_freep(void *p)
{
	free(*(void **)p);
}

static inline void hk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void hk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ _cleanup_(hk_freep)
#define _cleanup_close_ _cleanup_(hk_closep)
#define _cleanup_fclose_ _cleanup_(hk_fclosep)

/* Hand ownership over: returns the value and leaves NULL / -1 behind. */
#define TAKE_PTR(p)                       \
	({                                \
		__typeof__(p) _tp_ = (p); \
		(p) = NULL;               \
		_tp_;                     \
	})
#define TAKE_FD(fd)              \
	({                       \
		int _tf_ = (fd); \
		(fd) = -1;       \
		_tf_;            \
	})

#endif
