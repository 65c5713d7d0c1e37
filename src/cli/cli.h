/* The command line: runc's global flags and commands. Only cli/ prints. */
#ifndef HUSK_CLI_CLI_H
#define HUSK_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>

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
	 * binary that cannot be written (linux/selfexe.h, CVE-2019-5736). */
	bool protect_exe;
};

extern const struct hk_command cmd_spec, cmd_create, cmd_start, cmd_run, cmd_state, cmd_kill,
	cmd_delete, cmd_list, cmd_features, cmd_exec, cmd_ps, cmd_pause, cmd_resume, cmd_update,
	cmd_events, cmd_inspect;
/* husk net: in husk, execs husk-net (cli/net-exec.c); in husk-net, the
 * networking commands themselves (cli/net.c). */
extern const struct hk_command cmd_net;
/* husk launch: in husk and husk-net, execs husk-launch (cli/launch-exec.c);
 * in husk-launch, the launch face itself (cli/launch.c). */
extern const struct hk_command cmd_launch;
#define LAUNCH_BINARY "husk-launch"
#define LAUNCH_ARGS "[options] SOURCE [CMD ARGS...]"
#define LAUNCH_SUMMARY "run a program from a root filesystem or an OCI image, with safe defaults"
/* husk pull: in husk-pull, the registry client itself (cli/pull.c, with
 * libcurl); elsewhere an exec of husk-pull (cli/pull-exec.c). */
extern const struct hk_command cmd_pull, cmd_images, cmd_rmi, cmd_login, cmd_logout;
#define PULL_BINARY "husk-pull"
#define PULL_ARGS "[options] IMAGE"
#define PULL_SUMMARY "pull an image from a registry into the image cache, run by " PULL_BINARY
#define IMAGES_SUMMARY "list the images pulled into the image cache, run by " PULL_BINARY
#define LOGIN_SUMMARY "check and keep credentials for a registry, run by " PULL_BINARY
#define LOGOUT_SUMMARY "forget the credentials for a registry, run by " PULL_BINARY
#define RMI_SUMMARY "remove pulled images from the image cache, run by " PULL_BINARY

/* husk launch's registry options (cli/launch-pull.c, in husk-launch). */
struct cli_pull_opts {
	const char *policy; /* --pull always|missing|never (default missing) */
	const char *authfile, *creds, *tls_verify, *cert_dir;
};
/* When source names an image (not a path that exists; "docker://" says
 * so), pull it as policy says, running husk-pull, and set *image to the
 * store's entry to launch (malloc'd); else *image NULL. -1 (printed) on
 * failure. */
int cli_launch_image(const struct hk_globals *g, const struct cli_pull_opts *p, const char *source,
		     const char *cache_dir, char **image);

/* The path of a companion binary next to husk's own, malloc'd (NULL when
 * /proc/self/exe cannot be read); and exec it with the global flags and
 * argv (returns only on failure, with the exit status). */
char *cli_companion_path(const char *binary);
int cli_exec_companion(const char *binary, const struct hk_globals *g, int argc, char **argv);

/* s made safe to print on a terminal (common/esc.h): s itself when nothing
 * needs escaping, else a copy kept until cli_esc_release (main calls it
 * once the command is done). Every string of the container's, the bundle's
 * or the state's choosing goes through it before it is printed. */
const char *cli_esc(const char *s);
void cli_esc_release(void);
/* j as JSON text on stdout (hk_json_dump's style) and a newline, with DEL,
 * C1 controls and the like \u-escaped and bytes that are not UTF-8 as
 * U+FFFD: valid JSON that cannot steer a terminal. -1 when stdout failed. */
int cli_print_json(struct json_object *j, int style);

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
