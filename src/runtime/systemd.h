/* systemd's two protocols, as runc speaks them: socket activation
 * (LISTEN_FDS) and readiness notification (NOTIFY_SOCKET). */
#ifndef HUSK_RUNTIME_SYSTEMD_H
#define HUSK_RUNTIME_SYSTEMD_H

#include <sys/types.h>

struct hk_err;
struct hk_derived;

/* How many fds systemd passed us (LISTEN_FDS, when LISTEN_PID is unset or
 * ours); they are 3 .. 3+n-1 and go on to the container. */
int sd_listen_fds(void);
/* In the container's process: LISTEN_FDS=n and LISTEN_PID=<its pid>, in
 * the environment husk derives (the spec's stays as it is). */
void sd_listen_env(struct hk_derived *d, int n);

/* create, when NOTIFY_SOCKET is set: make <state>/notify and give the
 * container a bind of it at /run/notify with NOTIFY_SOCKET pointing there,
 * as a mount and a variable husk derives (d). */
int sd_notify_prepare(int state_fd, const char *state_path, struct hk_derived *d,
		      struct hk_err *err);
/* start, when the container was prepared and NOTIFY_SOCKET is set: listen
 * on <state>/notify/notify.sock (before the program runs). -1: no notify. */
int sd_notify_listen(int state_fd, struct hk_err *err);
/* Wait for READY=1 from the container (or its exit) and pass it, with
 * MAINPID, to the outer NOTIFY_SOCKET. */
int sd_notify_forward(int sock, int pidfd, pid_t pid, struct hk_err *err);

#endif
