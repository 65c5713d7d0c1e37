/* husk-launch's commands (their table is main.c's). */
#ifndef HUSK_CMD_HUSK_LAUNCH_COMMANDS_H
#define HUSK_CMD_HUSK_LAUNCH_COMMANDS_H

#include "cli/cli.h"

extern const struct hk_command cmd_launch;
extern const struct hk_command cmd_cleanup;
extern const struct hk_command cmd_image;
extern const struct hk_command cmd_attach;

/* Serve the cleanup hook of the containers this husk-launch makes
 * in-process when it deletes them itself (cleanup.c); self: this binary's
 * path, as the hooks name it. */
void cleanup_serve_locally(const char *self, int aftercare);

/* husk-launch's after-care (aftercare.c, launch/aftercare.h): its socket,
 * -1 when it could not be started; aftercare_end tells it launch is done
 * and closes the socket. */
int aftercare_start(void);
void aftercare_end(int sock);
/* The after-care's program (husk-launch AFTERCARE_ARG), which it execs
 * once launch has exited: fds 3 and 4 as it set them. */
#define AFTERCARE_ARG "--after-care"
int aftercare_main(void);

#endif
