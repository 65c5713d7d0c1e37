/* husk ps: the container's processes, through the system's ps (as runc). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cmd/husk/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/esc.h"
#include "common/xalloc.h"
#include "runtime/container.h"

enum { OPT_FORMAT = 1000 };

static int on_opt(int opt, const char *arg, void *data)
{
	bool *json = data;

	if (opt != 'f' && opt != OPT_FORMAT)
		return -1;
	if (strcmp(arg, "json") == 0)
		*json = true;
	else if (strcmp(arg, "table") != 0)
		return cli_errorf("ps: --format must be table or json, not \"%s\"", arg) ? -1 : -1;
	return 0;
}

static bool listed(pid_t pid, const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Index of the PID column in ps's header, -1 when there is none. */
static int pid_column(char *header)
{
	char *save = NULL;
	int col = 0;

	for (char *w = strtok_r(header, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save), col++)
		if (strcmp(w, "PID") == 0)
			return col;
	return -1;
}

static pid_t field_pid(const char *line, int col)
{
	_cleanup_free_ char *copy = xstrdup(line);
	char *save = NULL, *w = strtok_r(copy, " \t\n", &save);

	for (int i = 0; w && i < col; i++)
		w = strtok_r(NULL, " \t\n", &save);
	return w ? (pid_t)atoi(w) : -1;
}

/* A line of ps's, escaped: procps shows a control character in a command
 * line as '?', but what ps prints is not husk's to trust (runc prints it
 * as it comes). */
static void put_line(FILE *out, char *line)
{
	size_t len = strlen(line);
	bool nl = len > 0 && line[len - 1] == '\n';

	if (nl)
		line[len - 1] = '\0';
	_cleanup_free_ char *safe = hk_esc(line);
	fprintf(out, "%s%s", safe, nl ? "\n" : "");
}

/* Run ps with the user's arguments (default -ef) and keep the header and
 * the lines of the container's pids. */
static int filter_ps(char **args, int nargs, const pid_t *pids, size_t n)
{
	/* "ps", the args or "-ef", and the NULL. */
	char **argv = xcalloc((size_t)nargs + 3, sizeof(char *));
	char cmd[4096] = "ps";
	char *line = NULL;
	size_t cap = 0;
	int col = -1;

	argv[0] = (char *)(uintptr_t) "ps";
	for (int i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	if (nargs == 0)
		argv[1] = (char *)(uintptr_t) "-ef";
	for (int i = 1; argv[i]; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s", argv[i]);
	int fds[2];
	if (pipe(fds) < 0)
		return cli_errorf("ps: pipe: %s", strerror(errno));
	pid_t child = fork();
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp("ps", argv);
		_exit(127);
	}
	free(argv);
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	/* Kept until ps has shown a PID column and succeeded: nothing of the
	 * host's processes may slip out otherwise. */
	_cleanup_free_ char *kept = NULL;
	size_t kept_len = 0;
	FILE *out = open_memstream(&kept, &kept_len);
	for (bool first = true; f && out && getline(&line, &cap, f) > 0; first = false) {
		if (first) {
			_cleanup_free_ char *h = xstrdup(line);
			col = pid_column(h);
			put_line(out, line);
		} else if (col >= 0 && listed(field_pid(line, col), pids, n)) {
			put_line(out, line);
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (out)
		fclose(out);
	int status = 0;
	while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (child < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cli_errorf("ps: `%s` failed", cmd);
	if (col < 0)
		return cli_errorf("ps: `%s` printed no PID column", cmd);
	fwrite(kept, 1, kept_len, stdout);
	return 0;
}

static int run_ps(const struct hk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, OPT_FORMAT}, {0}};
	struct hk_err err = {0};
	_cleanup_free_ pid_t *pids = NULL;
	bool json = false;
	size_t n = 0;
	int status;

	if (cli_getopt(&cmd_ps, argc, argv, "f:", opts, on_opt, &json, &status))
		return status;
	if (optind >= argc)
		return cli_errorf("ps: expected <container-id> [ps options]");
	if (container_pids(g->root, argv[optind], &pids, &n, &err) < 0)
		return cli_error(&err);
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		return 0;
	}
	fflush(stdout);
	return filter_ps(argv + optind + 1, argc - optind - 1, pids, n);
}

const struct hk_command cmd_ps = {
	.prints = true,
	.name = "ps",
	.run = run_ps,
	.args = "[options] <container-id> [ps options]",
	.summary = "show the container's processes (ps, default -ef)",
	.options = "   --format, -f FORMAT   table (default) or json (host pids)\n",
};
