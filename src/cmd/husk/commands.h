/* husk's commands: runc's, one file each in this folder, and the two that
 * husk runs a companion binary for (companions.c). */
#ifndef HUSK_CMD_HUSK_COMMANDS_H
#define HUSK_CMD_HUSK_COMMANDS_H

#include "cli/cli.h"

extern const struct hk_command cmd_spec, cmd_create, cmd_start, cmd_run, cmd_state, cmd_kill,
	cmd_delete, cmd_list, cmd_features, cmd_exec, cmd_ps, cmd_pause, cmd_resume, cmd_update,
	cmd_events, cmd_inspect;
extern const struct hk_command cmd_attach, cmd_net, cmd_launch, cmd_pull, cmd_image, cmd_images,
	cmd_rmi, cmd_login, cmd_logout;

#endif
