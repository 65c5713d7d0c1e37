/* husk-launch cleanup --owner OWNER [--keep] DIR: the poststop hook every
 * launched container carries (launch/spec-build.c), run by whoever deletes
 * it; and the same served in-process when husk-launch deletes its own
 * container (--rm, or a launch that failed), which saves an exec of this
 * binary on every such launch.
 *
 * Not protected by a re-execution from a read-only view of the binary
 * (linux/selfexe.h): it enters no container and runs after the
 * container's processes are gone. `launch --cleanup` (the hook of states
 * an older husk-launch wrote) still works, through the launch command. */
#include <getopt.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cmd/husk-launch/commands.h"
#include "common/err.h"
#include "common/log.h"
#include "launch/aftercare.h"
#include "launch/launch.h"
#include "launch/overlay.h"
#include "launch/user.h"
#include "runtime/hooks.h"

struct cleanup_args {
	const char *owner;
	bool keep;
};

enum { OPT_OWNER = 1000, OPT_KEEP };

static const struct option longopts[] = {
	{"owner", required_argument, NULL, OPT_OWNER},
	{"keep", no_argument, NULL, OPT_KEEP},
	{0},
};

static int on_opt(int opt, const char *arg, void *data)
{
	struct cleanup_args *a = data;

	if (opt == OPT_OWNER)
		a->owner = arg;
	else if (opt == OPT_KEEP)
		a->keep = true;
	else
		return -1;
	return 0;
}

static int run_cleanup(const struct hk_globals *g, int argc, char **argv)
{
	struct cleanup_args a = {0};
	struct hk_err err = {0};
	int status = 1;

	(void)g;
	if (cli_getopt(&cmd_cleanup, argc, argv, "", longopts, on_opt, &a, &status))
		return status;
	if (argc - optind != 1 || !a.owner)
		return cli_errorf("cleanup: expected DIR and --owner OWNER");
	if (launch_cleanup(argv[optind], a.keep, a.owner, NULL, &err) < 0)
		return cli_error(&err);
	return 0;
}

const struct hk_command cmd_cleanup = {
	.name = "cleanup",
	.no_state = true,
	.run = run_cleanup,
	.args = "--owner OWNER [--keep] DIR",
	.summary = "remove what a launched container left (its poststop hook)",
	.options = "   --owner OWNER   the launch's mark on DIR: nothing else is removed\n"
		   "   --keep          keep the writable layer (launch --keep)\n",
};

static const char *own_path;
/* the after-care's socket, this process's own (a child of ours, as
 * launch's -d --rm monitor, may have that fd number for something else) */
static int aftercare_sock = -1;
static pid_t aftercare_of;

/* hooks_local_fn: the cleanup hook of a container this husk-launch made
 * (path is this very binary), with exactly the arguments launch writes. */
static int cleanup_local(const struct hk_hook *h, struct hk_err *err)
{
	char **v = h->args;

	if (!own_path || strcmp(h->path, own_path) != 0 || (h->n_args != 5 && h->n_args != 6) ||
	    strcmp(v[1], "cleanup") != 0 || strcmp(v[2], "--owner") != 0 ||
	    (h->n_args == 6 && strcmp(v[4], "--keep") != 0))
		return 0;
	hk_debug("launch: cleanup hook served in-process");
	struct overlay_trash t = OVERLAY_TRASH_INIT;
	struct hk_err aerr = {0};
	bool care = aftercare_sock >= 0 && aftercare_of == getpid();
	int r = launch_cleanup(v[h->n_args - 1], h->n_args == 6, v[3], care ? &t : NULL, err);
	/* the writable layer's files: the after-care's, or ours after all */
	if (r == 0 && t.parent >= 0 && aftercare_trash(aftercare_sock, &t, &aerr) < 0) {
		hk_debug("launch: %s", aerr.msg);
		r = overlay_trash_empty(&t, err);
	}
	overlay_trash_clear(&t);
	return r < 0 ? -1 : 1;
}

void cleanup_serve_locally(const char *self, int aftercare)
{
	/* an ordinary user's cleanup enters a user namespace: not in here */
	if (launch_by_user())
		return;
	own_path = self;
	aftercare_sock = aftercare;
	aftercare_of = getpid();
	hooks_set_local(cleanup_local);
}
