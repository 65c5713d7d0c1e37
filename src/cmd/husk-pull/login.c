/* husk login and logout (in husk-pull), as podman has them: the password
 * from -p, --password-stdin, or asked for on the terminal that stdin is
 * (echo off), the user from -u or asked for. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-pull/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "registry/registry.h"

enum { OPT_AUTHFILE = 1000, OPT_TLS_VERIFY, OPT_CERT_DIR, OPT_STDIN, OPT_ALL };

static const struct option longopts[] = {
	{"authfile", required_argument, NULL, OPT_AUTHFILE},
	{"tls-verify", optional_argument, NULL, OPT_TLS_VERIFY},
	{"cert-dir", required_argument, NULL, OPT_CERT_DIR},
	{"username", required_argument, NULL, 'u'},
	{"password", required_argument, NULL, 'p'},
	{"password-stdin", no_argument, NULL, OPT_STDIN},
	{"all", no_argument, NULL, OPT_ALL},
	{0},
};

struct cli_login {
	struct reg_opts o;
	const char *user, *pass;
	bool pass_stdin, all;
};

static int on_opt(int opt, const char *arg, void *data)
{
	struct cli_login *c = data;

	switch (opt) {
	case OPT_AUTHFILE:
		c->o.authfile = arg;
		return 0;
	case OPT_TLS_VERIFY:
		if (arg && strcmp(arg, "true") != 0 && strcmp(arg, "false") != 0) {
			cli_errorf("--tls-verify=%s: expected true or false", arg);
			return -1;
		}
		c->o.tls_verify = !arg || strcmp(arg, "true") == 0;
		return 0;
	case OPT_CERT_DIR:
		c->o.cert_dir = arg;
		return 0;
	case 'u':
		c->user = arg;
		return 0;
	case 'p':
		c->pass = arg;
		return 0;
	case OPT_STDIN:
		c->pass_stdin = true;
		return 0;
	case OPT_ALL:
		c->all = true;
		return 0;
	default:
		return -1;
	}
}

/* The password on stdin, without its last newline. */
static char *read_password(struct hk_err *err)
{
	size_t len;
	char *s = hk_read_fd(0, "stdin", 4096, &len, err);

	if (s && len && s[len - 1] == '\n')
		s[--len] = '\0';
	if (s && len && s[len - 1] == '\r')
		s[--len] = '\0';
	return s;
}

#define LINE_MAX_LEN 4096

/* A line of stdin, without its line end: read a byte at a time, so that
 * nothing after it is taken from a pipe. NULL (err) at EOF before a
 * newline with nothing read, or on a signal (*sig set). */
static char *read_line(const char *what, volatile sig_atomic_t *sig, struct hk_err *err)
{
	char *buf = xzalloc(LINE_MAX_LEN + 1);
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = sig && *sig ? (errno = EINTR, -1) : read(0, &c, 1);
		if (r < 0 && errno == EINTR && !(sig && *sig))
			continue;
		if (r < 0 || (r == 0 && n == 0) || n == LINE_MAX_LEN) {
			int e = r < 0 ? errno : 0;
			explicit_bzero(buf, n);
			free(buf);
			hk_fail(err, e, "login: reading the %s%s", what,
				r == 0              ? ": end of input"
				: n == LINE_MAX_LEN ? ": too long"
						    : "");
			return NULL;
		}
		if (r == 0 || c == '\n')
			break;
		buf[n++] = c;
	}
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return buf;
}

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
}

static const int restore_on[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_RESTORE (sizeof(restore_on) / sizeof(restore_on[0]))

/* The password from the terminal on stdin, its echo off until it is read:
 * a signal that ends husk on the way (Ctrl-C) finds the terminal as it
 * was, then ends it as it would have. */
static char *ask_password(struct hk_err *err)
{
	struct termios old, quiet;
	struct sigaction sa = {.sa_handler = on_signal}, saved[N_RESTORE];

	if (!isatty(0) || tcgetattr(0, &old) < 0) {
		hk_fail(err, 0,
			"login: no password: -p PASSWORD, --password-stdin, or a terminal on stdin "
			"to ask on");
		return NULL;
	}
	caught = 0;
	for (size_t i = 0; i < N_RESTORE; i++)
		sigaction(restore_on[i], &sa, &saved[i]); /* no SA_RESTART: read stops */
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	char *pass = NULL;
	/* the echo off before the prompt shows: what is typed when it does is
	 * never shown */
	if (tcsetattr(0, TCSANOW, &quiet) < 0) {
		hk_fail(err, errno, "login: turning the terminal's echo off");
	} else {
		fputs("Password: ", stdout); /* podman's prompt, on stdout */
		fflush(stdout);
		pass = read_line("password", &caught, err);
	}
	tcsetattr(0, TCSANOW, &old);
	for (size_t i = 0; i < N_RESTORE; i++)
		sigaction(restore_on[i], &saved[i], NULL);
	fputs("\n", stdout);
	fflush(stdout);
	if (caught) {
		raise(caught); /* as it would have ended husk */
		hk_fail(err, EINTR, "login: interrupted");
	}
	return pass;
}

/* podman's way: -u, or a line of stdin after "Username: "; -p,
 * --password-stdin, or asked for on the terminal. */
static int credentials(struct cli_login *c, char **user, char **pass, struct hk_err *err)
{
	if (c->pass_stdin && !c->user)
		return hk_fail(err, 0, "login: --password-stdin needs -u USER (as podman)");
	if (c->pass_stdin)
		*pass = read_password(err);
	if (c->pass_stdin && !*pass)
		return -1;
	if (!c->user) {
		fputs("Username: ", stdout);
		fflush(stdout);
		if (!(*user = read_line("username", NULL, err)))
			return -1;
		if (!**user)
			return hk_fail(err, 0, "login: no username");
	}
	if (!c->pass && !c->pass_stdin && !(*pass = ask_password(err)))
		return -1;
	return 0;
}

static void forget(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

static int run_login(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_login c = {.o = {.tls_verify = true}};
	struct hk_err err = {0};
	int status = 125;
	char *user = NULL, *pass = NULL;

	(void)g;
	if (cli_getopt(&cmd_login, argc, argv, "u:p:", longopts, on_opt, &c, &status))
		return status ? 125 : 0;
	if (argc - optind != 1) {
		cli_errorf("login: expected one REGISTRY");
		return 125;
	}
	int r = credentials(&c, &user, &pass, &err);
	if (r == 0)
		r = reg_login(argv[optind], user ? user : c.user, pass ? pass : c.pass, &c.o, &err);
	forget(user);
	forget(pass);
	if (r < 0) {
		cli_error(&err);
		return 125;
	}
	printf("Login Succeeded!\n");
	return 0;
}

static int run_logout(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_login c = {.o = {.tls_verify = true}};
	struct hk_err err = {0};
	int status = 125;

	(void)g;
	if (cli_getopt(&cmd_logout, argc, argv, "", longopts, on_opt, &c, &status))
		return status ? 125 : 0;
	if (argc - optind != (c.all ? 0 : 1)) {
		cli_errorf("logout: expected one REGISTRY, or --all");
		return 125;
	}
	if (reg_logout(c.all ? NULL : argv[optind], &c.o, &err) < 0) {
		cli_error(&err);
		return 125;
	}
	if (c.all)
		printf("Removed login credentials for all registries\n");
	else
		printf("Removed login credentials for %s\n", cli_esc(argv[optind]));
	return 0;
}

const struct hk_command cmd_login = {
	.name = "login",
	.no_state = true,
	.run = run_login,
	.args = "[options] REGISTRY",
	.summary = LOGIN_SUMMARY,
	.options = "   -u, --username USER   the user (else asked for)\n"
		   "   -p, --password PASS   the password (or --password-stdin; else asked for on\n"
		   "                         the terminal, echo off)\n"
		   "   --authfile FILE       where to keep them (default: $REGISTRY_AUTH_FILE, "
		   "else\n"
		   "                         $XDG_RUNTIME_DIR/containers/auth.json, else\n"
		   "                         /run/containers/UID/auth.json)\n"
		   "   --tls-verify[=BOOL], --cert-dir DIR  as husk pull's\n",
};

const struct hk_command cmd_logout = {
	.name = "logout",
	.no_state = true,
	.run = run_logout,
	.args = "[options] REGISTRY | --all",
	.summary = LOGOUT_SUMMARY,
	.options = "   --authfile FILE       as husk login's\n"
		   "   --all                 every registry's credentials\n",
};
