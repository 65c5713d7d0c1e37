/* Terminals: a pty made inside the container for process.terminal, handed
 * to a console socket (conmon, containerd's shim) or proxied by husk. */
#ifndef HUSK_LINUX_TERMINAL_H
#define HUSK_LINUX_TERMINAL_H

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

struct hk_err;
struct hk_process;

/* In the container (after pivot_root, so /dev/ptmx is its own devpts): a
 * new pty; the slave becomes stdin, stdout, stderr and the controlling
 * terminal of a new session. Returns the master. */
int terminal_setup(const struct hk_process *p, struct hk_err *err);
/* Bind the pty's slave (an fd) onto the container's /dev/console, as runc
 * and crun do for a container (not an exec) with a terminal. */
int terminal_mount_console(int slave, struct hk_err *err);
/* Connect to the console socket at path, before anything is made or
 * locked (a peer that never accepts times out after 10 s, and holds up
 * nothing but this command). Returns the connected socket. */
int terminal_connect(const char *socket_path, struct hk_err *err);
/* Send the master over the connected console socket with SCM_RIGHTS, with
 * the pty's name as the data, as runc does. */
int terminal_send_fd(int sock, const char *socket_path, int master, struct hk_err *err);
/* Put husk's own terminal fd in raw mode, keeping the old settings. */
int terminal_raw(int fd, struct termios *saved, struct hk_err *err);
void terminal_restore(int fd, const struct termios *saved);
/* Copy the window size of `from` to `to` (both ttys); 0 when copied. */
int terminal_copy_size(int from, int to);

#endif
