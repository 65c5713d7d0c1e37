/* The attacker of test_attack_mounts.py, run as a co-container's process:
 * swaps pairs of names in a directory (the victim's rootfs, or a volume
 * it shares) with renameat2(RENAME_EXCHANGE), back and forth, as fast as
 * it can, until it is killed.
 *
 *   race_flip SECONDS COUNTFILE DIR NAME1 OTHER1 [NAME2 OTHER2 ...]
 *	each round exchanges every pair once; every 4096 rounds the round
 *	count is written to COUNTFILE (so the test knows it runs). After
 *	SECONDS it exits, should the test that started it be gone without
 *	deleting its container (its renames make every openat2 with ".." on
 *	the machine fail with EAGAIN now and then).
 * Linked statically: it runs in a busybox rootfs. Exit status 1 with the
 * error on stderr when an exchange fails. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* The count is written in place, fixed width, so a reader never sees the
 * file empty or half written. */
static int report(int fd, const char *path, unsigned long long rounds)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%20llu\n", rounds);

	if (pwrite(fd, buf, (size_t)n, 0) != n) {
		fprintf(stderr, "race_flip: write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 6 || (argc - 4) % 2) {
		fprintf(stderr,
			"usage: race_flip SECONDS COUNTFILE DIR NAME OTHER [NAME OTHER ...]\n");
		return 2;
	}
	time_t end = time(NULL) + atol(argv[1]);
	argv++;
	argc--;
	int count = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (count < 0) {
		fprintf(stderr, "race_flip: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int dir = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		fprintf(stderr, "race_flip: open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (unsigned long long rounds = 0;; rounds++) {
		for (int i = 3; i + 1 < argc; i += 2) {
			if (renameat2(dir, argv[i], dir, argv[i + 1], RENAME_EXCHANGE) < 0) {
				fprintf(stderr, "race_flip: exchange %s and %s: %s\n", argv[i],
					argv[i + 1], strerror(errno));
				return 1;
			}
		}
		if (rounds % 4096 == 0 && report(count, argv[1], rounds) < 0)
			return 1;
		if (rounds % 4096 == 0 && time(NULL) > end)
			return 0;
	}
}
