/* husk: the OCI face, runc's command line; `net`, `launch` and the image
 * commands (pull, images, rmi, login, logout; image prune, attach) run the companion binaries
 * husk-net, husk-launch and husk-pull (companions.c). */
#include "cgroup/cgroup.h"
#include "cli/cli.h"
#include "cmd/husk/commands.h"

static const struct hk_command *const commands[] = {
	&cmd_attach,   &cmd_create, &cmd_delete, &cmd_events,  &cmd_exec,
	&cmd_features, &cmd_image,  &cmd_images, &cmd_inspect, &cmd_kill,
	&cmd_launch,   &cmd_list,   &cmd_login,  &cmd_logout,  &cmd_net,
	&cmd_pause,    &cmd_ps,     &cmd_pull,   &cmd_resume,  &cmd_rmi,
	&cmd_run,      &cmd_spec,   &cmd_start,  &cmd_state,   &cmd_update,
};

static const struct cli_program husk = {
	.name = "husk",
	.about = "husk runs OCI containers; its command line is runc's.",
	.commands = commands,
	.n_commands = sizeof(commands) / sizeof(commands[0]),
};

int main(int argc, char **argv)
{
	cg_systemd_enable();
	return cli_main(&husk, argc, argv);
}
