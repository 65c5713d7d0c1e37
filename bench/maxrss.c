/* bench/maxrss: run a command and report its peak resident set size.
 *
 *   maxrss OUTFILE CMD [ARGS...]
 *
 * Forks, execs CMD (searched in PATH) with this process's stdio, reaps it
 * with wait4() and writes "<wait status> <ru_maxrss in KiB>\n" to OUTFILE.
 * Exits 0 once it has reported, 2 on its own failures.
 *
 * Why not os.wait4() in bench/run directly: exec records the high-water mark
 * of the mm it replaces in the child's ru_maxrss, and a child forked (or
 * vforked: posix_spawn) from Python replaces a copy of Python's ~10 MB, which
 * would hide any runtime smaller than that. bench/run builds this file
 * statically, so the mm the runtime's exec replaces is a few pages.
 *
 * wait4()'s rusage covers CMD and every descendant CMD itself reaped (the
 * kernel's RUSAGE_BOTH for the child): ru_maxrss is the largest peak of any
 * one process among them, e.g. `runc init` or the container's program. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	char line[64];
	int status, fd, len;
	pid_t pid;

	if (argc < 3) {
		fputs("usage: maxrss OUTFILE CMD [ARGS...]\n", stderr);
		return 2;
	}
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 2;
	}
	len = snprintf(line, sizeof(line), "%d %ld\n", status, ru.ru_maxrss);
	if (write(fd, line, (size_t)len) != len || close(fd) < 0) {
		perror(argv[1]);
		return 2;
	}
	return 0;
}
