/* What every command of every program uses: its errors (one line, to
 * stderr and the --log file), its usage, and its flags (getopt_long with
 * -h/--help and husk's messages). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/err.h"
#include "common/log.h"

int cli_error(const struct hk_err *err)
{
	hk_log(HK_LOG_ERROR, "%s", err->msg);
	return 1;
}

int cli_errorf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hk_log(HK_LOG_ERROR, "%s", msg);
	return 1;
}

void cli_usage(const struct hk_command *cmd, bool to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;
	fprintf(f, "Usage: husk %s%s%s\n\n%s\n", cmd->name, cmd->args[0] ? " " : "", cmd->args,
		cmd->summary);
	if (cmd->options && cmd->options[0])
		fprintf(f, "\nOptions:\n%s", cmd->options);
	fprintf(f, "   --help, -h            show this help\n");
}

int cli_getopt(const struct hk_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, int (*on_opt)(int opt, const char *arg, void *data),
	       void *data, int *exit_status)
{
	char shorts[64];
	struct option longs[48];
	size_t n = 0;
	int opt;

	snprintf(shorts, sizeof(shorts), "+h%s", shortopts);
	for (; longopts && longopts[n].name && n < 46; n++)
		longs[n] = longopts[n];
	longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longs[n] = (struct option){0};
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (opt == 'h') {
			cli_usage(cmd, false);
			*exit_status = 0;
			return 1;
		}
		if (opt == '?' || opt == ':') {
			cli_errorf("%s: unknown or incomplete option \"%s\"", cmd->name,
				   argv[optind - 1]);
			*exit_status = 1;
			return 1;
		}
		/* failure is any non-zero: cli_errorf() returns 1 */
		if (on_opt(opt, optarg, data) != 0) {
			*exit_status = 1;
			return 1;
		}
	}
	return 0;
}

int cli_no_opts(int opt, const char *arg, void *data)
{
	(void)opt;
	(void)arg;
	(void)data;
	return -1;
}

int cli_set_flag(int opt, const char *arg, void *data)
{
	(void)opt;
	(void)arg;
	*(bool *)data = true;
	return 0;
}

const char *cli_one_id(const struct hk_command *cmd, int argc, char **argv, int *exit_status)
{
	if (argc - optind != 1) {
		cli_errorf("%s: expected exactly one container id, got %d argument%s", cmd->name,
			   argc - optind, argc - optind == 1 ? "" : "s");
		*exit_status = 1;
		return NULL;
	}
	return argv[optind];
}

int cli_parse_int(const char *flag, const char *s, int min, int max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return cli_errorf("%s: \"%s\" is not a number in [%d, %d]", flag, s, min, max) ? -1
											       : -1;
	*out = (int)v;
	return 0;
}
