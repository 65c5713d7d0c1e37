/* husk-net's command (its table is main.c's). */
#ifndef HUSK_CMD_HUSK_NET_COMMANDS_H
#define HUSK_CMD_HUSK_NET_COMMANDS_H

#include "cli/cli.h"

extern const struct hk_command cmd_net;

#endif
