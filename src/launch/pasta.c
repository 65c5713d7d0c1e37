/* --net pasta: the user-mode network rootless podman gives an ordinary
 * user, by pasta (Debian's passt): a tap device in the container's network
 * namespace whose traffic pasta carries out through sockets of its own in
 * the network namespace launch was run in, with the addresses and routes
 * of that one (--config-net), and -p's ports forwarded in (-t, -u).
 *
 * As podman does it: launch makes the network namespace itself, starts
 * pasta on it, and the container joins it by path (/proc/self/fd/N, as for
 * --net container:NAME). The container's own process could not be used:
 * until it runs its program it is not dumpable and its memory belongs to
 * the initial user namespace (husk-launch was executed there), where the
 * user may not open its namespaces nor join them by pidfd. pasta gets the
 * namespace as an fd too (it drops its capabilities before it opens the
 * path). As it holds that namespace, it never sees it die: the cleanup
 * stops it (launch_pasta_stop), by the pid it wrote in the container's
 * directory. */
#include "launch/pasta.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "runtime/sync.h"

#define PID_FILE "pasta.pid"

static bool is_port(const char *s, size_t len)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static bool is_ipv4(const char *s, size_t len)
{
	int dots = 0;

	if (len == 0 || len > 15)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return dots == 3;
}

int launch_pasta_port(const char *spec, char *out, size_t size, bool *udp, struct hk_err *err)
{
	const char *slash = strchr(spec, '/');
	size_t len = slash ? (size_t)(slash - spec) : strlen(spec);
	const char *c2 = NULL, *c1 = memchr(spec, ':', len);

	*udp = slash && strcmp(slash + 1, "udp") == 0;
	if (slash && !*udp && strcmp(slash + 1, "tcp") != 0)
		return hk_fail(err, 0, "-p %s: the protocol is tcp or udp", spec);
	if (c1)
		c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - spec));
	if (!c1)
		return hk_fail(err, 0,
			       "-p %s: with --net pasta give the host's port too (HOST:CTR): pasta "
			       "forwards only ports it is given",
			       spec);
	const char *ip = c2 ? spec : NULL;
	const char *host = c2 ? c1 + 1 : spec;
	const char *ctr = (c2 ? c2 : c1) + 1;
	size_t ip_len = c2 ? (size_t)(c1 - spec) : 0;
	size_t host_len = (size_t)((c2 ? c2 : c1) - host);
	size_t ctr_len = (size_t)(spec + len - ctr);
	if ((ip && !is_ipv4(ip, ip_len)) || !is_port(host, host_len) || !is_port(ctr, ctr_len))
		return hk_fail(err, 0, "-p %s: expected [IPv4:]HOST:CTR[/tcp|udp], ports 1-65535",
			       spec);
	/* pasta's form: [ADDR/]HOST:CTR */
	snprintf(out, size, "%.*s%s%.*s:%.*s", (int)ip_len, ip ? ip : "", ip ? "/" : "",
		 (int)host_len, host, (int)ctr_len, ctr);
	return 0;
}

static char **pasta_argv(char **ports, size_t n, int netns, const char *pidfile, struct hk_err *err)
{
	char **v = xcalloc(24 + 2 * n, sizeof(char *));
	size_t k = 0;
	bool tcp = false, udp_any = false;
	const char *fixed[] = {"pasta", "--config-net", "--quiet", "--no-map-gw",
			       "-T",    "none",         "-U",      "none"};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		v[k++] = xstrdup(fixed[i]);
	for (size_t i = 0; i < n; i++) {
		char spec[64];
		bool udp;
		if (launch_pasta_port(ports[i], spec, sizeof(spec), &udp, err) < 0) {
			for (size_t j = 0; j < k; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
		v[k++] = xstrdup(udp ? "-u" : "-t");
		v[k++] = xstrdup(spec);
		tcp |= !udp;
		udp_any |= udp;
	}
	/* pasta's default, "auto", would forward whatever the container
	 * listens on */
	if (!tcp) {
		v[k++] = xstrdup("-t");
		v[k++] = xstrdup("none");
	}
	if (!udp_any) {
		v[k++] = xstrdup("-u");
		v[k++] = xstrdup("none");
	}
	v[k++] = xstrdup("-P");
	v[k++] = xstrdup(pidfile);
	v[k++] = xstrdup("--netns");
	v[k++] = xasprintf("/proc/self/fd/%d", netns);
	return v;
}

/* pasta goes to the background once it is set up: its first process's
 * status says how that went. */
static int run_pasta(char **argv, int netns, struct hk_err *err)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return hk_fail(err, errno, "fork pasta");
	if (pid == 0) {
		/* the hook's stdout is nobody's: pasta's messages go to stderr */
		dup2(2, 1);
		if (fcntl(netns, F_SETFD, 0) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return hk_fail(err, errno, "wait for pasta");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return hk_fail(err, 0, "--net pasta: pasta not found (Debian's passt package)");
	return hk_fail(err, 0,
		       "--net pasta: pasta failed (status %d; it said why above; it needs "
		       "/dev/net/tun to be usable by you; --net none and --net host need "
		       "nothing)",
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* A new network namespace, open: made by a child, which sends it over
 * (launch, in the user's namespace, could not come back to the host's
 * network namespace, which that namespace does not own). */
static int new_netns(struct hk_err *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hk_fail(err, errno, "socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return hk_fail(err, errno, "fork");
	}
	if (pid == 0) {
		struct hk_err e = {0};
		int fd = unshare(CLONE_NEWNET) < 0 ? -1 : open("/proc/self/ns/net", O_RDONLY);
		if (fd < 0) {
			hk_fail(&e, errno, "make a network namespace");
			sync_send(sv[1], HK_SYNC_ERROR, &e);
		} else {
			sync_send_fd(sv[1], HK_SYNC_MNTFD, fd);
		}
		_exit(0);
	}
	close(sv[1]);
	struct hk_sync_in in = {.fd = -1};
	int r = sync_read(sv[0], &in, err);
	close(sv[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -1;
	if (in.type == HK_SYNC_ERROR || in.fd < 0) {
		if (in.fd >= 0)
			close(in.fd);
		*err = in.payload;
		return err->errnum || err->msg[0] ? -1
						  : hk_fail(err, 0, "make a network namespace");
	}
	return in.fd;
}

int launch_pasta_start(const char *dir, char **ports, size_t n_ports, struct hk_err *err)
{
	int netns = new_netns(err);

	if (netns < 0)
		return hk_err_prefix(err, "--net pasta");
	_cleanup_free_ char *pidfile = xasprintf("%s/" PID_FILE, dir);
	char **argv = pasta_argv(ports, n_ports, netns, pidfile, err);
	int r = argv ? run_pasta(argv, netns, err) : -1;
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
	if (r < 0) {
		close(netns);
		return -1;
	}
	return netns;
}

/* pasta re-executes itself as passt.avx2 where the CPU has AVX2 */
static bool is_pasta(int pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	_cleanup_free_ char *comm = hk_read_file(path, 64, NULL, NULL);

	return comm && (strncmp(comm, "pasta", 5) == 0 || strncmp(comm, "passt", 5) == 0);
}

void launch_pasta_stop(int dirfd)
{
	_cleanup_free_ char *text = hk_read_fileat(dirfd, PID_FILE, 32, NULL, NULL);
	long pid = text ? strtol(text, NULL, 10) : 0;

	if (pid <= 1 || pid > INT32_MAX)
		return;
	_cleanup_close_ int pidfd = hk_pidfd_open((pid_t)pid, 0);
	/* checked after the pidfd is open: the process it names cannot
	 * change from there on */
	if (pidfd < 0 || !is_pasta((int)pid))
		return;
	if (hk_pidfd_send_signal(pidfd, SIGTERM, NULL, 0) < 0) {
		hk_debug("launch: stop pasta %ld: %s", pid, strerror(errno));
		return;
	}
	/* gone before the cleanup is done: its ports free again */
	struct pollfd pf = {.fd = pidfd, .events = POLLIN};
	while (poll(&pf, 1, 2000) < 0 && errno == EINTR)
		;
	unlinkat(dirfd, PID_FILE, 0);
}
