/* husk-pull's commands (its table is main.c's). */
#ifndef HUSK_CMD_HUSK_PULL_COMMANDS_H
#define HUSK_CMD_HUSK_PULL_COMMANDS_H

#include "cli/cli.h"

extern const struct hk_command cmd_pull, cmd_images, cmd_rmi, cmd_login, cmd_logout;

/* The image cache pull, images and rmi use without --cache-dir: launch's
 * (root's, or an ordinary user's); NULL (err) when it cannot be told. */
char *pull_default_cache(struct hk_err *err);

#endif
