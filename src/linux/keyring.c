#include "linux/keyring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/syscalls.h"

/* linux/keyctl.h */
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SETPERM 5
#define KEYCTL_DESCRIBE 6

/* The keyring's permissions, from its description "type;uid;gid;perm;name". */
static int key_perm(long key, unsigned int *perm, struct hk_err *err)
{
	char desc[256];
	long n = hk_keyctl(KEYCTL_DESCRIBE, (unsigned long)key, (unsigned long)desc,
			   sizeof(desc) - 1);

	if (n < 0)
		return hk_fail(err, errno, "describe the session keyring");
	desc[(size_t)n < sizeof(desc) ? (size_t)n : sizeof(desc) - 1] = '\0';
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

int keyring_join(const char *id, unsigned int add_perm, struct hk_err *err)
{
	char name[128];
	unsigned int perm = 0;

	snprintf(name, sizeof(name), "_ses.%s", id);
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
