/* husk login and logout (in husk-pull), as podman has them, with the
 * password from -p or --password-stdin (no prompt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-pull/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
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

static int run_login(const struct hk_globals *g, int argc, char **argv)
{
	struct cli_login c = {.o = {.tls_verify = true}};
	struct hk_err err = {0};
	int status = 125;
	_cleanup_free_ char *stdin_pass = NULL;

	(void)g;
	if (cli_getopt(&cmd_login, argc, argv, "u:p:", longopts, on_opt, &c, &status))
		return status ? 125 : 0;
	if (argc - optind != 1) {
		cli_errorf("login: expected one REGISTRY");
		return 125;
	}
	if (c.pass_stdin && !(stdin_pass = read_password(&err))) {
		cli_error(&err);
		return 125;
	}
	const char *pass = stdin_pass ? stdin_pass : c.pass;
	if (!c.user || !pass) {
		cli_errorf("login: -u USER and -p PASSWORD or --password-stdin are needed "
			   "(husk does not prompt)");
		return 125;
	}
	if (reg_login(argv[optind], c.user, pass, &c.o, &err) < 0) {
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
	.options = "   -u, --username USER   the user\n"
		   "   -p, --password PASS   the password (or --password-stdin)\n"
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
