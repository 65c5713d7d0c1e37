/* husk pull, images, rmi, login, logout: run build/husk-pull, which sits next to this binary (it
 * links libcurl, which neither husk nor husk-launch loads: cli/companion.c). */
#include "cli/cli.h"

static int run_pull(const struct hk_globals *g, int argc, char **argv)
{
	return cli_exec_companion(PULL_BINARY, g, argc, argv);
}

const struct hk_command cmd_pull = {
	.name = "pull",
	.run = run_pull,
	.args = PULL_ARGS,
	.summary = PULL_SUMMARY,
	.options = "",
};

const struct hk_command cmd_images = {
	.name = "images",
	.run = run_pull,
	.args = "[options]",
	.summary = IMAGES_SUMMARY,
	.options = "",
};

const struct hk_command cmd_rmi = {
	.name = "rmi",
	.run = run_pull,
	.args = "[options] IMAGE...",
	.summary = RMI_SUMMARY,
	.options = "",
};

const struct hk_command cmd_login = {
	.name = "login",
	.run = run_pull,
	.args = "[options] REGISTRY",
	.summary = LOGIN_SUMMARY,
	.options = "",
};

const struct hk_command cmd_logout = {
	.name = "logout",
	.run = run_pull,
	.args = "[options] REGISTRY | --all",
	.summary = LOGOUT_SUMMARY,
	.options = "",
};
