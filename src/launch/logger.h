/* launch -d: the program's output in DIR/output.log, capped and rotated
 * (see logger.c). */
#ifndef HUSK_LAUNCH_LOGGER_H
#define HUSK_LAUNCH_LOGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launch/opts.h"

struct hk_err;

/* An output.log being filled: the directory it is in, the file, how much
 * it holds, its cap and how many files the rotation keeps. */
struct launch_log {
	int dir, fd;
	uint64_t size, max_size;
	int max_files;
	bool broken; /* the log cannot be written: the output is drained unkept */
};

/* A new output.log in dirfd (O_EXCL, no link followed): its fd, or -1. */
int launch_log_create(int dirfd);
/* Append buf, rotating (whole lines kept) when the file is full. */
void launch_log_keep(struct launch_log *l, const char *buf, size_t n);

/* In a process launch leaves running (the logger, the console holder):
 * fds[0..n-1] become 3..3+n-1 (n <= 8), every other fd of launch's is
 * closed, stdio is /dev/null, SIGPIPE ignored, the process named name. */
void launch_become_daemon(const int *fds, int n, const char *name);

/* Create dir/output.log and the process that fills it (in the mount
 * namespace host_mntns, when >= 0); *out: the pipe's end for the
 * container's stdout and stderr (close-on-exec). */
int launch_log_start(const char *dir, const struct launch_log_opts *lo, int host_mntns, int *out,
		     struct hk_err *err);

#endif
