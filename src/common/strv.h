/* Arrays of strings as the spec's structs hold them: pointer + count. */
#ifndef HUSK_COMMON_STRV_H
#define HUSK_COMMON_STRV_H

#include <stddef.h>

/* Free each of the n strings, then v; v may be NULL. */
void hk_strv_free(char **v, size_t n);
/* A copy of the n strings of v, NULL-terminated (for execve). */
char **hk_strv_dup(char *const *v, size_t n);

#endif
