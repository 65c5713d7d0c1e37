/* root_probe MARKER SECONDS: for the attack tests (test_attack_ptrace.py).
 * Run inside a container, it looks through every /proc/<pid>/root for
 * MARKER, a path that exists only on the host, as fast as it can, for
 * SECONDS or until it is killed; each process whose root is the host's and
 * which the kernel lets it open is printed ("HIT pid comm") once. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void report(const char *pid)
{
	char path[64], comm[64] = "";

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n - 1 : 0] = '\0';
		close(fd);
	}
	printf("HIT %s %s\n", pid, comm);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	time_t end = time(NULL) + atoi(argv[2]);
	char path[512], last[16] = "";

	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/root%s", e->d_name, argv[1]);
			if (access(path, F_OK) == 0 && strcmp(last, e->d_name) != 0) {
				snprintf(last, sizeof(last), "%s", e->d_name);
				report(e->d_name);
			}
		}
		if (d)
			closedir(d);
	}
	return 0;
}
