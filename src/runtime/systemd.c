#include "runtime/systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/spec.h"

#define NOTIFY_DIR "/run/notify"
#define NOTIFY_SOCK NOTIFY_DIR "/notify.sock"

int sd_listen_fds(void)
{
	const char *fds = getenv("LISTEN_FDS");
	const char *pid = getenv("LISTEN_PID");
	char *end;

	if (!fds || !*fds)
		return 0;
	/* sd_listen_fds(3): the fds are ours only when LISTEN_PID says so.
	 * Without it, fds 3.. are whatever the caller had open, which must
	 * not go to the container (a host directory there is a way out). */
	if (!pid || !*pid || strtol(pid, &end, 10) != (long)getpid() || *end)
		return 0;
	long n = strtol(fds, &end, 10);
	return *end || n <= 0 || n > 1 << 16 ? 0 : (int)n;
}

void sd_listen_env(struct hk_derived *d, int n)
{
	spec_derived_add_env(d, xasprintf("LISTEN_FDS=%d", n));
	spec_derived_add_env(d, xasprintf("LISTEN_PID=%d", (int)getpid()));
}

int sd_notify_prepare(int state_fd, const char *state_path, struct hk_derived *d,
		      struct hk_err *err)
{
	static const char *const opts[] = {"bind", "nosuid", "noexec", "nodev", "ro"};

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	if (mkdirat(state_fd, "notify", 0755) < 0)
		return hk_fail(err, errno, "NOTIFY_SOCKET: create the notify dir");
	struct hk_mount *m = spec_derived_add_mount(d);
	m->destination = xstrdup(NOTIFY_DIR);
	m->type = xstrdup("bind");
	m->source = xasprintf("%s/notify", state_path);
	m->options = xcalloc(6, sizeof(char *));
	for (size_t i = 0; i < 5; i++)
		m->options[i] = xstrdup(opts[i]);
	m->n_options = 5;
	if (spec_mount_opts_parse(m->options, m->n_options, &m->opts, err) < 0)
		return -1;
	spec_derived_add_env(d, xstrdup("NOTIFY_SOCKET=" NOTIFY_SOCK));
	return 0;
}

static int fill_addr(struct sockaddr_un *a, socklen_t *len, const char *path)
{
	size_t n = strlen(path);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(a->sun_path))
		return -1;
	memcpy(a->sun_path, path, n);
	if (path[0] == '@') /* an abstract socket, as systemd writes it */
		a->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
	return 0;
}

int sd_notify_listen(int state_fd, struct hk_err *err)
{
	struct sockaddr_un a;
	socklen_t len;
	char path[4200];

	if (!getenv("NOTIFY_SOCKET") || faccessat(state_fd, "notify", F_OK, 0) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/notify/notify.sock", state_fd);
	unlink(path);
	if (fill_addr(&a, &len, path) < 0)
		return hk_fail(err, ENAMETOOLONG, "NOTIFY_SOCKET: %s", path);
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return hk_fail(err, errno, "NOTIFY_SOCKET: socket");
	if (bind(sock, (struct sockaddr *)&a, len) < 0 || chmod(path, 0777) < 0) {
		int e = errno;
		close(sock);
		return hk_fail(err, e, "NOTIFY_SOCKET: listen in the state dir");
	}
	return sock;
}

static int send_host(const char *msg, struct hk_err *err)
{
	const char *host = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a;
	socklen_t len;

	if (!host || fill_addr(&a, &len, host) < 0)
		return hk_fail(err, EINVAL, "NOTIFY_SOCKET: bad address \"%s\"", host ? host : "");
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || sendto(s, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&a, len) < 0)
		return hk_fail(err, errno, "NOTIFY_SOCKET: send to %s", host);
	return 0;
}

int sd_notify_forward(int sock, int pidfd, pid_t pid, struct hk_err *err)
{
	struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
	char buf[4096], msg[64];

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return hk_fail(err, errno, "NOTIFY_SOCKET: poll");
		}
		if (p[0].revents & POLLIN) {
			ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
			if (n <= 0)
				continue;
			buf[n] = '\0';
			/* Only readiness is passed on, with the process as MAINPID. */
			if (strstr(buf, "READY=1")) {
				snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d\n", (int)pid);
				return send_host(msg, err);
			}
			continue;
		}
		if (p[1].revents & POLLIN)
			return hk_fail(err, 0,
				       "NOTIFY_SOCKET: the container exited before READY=1");
	}
}
