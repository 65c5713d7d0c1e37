/* Reading /etc/passwd ourselves: the container's (HOME) is not the host's
 * and may be hostile, and a static husk must not load NSS modules. */
#ifndef HUSK_COMMON_PASSWD_H
#define HUSK_COMMON_PASSWD_H

#include <sys/types.h>

/* The name and home of uid in the passwd file at path, malloc'd; NULL when
 * the file or the uid is not there. Lines are bounded, malformed ones
 * skipped. */
int passwd_lookup(const char *path, uid_t uid, char **name, char **home);

#endif
