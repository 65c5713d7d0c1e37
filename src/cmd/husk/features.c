/* husk features: what this husk supports, as `runc features` prints it. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "runtime/features.h"

static int run_features(const struct hk_globals *g, int argc, char **argv)
{
	int status;

	(void)g;
	if (cli_getopt(&cmd_features, argc, argv, "", NULL, cli_no_opts, NULL, &status))
		return status;
	if (optind != argc)
		return cli_errorf("features: takes no arguments");
	char *text = features_json(HUSK_VERSION);
	printf("%s\n", text);
	free(text);
	return 0;
}

const struct hk_command cmd_features = {
	.prints = true,
	.name = "features",
	.run = run_features,
	.args = "",
	.summary = "show what this husk supports, as JSON",
	.options = "",
};
