/* husk-net: `husk net`, container networking (attach, detach, ls, gc),
 * also usable as OCI hooks by any runtime. Linked dynamically: libmnl and
 * libnftables have no static archives in Debian, so the static husk execs
 * this binary for `net` (cmd/husk/companions.c). It is a CNI plugin as
 * well (cni.c). */
#include <stdlib.h>

#include "cmd/husk-net/commands.h"

static const struct hk_command *const commands[] = {&cmd_net};

static const struct cli_program husk_net = {
	.name = "husk-net",
	.about = "husk-net runs husk's networking commands (husk net); they work as OCI hooks too.",
	.commands = commands,
	.n_commands = sizeof(commands) / sizeof(commands[0]),
};

int main(int argc, char **argv)
{
	/* a CNI runtime runs its plugins with no arguments and CNI_COMMAND
	 * set (the CNI specification) */
	const char *cni = getenv("CNI_COMMAND");
	if (argc == 1 && cni && *cni)
		return cni_main();
	return cli_main(&husk_net, argc, argv);
}
