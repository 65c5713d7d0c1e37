/* husk launch IMAGE: an image from a registry, pulled by husk-pull. */
#ifndef HUSK_CMD_HUSK_LAUNCH_PULL_H
#define HUSK_CMD_HUSK_LAUNCH_PULL_H

#include "cli/cli.h"

/* husk launch's registry options. */
struct cli_pull_opts {
	const char *policy; /* --pull always|missing|never (default missing) */
	const char *authfile, *creds, *tls_verify, *cert_dir;
	const char *max_ratio; /* --max-layer-ratio, checked */
};

/* When source names an image (not a path that exists; "docker://" says
 * so), pull it as policy says, running husk-pull, and set *image to the
 * store's entry to launch (malloc'd); else *image NULL. cache_dir NULL:
 * launch's default. -1 (printed) on failure. */
int cli_launch_image(const struct hk_globals *g, const struct cli_pull_opts *p, const char *source,
		     const char *cache_dir, char **image);

#endif
