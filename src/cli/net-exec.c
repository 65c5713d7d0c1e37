/* husk net: run build/husk-net, which sits next to this binary. husk is
 * linked statically so that no dynamic loader runs on a container's start
 * path, and Debian ships libmnl and libnftables (and libxtables under it)
 * as shared libraries only; so the networking commands live in their own
 * dynamically linked binary and only `husk net` pays for loading them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/xalloc.h"

#define NET_BINARY "husk-net"

static int run_net(const struct hk_globals *g, int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + sizeof(NET_BINARY)];
	char **args = xcalloc(10 + (size_t)argc, sizeof(*args));
	size_t n = 0;

	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		return cli_errorf("net: readlink /proc/self/exe: %s", strerror(errno));
	self[len] = '\0';
	char *slash = strrchr(self, '/');
	*(slash ? slash : self) = '\0';
	snprintf(path, sizeof(path), "%s/%s", self, NET_BINARY);
	/* The global flags husk has parsed already, for husk-net to parse
	 * again (it is the same command line, linked differently). */
	args[n++] = xstrdup(path);
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
	execv(path, args);
	int e = errno;
	for (size_t i = 0; i < own; i++)
		free(args[i]);
	free(args);
	return cli_errorf("net: cannot run %s (make builds it next to husk): %s", path,
			  strerror(e));
}

const struct hk_command cmd_net = {
	.name = "net",
	.run = run_net,
	.args = "COMMAND [options]",
	.summary = "container networking (attach, detach, ls, gc), run by " NET_BINARY,
	.options = "",
};
