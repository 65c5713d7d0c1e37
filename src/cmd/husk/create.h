/* Flags shared by create and run. */
#ifndef HUSK_CMD_HUSK_CREATE_H
#define HUSK_CMD_HUSK_CREATE_H

#include <stdbool.h>

#include "cli/cli.h"
#include "runtime/container.h"

struct cli_create {
	struct hk_create_opts opts;
	bool allow_detach; /* run has -d */
	bool detach;
};

extern const char cli_create_options[];
int cli_parse_create(const struct hk_command *cmd, const struct hk_globals *g, int argc,
		     char **argv, struct cli_create *c, int *exit_status);

#endif
