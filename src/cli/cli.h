/* The command line every program of husk shares (the folders of src/cmd: husk,
 * husk-net, husk-launch): runc's global flags, then a command from the
 * program's own table. Only cli/ and cmd/ print. */
#ifndef HUSK_CLI_CLI_H
#define HUSK_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/version.h"

struct hk_err;
struct json_object;

struct hk_globals {
	const char *root;
	const char *log;
	const char *log_format;
	bool debug;
	bool systemd_cgroup;
};

struct hk_command {
	const char *name;
	int (*run)(const struct hk_globals *g, int argc, char **argv);
	const char *args;    /* usage after the command name */
	const char *summary; /* one line */
	const char *options; /* option help, one per line */
	/* Puts processes into a container: runs only from a view of husk's
	 * binary that cannot be written (linux/selfexe.h, CVE-2019-5736); with
	 * a companion, that is run from such a view. */
	bool protect_exe;
	/* Runs without a state directory (husk spec). */
	bool no_state;
	/* What it prints is what it is for (state, list): output that cannot
	 * be written fails it. Elsewhere (launch -d's name) that is a warning:
	 * what the command did is done. */
	bool prints;
	/* Not run here: the companion binary of that name next to this one
	 * is exec'd with the global flags and the command's argv (run is
	 * NULL). husk's table of them is cmd/husk/companions.c. */
	const char *companion;
};

/* A program: its name (for usage and errors), one line about it, and its
 * commands in the order its usage lists them. */
struct cli_program {
	const char *name;
	const char *about;
	const struct hk_command *const *commands;
	size_t n_commands;
};

/* The program's main: global flags, then its command; the exit status. */
int cli_main(const struct cli_program *p, int argc, char **argv);

/* The path of a companion binary next to husk's own, malloc'd (NULL when
 * /proc/self/exe cannot be read); and exec it with the global flags and
 * argv (returns only on failure, with the exit status); with protect,
 * from a read-only view of it where one can be made. */
char *cli_companion_path(const char *binary);
int cli_exec_companion(const char *binary, bool protect, const struct hk_globals *g, int argc,
		       char **argv);

/* s made safe to print on a terminal (common/esc.h): s itself when nothing
 * needs escaping, else a copy kept until cli_esc_release (main calls it
 * once the command is done). Every string of the container's, the bundle's
 * or the state's choosing goes through it before it is printed. */
const char *cli_esc(const char *s);
void cli_esc_release(void);
/* n bytes in decimal units, docker's way: "512 B", "1.23 MB" (sep " "),
 * or "1.23MB" (sep ""). */
void cli_human_size(long long n, const char *sep, char *buf, size_t size);
/* j as JSON text on stdout (hk_json_dump's style) and a newline, with DEL,
 * C1 controls and the like \u-escaped and bytes that are not UTF-8 as
 * U+FFFD: valid JSON that cannot steer a terminal. -1 when stdout failed. */
int cli_print_json(struct json_object *j, int style);
/* s (NULL as "") as a JSON string, quoted, on f: escaped as cli_print_json
 * would leave it (common/esc.h, HK_ESC_JSON). For output streamed without
 * building a tree: list --format json of a thousand containers. */
void cli_json_str(FILE *f, const char *s);
/* stdout made to wait when fd 1 is non-blocking and its pipe is full,
 * as a blocking one would (an event-loop parent's pipe): before, stdio
 * gave up on EAGAIN and the output was lost. First thing in cli_main. */
void cli_stdout_waits(void);

/* Print "husk: <msg>" (and to the --log file) and return exit status 1. */
int cli_error(const struct hk_err *err);
int cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse a command's flags with getopt_long. Handles -h/--help (prints the
 * command's usage, returns 1 with *exit_status 0) and unknown flags
 * (returns 1 with *exit_status 1). Calls on_opt for the rest. */
int cli_getopt(const struct hk_command *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts, int (*on_opt)(int opt, const char *arg, void *data),
	       void *data, int *exit_status);
/* on_opt for commands without options of their own, and for commands with
 * one boolean flag (data points at the bool). */
int cli_no_opts(int opt, const char *arg, void *data);
int cli_set_flag(int opt, const char *arg, void *data);
/* Exactly one positional argument (the container id) at argv[optind]. */
const char *cli_one_id(const struct hk_command *cmd, int argc, char **argv, int *exit_status);
void cli_usage(const struct hk_command *cmd, bool to_stderr);
int cli_parse_int(const char *flag, const char *s, int min, int max, int *out);

#endif
