/* Runs inside a container (static): prints the description of its session
 * keyring and whether a "user" key named argv[1] is found from it
 * (KEYCTL_SEARCH: only a possessed key is, so a key of the caller's
 * session keyring is found only where that keyring was inherited). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_DESCRIBE 6
#define KEYCTL_SEARCH 10
#define KEY_SPEC_SESSION_KEYRING (-3)

int main(int argc, char **argv)
{
	char desc[512];
	long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, desc,
			 sizeof(desc) - 1, 0);

	if (n < 0)
		printf("session error %s\n", strerror(errno));
	else {
		desc[(size_t)n < sizeof(desc) ? (size_t)n : sizeof(desc) - 1] = '\0';
		printf("session %s\n", desc);
	}
	if (argc > 1) {
		long k = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user",
				 argv[1], 0);
		printf("search %s\n", k >= 0 ? "found" : strerror(errno));
	}
	return 0;
}
