/* A process's namespace opened so that it is surely that process's, not
 * the one of whoever got its pid after it died. */
#ifndef HUSK_COMMON_PIDNS_H
#define HUSK_COMMON_PIDNS_H

#include <sys/types.h>

struct hk_err;

/* /proc/<pid>/ns/<name> ("net", "user", ...) opened O_RDONLY|O_CLOEXEC,
 * where pidfd is a pidfd of pid opened before (and checked by the caller
 * to be the process it means, by its start time). After the open a signal
 * 0 through the pidfd must still reach the process: alive, so pid was its
 * own all along and the namespace is its. Works on every kernel husk runs
 * on (pidfd_open: Linux 5.3); ioctl(PIDFD_GET_NET_NAMESPACE) would do it
 * in one step, but only since Linux 6.11. */
int hk_pidfd_open_ns(int pidfd, pid_t pid, const char *name, struct hk_err *err);

#endif
