/* husk spec: write a default config.json, as runc spec does. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "common/file.h"
#include "spec/spec.h"

struct spec_opts {
	const char *bundle;
	bool rootless;
};

enum { OPT_ROOTLESS = 1000 };

static int on_opt(int opt, const char *arg, void *data)
{
	struct spec_opts *o = data;
	if (opt == 'b') {
		o->bundle = arg;
		return 0;
	}
	if (opt == OPT_ROOTLESS) {
		o->rootless = true;
		return 0;
	}
	return -1;
}

static int run_spec(const struct hk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
					     {"rootless", no_argument, NULL, OPT_ROOTLESS},
					     {0}};
	struct spec_opts o = {.bundle = "."};
	int status;

	(void)g;
	if (cli_getopt(&cmd_spec, argc, argv, "b:", opts, on_opt, &o, &status))
		return status;
	if (optind != argc)
		return cli_errorf("spec: takes no arguments");
	int dirfd = open(o.bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cli_errorf("spec: bundle %s: %s", o.bundle, strerror(errno));
	if (faccessat(dirfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		close(dirfd);
		return cli_errorf("spec: %s/config.json exists; remove it first", o.bundle);
	}
	char *text = spec_default_json(o.rootless);
	int fd = openat(dirfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	int r = 0;
	if (fd < 0 || hk_write_all(fd, text, strlen(text)) < 0)
		r = cli_errorf("spec: write %s/config.json: %s", o.bundle, strerror(errno));
	if (fd >= 0)
		close(fd);
	close(dirfd);
	free(text);
	return r;
}

const struct hk_command cmd_spec = {
	.no_state = true,
	.name = "spec",
	.run = run_spec,
	.args = "[options]",
	.summary = "write a default config.json into the bundle",
	.options = "   --bundle, -b DIR      the bundle (default: the current directory)\n"
		   "   --rootless            a config for an unprivileged user\n",
};
