/* husk-net's command (its table is main.c's). */
#ifndef HUSK_CMD_HUSK_NET_COMMANDS_H
#define HUSK_CMD_HUSK_NET_COMMANDS_H

#include "cli/cli.h"

extern const struct hk_command cmd_net;

/* husk-net run as a CNI plugin (CNI_COMMAND set): cni.c. */
int cni_main(void);

#endif
