/* The commands husk runs a companion binary for, found next to husk's own
 * binary (cli/companion.c). husk is linked statically so that no dynamic
 * loader runs on a container's start path; the commands that need
 * shared-only libraries (libmnl and libnftables for networking) or
 * parsers husk should not carry (libarchive for images, libcurl for
 * registries) live in binaries
 * of their own, and only those commands pay for loading them. */
#include "cli/companions.h"
#include "cmd/husk/commands.h"

const struct hk_command cmd_net = {
	.name = "net",
	.companion = NET_BINARY,
	.args = "COMMAND [options]",
	.summary = "container networking (attach, detach, ls, gc), run by " NET_BINARY,
	.options = "",
};

const struct hk_command cmd_launch = {
	.name = "launch",
	.companion = LAUNCH_BINARY,
	.protect_exe = true, /* run from the read-only view it would re-exec into */
	.args = LAUNCH_ARGS,
	.summary = LAUNCH_SUMMARY,
	.options = "",
};

/* husk pull, images, rmi, login, logout: husk-pull, the one binary with
 * libcurl (the registry client). */
const struct hk_command cmd_pull = {
	.name = "pull",
	.no_state = true,
	.companion = PULL_BINARY,
	.args = PULL_ARGS,
	.summary = PULL_SUMMARY,
	.options = "",
};

const struct hk_command cmd_images = {
	.name = "images",
	.no_state = true,
	.companion = PULL_BINARY,
	.args = "[options]",
	.summary = IMAGES_SUMMARY,
	.options = "",
};

const struct hk_command cmd_rmi = {
	.name = "rmi",
	.no_state = true,
	.companion = PULL_BINARY,
	.args = "[options] IMAGE...",
	.summary = RMI_SUMMARY,
	.options = "",
};

/* husk attach: husk-launch, whose console holder keeps a -dt
 * container's terminal. */
const struct hk_command cmd_attach = {
	.name = "attach",
	.no_state = true,
	.companion = LAUNCH_BINARY,
	.args = "[options] NAME",
	.summary = ATTACH_SUMMARY,
	.options = "",
};

/* husk image prune: husk-launch, which knows the launched containers
 * and, for an ordinary user, the namespace the layers belong to. */
const struct hk_command cmd_image = {
	.name = "image",
	.no_state = true,
	.companion = LAUNCH_BINARY,
	.args = "prune [options]",
	.summary = IMAGE_SUMMARY,
	.options = "",
};

const struct hk_command cmd_login = {
	.name = "login",
	.no_state = true,
	.companion = PULL_BINARY,
	.args = "[options] REGISTRY",
	.summary = LOGIN_SUMMARY,
	.options = "",
};

const struct hk_command cmd_logout = {
	.name = "logout",
	.no_state = true,
	.companion = PULL_BINARY,
	.args = "[options] REGISTRY | --all",
	.summary = LOGOUT_SUMMARY,
	.options = "",
};
