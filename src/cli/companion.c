/* Running a companion binary (husk-net, husk-launch) that sits next to
 * husk (why they are binaries of their own: cmd/husk/companions.c). The
 * companion parses the same global flags (cli/main.c) and has a table of
 * its own commands. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/xalloc.h"
#include "linux/selfexe.h"

char *cli_companion_path(const char *binary)
{
	const char *exe = selfexe_path();
	if (!exe)
		return NULL;
	/* husk's own directory, not the view it may run from. */
	_cleanup_free_ char *self = xstrdup(exe);
	char *slash = strrchr(self, '/');
	*(slash ? slash : self) = '\0';
	return xasprintf("%s/%s", self, binary);
}

int cli_exec_companion(const char *binary, bool protect, const struct hk_globals *g, int argc,
		       char **argv)
{
	char **args = xcalloc(10 + (size_t)argc, sizeof(*args));
	size_t n = 0;

	char *path = cli_companion_path(binary);
	if (!path) {
		free(args);
		return cli_errorf("%s: readlink /proc/self/exe: %s", argv[0], strerror(errno));
	}
	/* The global flags husk has parsed already, for the companion to
	 * parse again. */
	args[n++] = path;
	if (g->log) {
		args[n++] = xstrdup("--log");
		args[n++] = xstrdup(g->log);
	}
	if (g->log_format) {
		args[n++] = xstrdup("--log-format");
		args[n++] = xstrdup(g->log_format);
	}
	if (g->debug)
		args[n++] = xstrdup("--debug");
	if (g->root) {
		args[n++] = xstrdup("--root");
		args[n++] = xstrdup(g->root);
	}
	size_t own = n;
	for (int i = 0; i < argc; i++)
		args[n++] = argv[i];
	if (protect)
		selfexe_exec_companion(path, args);
	execv(path, args);
	int e = errno;
	int r = cli_errorf("%s: cannot run %s (make builds it next to husk): %s", argv[0], path,
			   strerror(e));
	for (size_t i = 0; i < own; i++)
		free(args[i]);
	free(args);
	return r;
}
