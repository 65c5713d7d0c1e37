/* husk images and husk rmi (in husk-pull): the images pulled into the
 * image cache's store (image/store.h), as podman lists and removes them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-pull/commands.h"
#include "common/err.h"
#include "image/ref.h"
#include "image/store.h"
#include "launch/launch.h"

enum { OPT_CACHE = 1000 };

static const struct option longopts[] = {
	{"cache-dir", required_argument, NULL, OPT_CACHE},
	{"quiet", no_argument, NULL, 'q'},
	{0},
};

struct cli_images {
	const char *cache_dir;
	char *dflt;
	bool quiet;
};

static int on_opt(int opt, const char *arg, void *data)
{
	struct cli_images *c = data;

	if (opt == OPT_CACHE)
		c->cache_dir = arg;
	else if (opt == 'q')
		c->quiet = true;
	else
		return -1;
	return 0;
}

/* --cache-dir, else the default (kept in c->dflt); NULL (printed) when
 * the default cannot be told */
static const char *cache_dir(struct cli_images *c)
{
	struct hk_err err = {0};

	if (c->cache_dir)
		return c->cache_dir;
	if (!c->dflt && !(c->dflt = pull_default_cache(&err)))
		cli_error(&err);
	return c->dflt;
}

/* "docker.io/library/alpine:3.20@sha256:..." -> name and tag columns */
static void split_name(const char *ref, char *name, size_t nsize, char *tag, size_t tsize)
{
	struct img_ref r;
	struct hk_err err = {0};

	if (img_ref_parse(ref, &r, &err) < 0) {
		snprintf(name, nsize, "%s", ref);
		snprintf(tag, tsize, "<none>");
		return;
	}
	snprintf(name, nsize, "%s/%s", r.domain, r.path);
	snprintf(tag, tsize, "%s", r.tag ? r.tag : "<none>");
	img_ref_clear(&r);
}

static int run_images(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_images c = {0};
	struct img_store_entry *e;
	struct hk_err err = {0};
	size_t n;
	int status = 1;

	(void)g;
	if (cli_getopt(&cmd_images, argc, argv, "q", longopts, on_opt, &c, &status))
		return status;
	if (optind != argc)
		return cli_errorf("images: unexpected argument %s", argv[optind]);
	const char *dir = cache_dir(&c);
	int r = dir ? img_store_list(dir, &e, &n, &err) : -1;
	free(c.dflt);
	if (r < 0)
		return dir ? cli_error(&err) : 1;
	if (!c.quiet)
		printf("%-40s %-16s %-12s %-19s %-10s %s\n", "REPOSITORY", "TAG", "IMAGE ID",
		       "DIGEST", "SIZE", "CREATED");
	for (size_t i = 0; i < n; i++) {
		char name[512], tag[160], size[32];
		if (c.quiet) {
			printf("%.12s\n", e[i].id);
			continue;
		}
		split_name(e[i].name, name, sizeof(name), tag, sizeof(tag));
		cli_human_size(e[i].size, " ", size, sizeof(size));
		printf("%-40s %-16s %.12s %-19.19s %-10s %s\n", cli_esc(name), cli_esc(tag),
		       e[i].id, e[i].digest, size, e[i].created ? cli_esc(e[i].created) : "-");
	}
	img_store_list_free(e, n);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int run_rmi(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_images c = {0};
	int status = 1;

	(void)g;
	if (cli_getopt(&cmd_rmi, argc, argv, "", longopts, on_opt, &c, &status))
		return status;
	if (optind >= argc)
		return cli_errorf("rmi: expected IMAGE...");
	const char *dir = cache_dir(&c);
	if (!dir)
		return 1;
	status = 0;
	for (int i = optind; i < argc; i++) {
		struct img_ref ref;
		struct hk_err err = {0};
		if (img_ref_parse_alias(argv[i], NULL, &ref, &err) == 0 &&
		    img_store_remove(dir, &ref, &err) == 0) {
			char *s = img_ref_string(&ref);
			printf("Untagged: %s\n", cli_esc(s));
			free(s);
		} else
			status = cli_error(&err);
		img_ref_clear(&ref);
	}
	free(c.dflt);
	return status;
}

const struct hk_command cmd_images = {
	.name = "images",
	.no_state = true,
	.run = run_images,
	.args = "[options]",
	.summary = IMAGES_SUMMARY,
	.options =
		"   --cache-dir DIR       the image cache (default $HUSK_CACHE, " LAUNCH_CACHE_DIR
		")\n"
		"   -q, --quiet           image ids only\n",
};

const struct hk_command cmd_rmi = {
	.name = "rmi",
	.no_state = true,
	.run = run_rmi,
	.args = "[options] IMAGE...",
	.summary = RMI_SUMMARY,
	.options =
		"   --cache-dir DIR       the image cache (default $HUSK_CACHE, " LAUNCH_CACHE_DIR
		")\n",
};
