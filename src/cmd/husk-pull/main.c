/* husk-pull: `husk pull`, `images`, `rmi`, `login`, `logout`, the registry
 * client. A binary of its own, linked dynamically with libcurl, so that
 * neither husk nor husk-launch loads it (cmd/husk/companions.c); husk
 * launch runs it only to pull an image its cache lacks. */
#include <stdlib.h>

#include "cmd/husk-pull/commands.h"
#include "common/xalloc.h"
#include "launch/launch.h"
#include "launch/user.h"

static const struct hk_command *const commands[] = {&cmd_images, &cmd_login, &cmd_logout, &cmd_pull,
						    &cmd_rmi};

static const struct cli_program husk_pull = {
	.name = "husk-pull",
	.about = "husk-pull runs husk pull, images, rmi, login and logout: images from registries.",
	.commands = commands,
	.n_commands = sizeof(commands) / sizeof(commands[0]),
};

char *pull_default_cache(struct hk_err *err)
{
	const char *env = getenv("HUSK_CACHE");

	if (env && *env)
		return xstrdup(env);
	return launch_by_user() ? launch_user_default_dir(true, err) : xstrdup(LAUNCH_CACHE_DIR);
}

int main(int argc, char **argv)
{
	return cli_main(&husk_pull, argc, argv);
}
