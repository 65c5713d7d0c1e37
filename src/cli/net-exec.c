/* husk net: run build/husk-net, which sits next to this binary (see
 * cli/companion.c for why it is a binary of its own). */
#include "cli/cli.h"

#define NET_BINARY "husk-net"

static int run_net(const struct hk_globals *g, int argc, char **argv)
{
	return cli_exec_companion(NET_BINARY, g, argc, argv);
}

const struct hk_command cmd_net = {
	.name = "net",
	.run = run_net,
	.args = "COMMAND [options]",
	.summary = "container networking (attach, detach, ls, gc), run by " NET_BINARY,
	.options = "",
};
