/* The one protocol between husk and the container's first process, over a
 * SOCK_SEQPACKET socketpair: one message per step, errors carried whole.
 * husk-launch speaks it to its after-care too (launch/aftercare.h). */
#ifndef HUSK_RUNTIME_SYNC_H
#define HUSK_RUNTIME_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

enum hk_sync_type {
	HK_SYNC_GO = 1, /* parent -> child: you are in your cgroup, go on */
	HK_SYNC_READY,  /* child -> parent: world built, waiting for start */
	HK_SYNC_ERROR,  /* child -> parent: setup failed; err says why */
	HK_SYNC_PTY,    /* child -> parent: the terminal's master (SCM_RIGHTS) */
	HK_SYNC_DONE,   /* parent -> child: state recorded, you may outlive me */
	HK_SYNC_FAULT,  /* child -> parent, test builds only: die now */
	HK_SYNC_CGROUP, /* parent -> child: you are in your cgroup now */
	HK_SYNC_HOOKS,  /* child -> parent: mounts done, run prestart and
			 * createRuntime hooks; parent -> child: done */
	HK_SYNC_PID,    /* grandchild -> parent: I am the container process now
			 * (its pid arrives as SCM_CREDENTIALS) */
	HK_SYNC_MOUNTS, /* child -> parent: open my bind mount sources
			 * (runtime/mountsrc.h) */
	HK_SYNC_MNTFD,  /* parent -> child: one such source's tree */
	HK_SYNC_CGFD,   /* parent -> child: a cgroup's tasks file: enter it
			 * (cg_enter_self), before CGROUP (create) or GO (exec) */
	HK_SYNC_HOLD,   /* launch -> after-care: an fd to hold until the end */
	HK_SYNC_TRASH,  /* launch -> after-care: DATA, and in the payload's msg
			 * the entry of DATA/.trash to empty */
	HK_SYNC_ENTRY,  /* launch -> after-care: that entry, open and locked */
	HK_SYNC_END,    /* launch -> after-care: nothing more will come */
};

struct hk_sync_msg {
	uint32_t type;
	int32_t value; /* GO: the process's pid as husk sees it */
	struct hk_err err;
};

int sync_send(int fd, enum hk_sync_type type, const struct hk_err *payload);
/* Receive one message. EOF (the child died or exec'd) is reported as an
 * error unless eof_ok; then returns 0 with *type = 0. */
int sync_recv(int fd, uint32_t *type, struct hk_err *payload, struct hk_err *err);
/* One message with all it carries: the sender's pid as seen from here (when
 * the socket has SO_PASSCRED; the kernel fills it in) and an fd (SCM_RIGHTS;
 * -1 when none). type 0 means EOF. */
struct hk_sync_in {
	uint32_t type;
	int32_t value;
	struct hk_err payload;
	pid_t sender;
	int fd;
};
int sync_read(int sock, struct hk_sync_in *in, struct hk_err *err);
/* A message with a value (GO carries the pid). */
int sync_send_value(int sock, enum hk_sync_type type, int32_t value);
/* A message carrying fd. */
int sync_send_fd(int sock, enum hk_sync_type type, int fd);
/* A message carrying fd (-1: none) and payload. */
int sync_send_fd_payload(int sock, enum hk_sync_type type, int fd, const struct hk_err *payload);
/* The same with write and read, which every seccomp profile a program can
 * run under allows (the container's process after its filter): a message
 * without payload, and one of type `want` whose value is taken; -1 on EOF,
 * error or another message. */
int sync_write(int sock, enum hk_sync_type type);
int sync_read_value(int sock, enum hk_sync_type want, int32_t *value);
/* A container process's last word, its error, also after its seccomp
 * filter is loaded: to husk when husk still reads (send, or write where the
 * filter refuses send), else, as runc does, to the process's own stderr. */
void sync_report_error(int sock, bool husk_reads, const struct hk_err *err);
/* Send each of n fds as CGFD, closing them. */
int sync_send_cgfds(int sock, int *fds, size_t n);
/* In a container process: wait for GO and take the pid it carries (the
 * process's pid as husk sees it); the CGFDs before it entered. */
int sync_wait_go(int sock, pid_t *host_pid, struct hk_err *err);

#endif
