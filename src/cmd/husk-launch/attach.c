/* husk attach NAME (in husk-launch): the terminal of a container started
 * with `husk launch -dt`, as `podman attach` gives it: its output from now
 * on, the keys typed (the terminal raw), its size; Ctrl-P Ctrl-Q (or
 * --detach-keys) detaches and leaves it running. The container's terminal
 * is kept by launch's console holder (launch/console.c), at
 * DATA/NAME/attach.sock. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-launch/commands.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "launch/console.h"
#include "launch/launch.h"
#include "launch/user.h"
#include "linux/terminal.h"

#define MAX_KEYS 8

enum { OPT_DATA = 1000, OPT_KEYS, OPT_NO_STDIN };

static const struct option longopts[] = {
	{"data-dir", required_argument, NULL, OPT_DATA},
	{"detach-keys", required_argument, NULL, OPT_KEYS},
	{"no-stdin", no_argument, NULL, OPT_NO_STDIN},
	{0},
};

struct attach {
	const char *data_dir;
	const char *keys_text;
	bool no_stdin;
	unsigned char keys[MAX_KEYS];
	size_t n_keys;
	size_t matched; /* how many of keys the last bytes typed were */
	int sock;
};

static int on_opt(int opt, const char *arg, void *data)
{
	struct attach *a = data;

	if (opt == OPT_DATA)
		a->data_dir = arg;
	else if (opt == OPT_KEYS)
		a->keys_text = arg;
	else if (opt == OPT_NO_STDIN)
		a->no_stdin = true;
	else
		return -1;
	return 0;
}

/* docker's and podman's form: "ctrl-p,ctrl-q", "a,ctrl-@"; "" for none. */
static int parse_keys(struct attach *a)
{
	_cleanup_free_ char *copy = xstrdup(a->keys_text ? a->keys_text : "ctrl-p,ctrl-q");
	char *save = NULL;

	a->n_keys = 0;
	for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		unsigned char c;
		if (strlen(k) == 1)
			c = (unsigned char)k[0];
		else if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6 &&
			 ((k[5] >= 'a' && k[5] <= 'z') || strchr("@[\\]^_", k[5])))
			c = (unsigned char)((k[5] >= 'a' && k[5] <= 'z' ? k[5] - 'a' + 'A' : k[5]) &
					    0x1f);
		else
			return cli_errorf("attach: --detach-keys %s: \"%s\" is neither one "
					  "character nor ctrl-<a-z@[\\]^_>",
					  a->keys_text, k);
		if (a->n_keys == MAX_KEYS)
			return cli_errorf("attach: --detach-keys %s: %d keys at most", a->keys_text,
					  MAX_KEYS);
		a->keys[a->n_keys++] = c;
	}
	return 0;
}

static int connect_to(const char *data_dir, const char *name, struct hk_err *err)
{
	if (!*name || strchr(name, '/') || name[0] == '.')
		return hk_fail(err, EINVAL, "attach: %s: not a container name", name);
	_cleanup_free_ char *dir = xasprintf("%s/%s", data_dir, name);
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return hk_fail(err, errno, "attach: %s: no such container of husk launch (%s)",
			       name, dir);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dfd,
		 LAUNCH_ATTACH_SOCK);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return hk_fail(err, errno, "attach: socket");
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(s);
		if (e == ENOENT || e == ECONNREFUSED)
			return hk_fail(err, e,
				       "attach: %s has no terminal to attach to (it was not "
				       "launched with -dt, or its program has ended)",
				       name);
		return hk_fail(err, e, "attach: connect to %s/%s", dir, LAUNCH_ATTACH_SOCK);
	}
	/* the holder's answer first (launch/console.c) */
	struct timeval tv = {.tv_sec = 10};
	char answer = 0;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssize_t n = recv(s, &answer, 1, 0);
	tv.tv_sec = 0;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (n == 1 && answer == 'k')
		return s;
	close(s);
	if (n == 1 && answer == 'f')
		return hk_fail(err, EBUSY, "attach: %s: %d clients are attached already", name,
			       LAUNCH_ATTACH_MAX);
	return hk_fail(err, n < 0 ? errno : EPROTO,
		       "attach: %s: its terminal's holder did not answer (its program may have "
		       "ended)",
		       name);
}

static void send_size(int sock)
{
	struct winsize ws;
	unsigned char msg[5] = {'w'};

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
		return;
	msg[1] = (unsigned char)(ws.ws_row >> 8);
	msg[2] = (unsigned char)ws.ws_row;
	msg[3] = (unsigned char)(ws.ws_col >> 8);
	msg[4] = (unsigned char)ws.ws_col;
	send(sock, msg, sizeof(msg), MSG_NOSIGNAL);
}

static int send_data(int sock, const unsigned char *buf, size_t n)
{
	unsigned char msg[4097];

	while (n > 0) {
		size_t k = n < sizeof(msg) - 1 ? n : sizeof(msg) - 1;
		msg[0] = 'd';
		memcpy(msg + 1, buf, k);
		if (send(sock, msg, k + 1, MSG_NOSIGNAL) < 0)
			return -1;
		buf += k;
		n -= k;
	}
	return 0;
}

/* Typed bytes to the container, the detach keys held back while they
 * match; 1 when they all were typed. */
static int typed(struct attach *a, const unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a->n_keys && buf[i] == a->keys[a->matched]) {
			if (++a->matched == a->n_keys)
				return 1;
			continue;
		}
		if (a->matched && send_data(a->sock, a->keys, a->matched) < 0)
			return -1;
		a->matched = 0;
		if (a->n_keys && buf[i] == a->keys[0]) {
			a->matched = 1;
			continue;
		}
		if (send_data(a->sock, buf + i, 1) < 0)
			return -1;
	}
	return 0;
}

static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

/* 0 when the container's terminal closed, 1 when detached. */
static int relay(struct attach *a)
{
	bool in = !a->no_stdin;
	static unsigned char buf[1 << 15];

	for (;;) {
		struct pollfd p[2] = {{.fd = a->sock, .events = POLLIN},
				      {.fd = in ? STDIN_FILENO : -1, .events = POLLIN}};
		if (resized) {
			resized = 0;
			send_size(a->sock);
		}
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[0].revents) {
			ssize_t n = recv(a->sock, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0;
			if (hk_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				return -1;
		}
		if (p[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				in = false; /* no more input: output until the end */
				continue;
			}
			int r = typed(a, buf, (size_t)n);
			if (r != 0)
				return r;
		}
	}
}

static int run_attach(const struct hk_globals *g, int argc, char **argv)
{
	struct attach a = {0};
	struct hk_err err = {0};
	int status = 1;

	(void)g;
	if (cli_getopt(&cmd_attach, argc, argv, "", longopts, on_opt, &a, &status))
		return status;
	if (argc - optind != 1)
		return cli_errorf("attach: expected NAME");
	if (parse_keys(&a))
		return 1;
	_cleanup_free_ char *data = NULL;
	if (!a.data_dir && !(a.data_dir = data = launch_default_dir(false, &err)))
		return cli_error(&err);
	a.sock = connect_to(a.data_dir, argv[optind], &err);
	if (a.sock < 0)
		return cli_error(&err);
	struct termios saved;
	bool raw = !a.no_stdin && isatty(STDIN_FILENO) &&
		   terminal_raw(STDIN_FILENO, &saved, &err) == 0;
	if (raw) {
		struct sigaction sa = {.sa_handler = on_winch};
		sigaction(SIGWINCH, &sa, NULL);
		send_size(a.sock);
	}
	int r = relay(&a);
	if (raw)
		terminal_restore(STDIN_FILENO, &saved);
	close(a.sock);
	if (r < 0)
		return cli_errorf("attach: %s: %s", argv[optind], strerror(errno));
	return 0;
}

const struct hk_command cmd_attach = {
	.name = "attach",
	.no_state = true,
	.run = run_attach,
	.args = "[options] NAME",
	.summary = ATTACH_SUMMARY,
	.options = "   --data-dir DIR        where launch keeps its containers (default "
		   "$HUSK_DATA, " LAUNCH_DATA_DIR ")\n"
		   "   --detach-keys KEYS    the keys that detach (default ctrl-p,ctrl-q; \"\" "
		   "for none)\n"
		   "   --no-stdin            show the output only, send no input\n",
};
