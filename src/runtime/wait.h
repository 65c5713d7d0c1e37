/* Waiting for a container's process in the foreground (run, exec). */
#ifndef HUSK_RUNTIME_WAIT_H
#define HUSK_RUNTIME_WAIT_H

struct hk_err;

/* Forward every signal husk gets to the process of pidfd (our child) until
 * it exits; *status is its exit status, or 128+N when signal N killed it.
 * With pty >= 0 (a terminal's master), copy stdin to it and it to stdout,
 * in raw mode when stdin is a terminal, passing window size changes on. */
int wait_forwarding(int pidfd, int pty, int *status, struct hk_err *err);

#endif
