/* husk image prune (in husk-launch, which knows the containers' records
 * and, for an ordinary user, enters the user namespace the layers were
 * unpacked in): the layers of the image cache that no image of the store
 * and no launched container uses, removed, as `docker image prune` and
 * `podman image prune` free what nothing uses. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-launch/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "image/prune.h"
#include "launch/launch.h"
#include "launch/layers.h"
#include "launch/user.h"

enum { OPT_CACHE = 1000, OPT_DATA };

static const struct option longopts[] = {
	{"cache-dir", required_argument, NULL, OPT_CACHE},
	{"data-dir", required_argument, NULL, OPT_DATA},
	{"force", no_argument, NULL, 'f'},
	{0},
};

struct prune_args {
	const char *cache_dir;
	const char *data_dir;
	long long total;
	size_t n;
};

static int on_opt(int opt, const char *arg, void *data)
{
	struct prune_args *a = data;

	if (opt == OPT_CACHE)
		a->cache_dir = arg;
	else if (opt == OPT_DATA)
		a->data_dir = arg;
	else if (opt != 'f') /* -f: no question is asked anyway */
		return -1;
	return 0;
}

static void deleted(void *data, const char *hex, long long bytes)
{
	struct prune_args *a = data;

	printf("deleted: sha256:%s\n", hex);
	a->total += bytes;
	a->n++;
}

static int prune(struct prune_args *a, struct hk_err *err)
{
	struct img_prune pr;
	bool ranged;

	if (launch_by_user() &&
	    launch_user_prepare_dirs(a->data_dir, a->cache_dir, &ranged, err) < 0)
		return -1;
	if (img_prune_begin(&pr, a->cache_dir, err) < 0)
		return -1;
	int r = img_prune_keep_store(&pr, err);
	if (r == 0)
		r = launch_layers_keep(a->data_dir, &pr, err);
	if (r == 0)
		r = img_prune_run(&pr, deleted, a, err);
	img_prune_end(&pr);
	return r;
}

static int run_image(const struct hk_globals *g, int argc, char **argv)
{
	struct prune_args a = {0};
	struct hk_err err = {0};
	int status = 1;

	(void)g;
	/* husk image [options] prune [options] */
	if (cli_getopt(&cmd_image, argc, argv, "f", longopts, on_opt, &a, &status))
		return status;
	if (optind >= argc)
		return cli_errorf("image: expected a subcommand: prune");
	if (strcmp(argv[optind], "prune") != 0)
		return cli_errorf("image: unknown subcommand %s (there is prune; images, rmi and "
				  "pull are commands of their own)",
				  argv[optind]);
	int sub = optind;
	if (cli_getopt(&cmd_image, argc - sub, argv + sub, "f", longopts, on_opt, &a, &status))
		return status;
	if (sub + optind != argc)
		return cli_errorf("image prune: unexpected argument %s", argv[sub + optind]);
	_cleanup_free_ char *cache = NULL, *data = NULL;
	if ((!a.cache_dir && !(a.cache_dir = cache = launch_default_dir(true, &err))) ||
	    (!a.data_dir && !(a.data_dir = data = launch_default_dir(false, &err))))
		return cli_error(&err);
	if (prune(&a, &err) < 0) {
		/* what was removed before the failure is said already */
		fflush(stdout);
		return cli_error(&err);
	}
	char total[32];
	cli_human_size(a.total, "", total, sizeof(total));
	printf("Total reclaimed space: %s\n", total);
	return fflush(stdout) == 0 ? 0 : 1;
}

const struct hk_command cmd_image = {
	.name = "image",
	.no_state = true,
	.run = run_image,
	.args = "prune [options]",
	.summary = IMAGE_SUMMARY,
	.options =
		"   --cache-dir DIR       the image cache (default $HUSK_CACHE, " LAUNCH_CACHE_DIR
		")\n"
		"   --data-dir DIR        the launched containers, whose layers stay (default "
		"$HUSK_DATA, " LAUNCH_DATA_DIR ")\n"
		"   -f, --force           accepted, as docker's (nothing is asked)\n",
};
