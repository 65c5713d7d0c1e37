/* seize_probe SECONDS: for the attack tests (test_attack_ptrace.py). Run as
 * a container's init, it tries to PTRACE_SEIZE every process of husk's it
 * sees appear in its pid namespace (comm "husk": one that has not exec'd
 * the container's program yet, or is just doing so), as fast as it can, for
 * SECONDS. One it seizes is stopped and looked at: if its seccomp filter
 * is not on yet, it is printed ("HIT pid"), a process of husk's the
 * container could have made skip its filter or run something else. (Once
 * the program is exec'd, its comm still "husk" for a moment, it is the
 * container's own to trace, filter on.) Then it is let go. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seccomp: of a stopped process's status: 1 when it is 0 (no filter). */
static int unfiltered(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *s = strstr(buf, "\nSeccomp:");
	return s && strncmp(s, "\nSeccomp:\t0", 11) == 0;
}

static int is_husk(const char *pid)
{
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	comm[n > 0 ? n : 0] = '\0';
	return strncmp(comm, "husk", 4) == 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	time_t end = time(NULL) + atoi(argv[1]);
	pid_t self = getpid();

	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			pid_t pid = atoi(e->d_name);
			if (pid == self || !is_husk(e->d_name))
				continue;
			if (ptrace(PTRACE_SEIZE, pid, 0, 0) != 0)
				continue;
			if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0 &&
			    waitpid(pid, NULL, __WALL) == pid && unfiltered(pid)) {
				printf("HIT %d\n", (int)pid);
				fflush(stdout);
			}
			ptrace(PTRACE_DETACH, pid, 0, 0);
		}
		if (d)
			closedir(d);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	return 0;
}
