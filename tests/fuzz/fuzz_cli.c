/* libFuzzer target: husk's command line. src/cli and src/cmd/husk are
 * built with -Dmain=husk_cli_main and linked against stubs.c (the runtime,
 * with no side effects) and the real spec/ and common/ code.
 *
 * The input is split into arguments at NUL bytes (at most MAX_ARGS), after
 * argv[0] "husk". getopt's state is reset before each call (optind = 0),
 * and husk's log file is closed after it.
 *
 * The CLI itself writes files in two places: `spec` (config.json in the
 * bundle) and `--log FILE`. So that a fuzzed "--bundle /" cannot write
 * anywhere, open/openat/fork are wrapped at link time (-Wl,--wrap=...):
 * while husk_cli_main runs, an open for writing or creating gets /dev/null
 * instead, and fork and execv fail (ps would run the system's ps, `net`
 * husk-net).
 *
 * Output: the target adds -close_fd_mask=3 to libFuzzer's flags (unless
 * given), so that husk's stdout and stderr go to /dev/null from the start
 * while libFuzzer and the sanitizers keep a copy of the real stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/log.h"

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int husk_cli_main(int argc, char **argv);

int __real_open(const char *path, int flags, ...);
int __real_openat(int dirfd, const char *path, int flags, ...);
pid_t __real_fork(void);
int __wrap_open(const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
pid_t __wrap_fork(void);
int __real_execv(const char *path, char *const argv[]);
int __wrap_execv(const char *path, char *const argv[]);

static bool in_cli;

static bool writes(int flags)
{
	return (flags & (O_CREAT | O_TRUNC | O_APPEND)) || (flags & O_ACCMODE) != O_RDONLY;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	if (in_cli && writes(flags))
		return __real_open("/dev/null", O_WRONLY | O_CLOEXEC);
	return __real_open(path, flags, mode);
}

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	if (in_cli && writes(flags))
		return __real_open("/dev/null", O_WRONLY | O_CLOEXEC);
	return __real_openat(dirfd, path, flags, mode);
}

pid_t __wrap_fork(void)
{
	if (in_cli) {
		errno = EAGAIN;
		return -1;
	}
	return __real_fork();
}

int __wrap_execv(const char *path, char *const argv[])
{
	if (in_cli) {
		errno = EACCES;
		return -1;
	}
	return __real_execv(path, argv);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	for (int i = 1; i < *argc; i++)
		if (strncmp((*argv)[i], "-close_fd_mask=", 15) == 0)
			return 0;
	/* libFuzzer parses its flags after this returns (FuzzerDriver.cpp). */
	char **v = calloc((size_t)*argc + 2, sizeof(char *));
	if (!v)
		abort();
	memcpy(v, *argv, (size_t)*argc * sizeof(char *));
	v[(*argc)++] = (char *)(uintptr_t) "-close_fd_mask=3";
	v[*argc] = NULL;
	*argv = v;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	char *argv[MAX_ARGS + 2];
	int argc = 0;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)(uintptr_t) "husk";
	for (char *p = buf; p < buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	optind = 0;
	opterr = 0;
	in_cli = true;
	husk_cli_main(argc, argv);
	in_cli = false;
	hk_log_close();
	fflush(stdout);
	fflush(stderr);
	free(buf);
	return 0;
}
