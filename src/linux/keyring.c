#include "linux/keyring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/xalloc.h"

/* linux/keyctl.h */
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6

/* The keyring's permissions, from its description "type;uid;gid;perm;name". */
static int key_perm(long key, unsigned int *perm, struct hk_err *err)
{
	/* The kernel copies the description only into a buffer it fits
	 * whole, and says how long it is either way: a long container id
	 * makes it longer than a guess (outside attack, round 18, F4). */
	long n = hk_keyctl(KEYCTL_DESCRIBE, (unsigned long)key, 0, 0);
	if (n < 0)
		return hk_fail(err, errno, "describe the session keyring");
	_cleanup_free_ char *desc = xmalloc((size_t)n + 1);
	long got = hk_keyctl(KEYCTL_DESCRIBE, (unsigned long)key, (unsigned long)desc,
			     (unsigned long)n + 1);
	if (got < 0)
		return hk_fail(err, errno, "describe the session keyring");
	if (got > n + 1)
		return hk_fail(err, 0, "the session keyring's description changed while read");
	desc[n] = '\0';
	const char *p = desc;
	for (int field = 0; field < 3 && p; field++) {
		p = strchr(p, ';');
		if (p)
			p++;
	}
	char *end;
	unsigned long v = p ? strtoul(p, &end, 16) : 0;
	if (!p || end == p || *end != ';')
		return hk_fail(err, 0, "the session keyring's description \"%s\": no permissions",
			       desc);
	*perm = (unsigned int)v;
	return 0;
}

char *keyring_name(const char *id)
{
	unsigned long long r = 0;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = ((unsigned long long)getpid() << 32) ^ (unsigned long long)time(NULL) ^
		    (unsigned long long)(uintptr_t)&r;
	return xasprintf("_ses.%s.%016llx", id, r);
}

int keyring_join(const char *name, unsigned int add_perm, struct hk_err *err)
{
	unsigned int perm = 0;

	long key = hk_keyctl(KEYCTL_JOIN_SESSION_KEYRING, (unsigned long)name, 0, 0);
	if (key < 0 && errno == ENOSYS) {
		hk_debug("keyring: the kernel has none: the caller's session keyring stays");
		return 0;
	}
	if (key < 0)
		return hk_fail(err, errno, "join the session keyring %s", name);
	if (!add_perm)
		return 0;
	if (key_perm(key, &perm, err) < 0)
		return -1;
	if (hk_keyctl(KEYCTL_SETPERM, (unsigned long)key, perm | add_perm, 0) < 0)
		return hk_fail(err, errno, "make the session keyring %s searchable", name);
	return 0;
}
