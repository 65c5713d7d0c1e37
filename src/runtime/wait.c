/* Waiting for a container's process in the foreground (run, exec). */
#include "runtime/wait.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"

/* Forward every signal husk gets to the container until it exits. */
int wait_forwarding(int pidfd, int *status, struct hk_err *err)
{
	sigset_t all, old;
	siginfo_t info;

	sigfillset(&all);
	sigdelset(&all, SIGCHLD);
	sigprocmask(SIG_BLOCK, &all, &old);
	_cleanup_close_ int sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		return hk_fail(err, errno, "signalfd");
	struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return hk_fail(err, errno, "poll");
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				hk_pidfd_send_signal(pidfd, (int)si.ssi_signo, NULL, 0);
		}
		if (p[0].revents & POLLIN)
			break;
	}
	memset(&info, 0, sizeof(info));
	if (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0)
		return hk_fail(err, errno, "wait for the container process");
	sigprocmask(SIG_SETMASK, &old, NULL);
	*status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
	return 0;
}
