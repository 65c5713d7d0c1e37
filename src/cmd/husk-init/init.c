/* husk-init: a tiny static PID 1 for containers.
 *
 *   husk-init [-g] [--] CMD [ARGS...]
 *
 * Starts CMD, forwards every signal it can catch to CMD (to CMD's process
 * group with -g), reaps every zombie that ends up as its child, and exits
 * with CMD's status: its exit code, or 128+n when signal n killed it. When
 * CMD cannot be executed it exits 127 (not found) or 126 (found but not
 * executable). husk-init's own failures exit 1.
 *
 * In a bundle, bind the binary in read-only and put it first in
 * process.args:
 *
 *   "mounts": [{"destination": "/sbin/husk-init", "type": "bind",
 *               "source": "/usr/libexec/husk/husk-init",
 *               "options": ["bind", "ro"]}, ...],
 *   "process": {"args": ["/sbin/husk-init", "--", "nginx", "-g", "daemon off;"]}
 *
 * With podman: `podman run --init --init-path=/path/to/husk-init ...` (podman
 * runs it as `/run/podman-init -- CMD...`).
 *
 * Outside PID 1 it makes itself a child subreaper (PR_SET_CHILD_SUBREAPER),
 * so orphans of CMD are still reparented to it and reaped.
 *
 * Like tini, but it waits on a signalfd instead of polling sigtimedwait():
 * every signal stays blocked in husk-init and arrives as a read. Blocked
 * signals are queued even for a PID 1 whose dispositions are SIG_DFL (the
 * kernel drops unblocked default signals to a namespace's init), which is
 * what lets a container's `kill TERM` reach CMD through us. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/version.h"

#define USAGE "husk-init [-g] [--] CMD [ARGS...]"
#define EXIT_INIT_FAILURE 1
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_NOT_FOUND 127

struct init_opts {
	bool pgroup; /* -g: signal CMD's whole process group */
	char **argv; /* CMD and its arguments */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* One line on stderr, "husk-init: " first. Only main-level paths call it. */
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("husk-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_INIT_FAILURE);
}

/* A string from the image (its command) made safe for a terminal: every
 * byte outside printable ASCII as \xNN, so no escape sequence, C1 control
 * or bidi override reaches the operator's screen raw. Truncated to fit. */
static const char *esc(const char *s)
{
	static char out[1024];
	size_t n = 0;

	for (; *s && n + 5 < sizeof(out); s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
	}
	out[n] = '\0';
	return out;
}

static void usage(FILE *f)
{
	fputs("usage: " USAGE "\n"
	      "Run CMD as a child of a minimal init: forward signals to it, reap zombies,\n"
	      "exit with its status (128+n if signal n killed it).\n"
	      "\n"
	      "  -g, --pgroup  run CMD in its own process group and signal the whole group\n"
	      "  -h, --help    show this help\n"
	      "  -v, --version print the version\n",
	      f);
}

static void parse_args(int argc, char **argv, struct init_opts *o)
{
	static const struct option longopts[] = {
		{"pgroup", no_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* "+": stop at CMD, so CMD's own options are not ours. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+ghv", longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			o->pgroup = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'v':
			/* dockerd asks its init binary for this at start. */
			printf("husk-init version %s\n", HUSK_VERSION);
			exit(0);
		default:
			/* optopt: the bad letter of a short option, 0 for a long one. */
			if (optopt)
				die("unknown option -%c (usage: %s)", optopt, USAGE);
			die("unknown option %s (usage: %s)", esc(argv[optind - 1]), USAGE);
		}
	}
	if (optind >= argc)
		die("no command given (usage: %s)", USAGE);
	o->argv = argv + optind;
}

/* Dispositions inherited as SIG_IGN would make the kernel discard those
 * signals before they reach the signalfd (and SIGCHLD ignored would
 * auto-reap, hiding CMD's status), so set every one back to SIG_DFL. With all
 * signals blocked the default actions never run here. */
static void reset_dispositions(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		/* EINVAL: SIGKILL, SIGSTOP and glibc's reserved RT signals. */
		if (signal(sig, SIG_DFL) == SIG_ERR && errno != EINVAL)
			die("reset signal %d: %s", sig, strerror(errno));
	}
}

/* musl's sigfillset leaves out 32 to 34, which it keeps for its threads
 * and timers (glibc: 32 and 33), and its sigaddset refuses them; husk-init
 * uses neither, so they are set in the mask by hand: blocked, they reach
 * the signalfd and are forwarded, where an unblocked 34 (SIGRTMIN under
 * glibc) was dropped by the kernel for PID 1, and killed husk-init as a
 * subreaper (ninth outside attack, F1). The mask is then set with the
 * system call itself. */
static void block_reserved(sigset_t *set)
{
	unsigned long *bits = (unsigned long *)(void *)set;

	for (int sig = 32; sig <= 34; sig++)
		bits[(sig - 1) / (8 * sizeof(long))] |= 1UL << ((sig - 1) % (8 * sizeof(long)));
}

/* Not PID 1: make orphans of CMD ours to reap rather than the host's init. */
static void become_subreaper(void)
{
	int on = 0;

	if (getpid() == 1)
		return;
	if (prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0) < 0)
		die("prctl PR_GET_CHILD_SUBREAPER: %s", strerror(errno));
	if (!on && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		die("prctl PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
}

/* Whether stdin is our controlling terminal, to hand to CMD's group: a
 * terminal that is not ours (ENOTTY from tcgetpgrp) has nothing to hand. */
static bool controls_terminal(void)
{
	return isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) >= 0;
}

/* As the shell does: 127 when there is no such command, 126 when it
 * exists but cannot be run. */
static int exec_failure(int e)
{
	return e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
}

/* -g on our controlling terminal: CMD in a process group of its own made
 * the terminal's foreground (SIGTTOU is blocked here, so that works even
 * from a background group). A fork, which is cheap for a process this
 * small; its exec failure is its exit status. */
static pid_t spawn_foreground(const struct init_opts *o, const sigset_t *orig_mask)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (setpgid(0, 0) < 0 || tcsetpgrp(STDIN_FILENO, getpid()) < 0) {
			fprintf(stderr, "husk-init: a foreground process group for %s: %s\n",
				esc(o->argv[0]), strerror(errno));
			_exit(EXIT_INIT_FAILURE);
		}
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		execvp(o->argv[0], o->argv);
		int e = errno;
		fprintf(stderr, "husk-init: exec %s: %s\n", esc(o->argv[0]), strerror(e));
		_exit(exec_failure(e));
	}
	/* the child's own setpgid may not have run yet: a signal forwarded
	 * to its group must find it */
	if (setpgid(pid, pid) < 0 && errno != EACCES && errno != ESRCH)
		die("setpgid %d: %s", pid, strerror(errno));
	return pid;
}

/* CMD started with posix_spawnp, which shares our memory until CMD execs
 * (vfork's way). The child gets our original signal mask; with -g, a
 * process group of its own. husk-init is linked with musl (Makefile): its
 * static start touches 4 pages where glibc's touches 25, and on a VM each
 * fault of a fresh page costs ~10 us; half a millisecond per container. */
static pid_t spawn(const struct init_opts *o, const sigset_t *orig_mask)
{
	posix_spawnattr_t attr;
	short flags = POSIX_SPAWN_SETSIGMASK;
	pid_t pid;
	int r;

	/* Buffered output would otherwise be written twice. */
	if (fflush(NULL) == EOF)
		die("flush: %s", strerror(errno));
	if (o->pgroup && controls_terminal())
		return spawn_foreground(o, orig_mask);
	if ((r = posix_spawnattr_init(&attr)) != 0)
		die("posix_spawn setup: %s", strerror(r));
	if (o->pgroup) {
		flags |= POSIX_SPAWN_SETPGROUP;
		posix_spawnattr_setpgroup(&attr, 0);
	}
	posix_spawnattr_setsigmask(&attr, orig_mask);
	posix_spawnattr_setflags(&attr, flags);
	r = posix_spawnp(&pid, o->argv[0], NULL, &attr, o->argv, environ);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		fprintf(stderr, "husk-init: exec %s: %s\n", esc(o->argv[0]), strerror(r));
		exit(exec_failure(r));
	}
	return pid;
}

static int status_to_exit(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_INIT_FAILURE;
}

/* Reap every child that has exited. Returns true once `child` was among
 * them, with its wait status in *status. */
static bool reap(pid_t child, int *status)
{
	bool done = false;

	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid == 0)
			return done;
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				return done;
			die("waitpid: %s", strerror(errno));
		}
		if (pid == child) {
			*status = st;
			done = true;
		}
	}
}

static void forward(int sig, pid_t child, bool pgroup)
{
	/* ESRCH: nothing left to signal; the exit shows up as SIGCHLD. */
	if (kill(pgroup ? -child : child, sig) < 0 && errno != ESRCH)
		/* Not fatal (EPERM: CMD became setuid and we are not root):
		 * PID 1 must keep reaping. */
		fprintf(stderr, "husk-init: forward signal %d to %s%d: %s\n", sig,
			pgroup ? "group " : "", child, strerror(errno));
}

/* Wait on the signalfd until `child` exits; returns its wait status. */
static int supervise(int sfd, pid_t child, bool pgroup)
{
	struct signalfd_siginfo si;
	int status = 0;

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read signalfd: %s", strerror(errno));
		}
		if (n != (ssize_t)sizeof(si))
			die("read signalfd: short read of %zd bytes", n);
		if (si.ssi_signo != SIGCHLD)
			forward((int)si.ssi_signo, child, pgroup);
		/* SIGCHLD may have been coalesced with others, and other children
		 * may have gone in between: reap on every wakeup. */
		if (reap(child, &status))
			return status;
	}
}

int main(int argc, char **argv)
{
	struct init_opts o = {0};
	sigset_t all, orig;
	pid_t child;
	int sfd, status;

	parse_args(argc, argv, &o);
	if (sigfillset(&all) < 0)
		die("sigfillset: %s", strerror(errno));
	block_reserved(&all);
	/* the system call itself: musl's sigprocmask drops 32 to 34 */
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &orig, _NSIG / 8) < 0)
		die("sigprocmask: %s", strerror(errno));
	reset_dispositions();
	sfd = signalfd(-1, &all, SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));
	become_subreaper();

	child = spawn(&o, &orig);
	/* musl's posix_spawn restores the mask through its sigprocmask,
	 * which drops 32 to 34 again */
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, _NSIG / 8) < 0)
		die("sigprocmask: %s", strerror(errno));
	status = supervise(sfd, child, o.pgroup);
	/* Other processes may still run; in a pid namespace they die with us.
	 * Collect the zombies that are already there and go. */
	reap(child, &status);
	return status_to_exit(status);
}
