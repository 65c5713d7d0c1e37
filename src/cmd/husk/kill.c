/* husk kill: send a signal to a container's process (or all of them). */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/err.h"
#include "runtime/container.h"

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
	{"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
	{"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
	{"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
	{"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
	{"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
	{"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
	{"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
	{"SYS", SIGSYS},
};

/* "TERM", "SIGTERM", "term", "15", "RTMIN+3" */
static int parse_signal(const char *s, int *sig)
{
	if (isdigit((unsigned char)s[0]))
		return cli_parse_int("signal", s, 1, SIGRTMAX, sig);
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcasecmp(signals[i].name, name) == 0) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	if (strncasecmp(name, "RTMIN", 5) == 0 || strncasecmp(name, "RTMAX", 5) == 0) {
		bool min = strncasecmp(name, "RTMIN", 5) == 0;
		int off = 0;
		/* RTMIN+N and RTMAX-N only, N a plain number: RTMAX+1 or RTMIN-1
		 * would name signals outside the range (runc refuses them). */
		if (name[5] && (name[5] != (min ? '+' : '-') || !isdigit((unsigned char)name[6])))
			return cli_errorf("kill: unknown signal \"%s\"", s) ? -1 : -1;
		if (name[5] && cli_parse_int("signal", name + 6, 0, SIGRTMAX - SIGRTMIN, &off) < 0)
			return -1;
		*sig = min ? SIGRTMIN + off : SIGRTMAX - off;
		return 0;
	}
	return cli_errorf("kill: unknown signal \"%s\"", s) ? -1 : -1;
}

static int run_kill(const struct hk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {0}};
	struct hk_err err = {0};
	bool all = false;
	int sig = SIGTERM, status;

	if (cli_getopt(&cmd_kill, argc, argv, "a", opts, cli_set_flag, &all, &status))
		return status;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_errorf("kill: expected <container-id> [signal]");
	if (argc - optind == 2 && parse_signal(argv[optind + 1], &sig) < 0)
		return 1;
	if (container_kill(g->root, argv[optind], sig, all, &err) < 0)
		return cli_error(&err);
	return 0;
}

const struct hk_command cmd_kill = {
	.name = "kill",
	.run = run_kill,
	.args = "[options] <container-id> [signal]",
	.summary = "send a signal (default SIGTERM) to the container's process",
	.options = "   --all, -a             signal every process of the container\n",
};
