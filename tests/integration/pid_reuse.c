/* Test helper: a process with a pid of the test's choosing, to play the
 * process that gets the pid of one that just died (clone3's set_tid, which
 * needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE).
 *
 *   pid_reuse PID CMD [ARGS...]
 *       run CMD as process PID, in a network namespace of its own; wait
 *       for it and exit with its status (the test kills it).
 *   pid_reuse --check-pidfd-ns
 *       hk_pidfd_open_ns (common/pidns.c, what husk net's open_target
 *       uses) on a pid whose process died after its pidfd was taken and
 *       whose number went to another process, in another network
 *       namespace, before the namespace was opened. Prints what happened;
 *       exit status 0 when it refused, 1 when it opened the impostor's. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/pidns.h"
#include "common/syscalls.h"

static pid_t spawn_as(pid_t pid, char **argv)
{
	pid_t tid = pid;
	struct clone_args ca = {
		.flags = CLONE_NEWNET,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	pid_t child = hk_clone3(&ca);

	if (child == 0) {
		if (argv)
			execvp(argv[0], argv);
		else
			pause();
		_exit(127);
	}
	return child;
}

static unsigned long long netns_of(pid_t pid)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	return stat(path, &sb) == 0 ? (unsigned long long)sb.st_ino : 0;
}

static int check_pidfd_ns(void)
{
	struct hk_err err = {0};
	pid_t x = fork();

	if (x == 0) {
		pause();
		_exit(0);
	}
	int pidfd = hk_pidfd_open(x, 0);
	unsigned long long mine = netns_of(getpid());
	kill(x, SIGKILL);
	waitpid(x, NULL, 0);
	pid_t y = spawn_as(x, NULL);
	if (pidfd < 0 || y != x) {
		fprintf(stderr, "setup: pidfd %d, pid %d reused as %d: %s\n", pidfd, (int)x, (int)y,
			strerror(errno));
		return 2;
	}
	printf("pid %d reused: network namespace %llu, was %llu\n", (int)x, netns_of(x), mine);
	int fd = hk_pidfd_open_ns(pidfd, x, "net", &err);
	if (fd >= 0) {
		struct stat sb;
		fstat(fd, &sb);
		printf("opened network namespace %llu\n", (unsigned long long)sb.st_ino);
	} else {
		printf("refused: %s\n", err.msg);
	}
	kill(y, SIGKILL);
	waitpid(y, NULL, 0);
	return fd >= 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	int status;

	if (argc == 2 && strcmp(argv[1], "--check-pidfd-ns") == 0)
		return check_pidfd_ns();
	if (argc < 3) {
		fprintf(stderr, "usage: pid_reuse PID CMD [ARGS...] | --check-pidfd-ns\n");
		return 2;
	}
	pid_t child = spawn_as((pid_t)atoi(argv[1]), argv + 2);
	if (child < 0) {
		perror("clone3 with set_tid");
		return 2;
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
