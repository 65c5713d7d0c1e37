/* Allocation that never returns NULL: out of memory aborts, as in crun and
 * bubblewrap. There is nothing useful a runtime can do without memory. */
#ifndef HUSK_COMMON_XALLOC_H
#define HUSK_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
