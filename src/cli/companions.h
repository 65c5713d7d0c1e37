/* The binaries of husk that find each other in the directory husk's own
 * binary is in (cli_companion_path), and what husk's usage says of the
 * commands it runs a companion for (cmd/husk/companions.c). */
#ifndef HUSK_CLI_COMPANIONS_H
#define HUSK_CLI_COMPANIONS_H

#define HUSK_BINARY "husk"
#define NET_BINARY "husk-net"
#define LAUNCH_BINARY "husk-launch"
#define INIT_BINARY "husk-init"
#define PULL_BINARY "husk-pull"

#define LAUNCH_ARGS "[options] SOURCE [CMD ARGS...]"
#define LAUNCH_SUMMARY "run a program from a root filesystem or an OCI image, with safe defaults"
#define PULL_ARGS "[options] IMAGE"
#define PULL_SUMMARY "pull an image from a registry into the image cache, run by " PULL_BINARY
#define IMAGES_SUMMARY "list the images pulled into the image cache, run by " PULL_BINARY
#define RMI_SUMMARY "remove pulled images from the image cache, run by " PULL_BINARY
#define ATTACH_SUMMARY "the terminal of a container of husk launch -dt, run by " LAUNCH_BINARY
#define IMAGE_SUMMARY                                                                \
	"image prune: remove the cached layers no image and no container uses, run " \
	"by " LAUNCH_BINARY
#define LOGIN_SUMMARY "check and keep credentials for a registry, run by " PULL_BINARY
#define LOGOUT_SUMMARY "forget the credentials for a registry, run by " PULL_BINARY

#endif
