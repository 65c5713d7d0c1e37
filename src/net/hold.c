#include "net/hold.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/procstat.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "netinfo/ipam.h"
#include "netinfo/lease.h"
#include "net/owner.h"

/* How long the hook waits for the holder to take over the ports, and for
 * it to be gone after SIGKILL. */
#define HOLDER_TIMEOUT_MS 5000

void net_bound_close(struct net_bound *b)
{
	for (size_t i = 0; i < b->n; i++)
		hk_closep(&b->fds[i]);
	free(b->fds);
	*b = (struct net_bound){0};
}

/* A UDP socket that is only there to hold its port: a datagram reaching it
 * (not DNATed: the nft table flushed) is dropped, not queued. */
static int drop_everything(int fd)
{
	struct sock_filter code[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog prog = {.len = 1, .filter = code};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

static int refused(const struct net_port *p, const char *spec, int e, struct hk_err *err)
{
	char ip[NET_ADDR_STRLEN], by[192];
	struct net_owner o;

	net_addr_fmt(p->host_ip, ip);
	if (e == EADDRNOTAVAIL)
		return hk_fail(err, 0, "publish %s: %s is not an address of this host", spec, ip);
	if (e != EADDRINUSE)
		return hk_fail(err, e, "publish %s: bind %s:%u/%s", spec, ip, p->host_port,
			       net_proto_name(p->proto));
	net_owner_find(p, &o);
	net_owner_fmt(&o, by, sizeof(by));
	if (by[0])
		return hk_fail(err, 0, "publish %s: host port %u/%s is in use %s", spec,
			       p->host_port, net_proto_name(p->proto), by);
	return hk_fail(err, e, "publish %s: host port %u/%s is in use on %s", spec, p->host_port,
		       net_proto_name(p->proto), ip);
}

/* The host port the kernel picked for a bind to port 0. */
static int picked_port(int fd, struct net_port *p, const char *spec, struct hk_err *err)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sin_family != AF_INET)
		return hk_fail(err, errno, "publish %s: getsockname", spec);
	p->host_port = ntohs(sa.sin_port);
	return 0;
}

static int bind_one(struct net_port *p, struct hk_err *err)
{
	char spec[NET_PORT_STRLEN];
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(p->host_port),
		.sin_addr.s_addr = htonl(p->host_ip),
	};
	bool udp = p->proto == NET_UDP;

	net_port_fmt(p, spec);
	int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hk_fail(err, errno, "publish %s: socket", spec);
	if (udp && drop_everything(fd) < 0) {
		hk_fail(err, errno, "publish %s: SO_ATTACH_FILTER", spec);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		if (p->host_port || picked_port(fd, p, spec, err) == 0)
			return fd;
		close(fd);
		return -1;
	}
	int e = errno;
	close(fd);
	if (!p->host_port)
		return hk_fail(err, e, "publish %s: no free host port", spec);
	return refused(p, spec, e, err);
}

/* A host port for p, which the kernel picks when p has none yet, and
 * picks again while taken() says a record still maps it (a container
 * stopped but not yet deleted: its holder is gone, its DNAT is not). The
 * ports refused stay bound meanwhile, so the kernel picks others. */
#define PICK_TRIES 16

static int bind_free(struct net_port *p, net_port_taken_fn taken, void *data, struct hk_err *err)
{
	int refused_fds[PICK_TRIES];
	size_t n = 0;
	bool pick = !p->host_port;
	int fd;

	for (;;) {
		fd = bind_one(p, err);
		if (fd < 0 || !pick || !taken || !taken(p, data))
			break;
		refused_fds[n++] = fd;
		p->host_port = 0;
		if (n == PICK_TRIES) {
			fd = hk_fail(err, 0, "publish %u/%s: no free host port after %d tries",
				     p->cont_port, net_proto_name(p->proto), PICK_TRIES);
			break;
		}
	}
	for (size_t i = 0; i < n; i++)
		close(refused_fds[i]);
	return fd;
}

int net_ports_bind(struct net_port *p, size_t n, net_port_taken_fn taken, void *data,
		   struct net_bound *b, struct hk_err *err)
{
	*b = (struct net_bound){0};
	if (!n)
		return 0;
	b->fds = xcalloc(n, sizeof(*b->fds));
	for (size_t i = 0; i < n; i++) {
		int fd = bind_free(&p[i], taken, data, err);
		if (fd < 0) {
			net_bound_close(b);
			return -1;
		}
		b->fds[b->n++] = fd;
	}
	return 0;
}

/* -------------------------------------------------------------------------
 * the holder */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Every fd but stdio and keep[] closed (keep[] moved above stdio first). */
static int close_all_but(int *keep, size_t n)
{
	_cleanup_free_ int *sorted = xcalloc(n + 1, sizeof(int));
	unsigned lo = 3;

	for (size_t i = 0; i < n; i++) {
		if (keep[i] >= 0 && keep[i] < 3 &&
		    (keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return -1;
		sorted[i] = keep[i];
	}
	qsort(sorted, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] < (int)lo)
			continue;
		if (sorted[i] > (int)lo && hk_close_range(lo, (unsigned)sorted[i] - 1, 0) < 0)
			return -1;
		lo = (unsigned)sorted[i] + 1;
	}
	return hk_close_range(lo, ~0u, 0);
}

static int stdio_null(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0)
			return -1;
	return fd > 2 ? close(fd) : 0;
}

static void default_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	sigaction(SIGHUP, &dfl, NULL);
}

/* Wait for the container's process to exit (watch), and until committed
 * for the hook to commit or go away (ctl). */
static void __attribute__((noreturn)) holder_loop(int ctl, int watch)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = watch, .events = POLLIN},
				      {.fd = ctl, .events = POLLIN}};
		if (watch < 0 && ctl < 0) {
			pause();
			continue;
		}
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p[0].revents)
			_exit(0);
		if (!p[1].revents)
			continue;
		char c = 0;
		ssize_t r = recv(ctl, &c, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1 || c != 'c')
			_exit(0); /* the hook is gone without committing */
		if (send(ctl, "k", 1, MSG_NOSIGNAL) != 1)
			_exit(0);
		close(ctl);
		ctl = -1;
	}
}

/* What ps shows as the holder's command line, written over the hook's
 * own arguments (where they are: /proc/self/stat, fields 48 and 49):
 * without it the holder looks like a `husk net attach` that never ended.
 * Cosmetic: anything unexpected leaves the arguments as they are. */
static void set_title(const char *title)
{
	char args[4096];
	struct hk_proc_stat st;
	_cleanup_close_ int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t len = cfd >= 0 ? read(cfd, args, sizeof(args)) : -1;

	if (len <= 0 || hk_proc_stat_read(0, &st) < 0)
		return;
	unsigned long start = st.arg_start, end = st.arg_end;
	if (end <= start || end - start != (size_t)len)
		return;
	memset((void *)start, 0, end - start);
	snprintf((char *)start, end - start, "%s", title);
}

static void __attribute__((noreturn))
holder_main(int ctl, int watch, const struct net_bound *b, const char *title)
{
	int *keep = xcalloc(b->n + 2, sizeof(int));
	size_t n = 0;

	keep[n++] = ctl;
	if (watch >= 0)
		keep[n++] = watch;
	for (size_t i = 0; i < b->n; i++)
		keep[n++] = b->fds[i];
	if (close_all_but(keep, n) < 0 || stdio_null() < 0 || chdir("/") < 0)
		_exit(1);
	ctl = keep[0];
	watch = watch >= 0 ? keep[1] : -1;
	default_signals();
	prctl(PR_SET_NAME, NET_HOLDER_COMM, 0, 0, 0);
	set_title(title);
	holder_loop(ctl, watch);
}

static ssize_t recv_wait(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (;;) {
		int n = poll(&p, 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ETIMEDOUT;
		if (n <= 0)
			return -1;
		ssize_t r = recv(fd, buf, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

/* A pidfd of the container's process, -1 in *out when there is none. */
static int open_watch(pid_t pid, unsigned long long start, int *out, struct hk_err *err)
{
	*out = -1;
	if (pid <= 0)
		return 0;
	int fd = hk_pidfd_open(pid, 0);
	if (fd < 0)
		return hk_fail(err, errno, "the container's process %d", (int)pid);
	/* the pidfd pins this process: same start time, same process */
	if (hk_proc_start_time(pid) != start) {
		close(fd);
		return hk_fail(err, ESRCH, "the container's process %d", (int)pid);
	}
	*out = fd;
	return 0;
}

/* One fork: the hook exits right after attach, and the holder goes to
 * init (or the nearest subreaper) as a double fork's grandchild would; its
 * own session, so no terminal signal reaches it. It sets itself up while
 * the hook goes on, and reads the commit only once done: the hook, which
 * exits after the commit, never leaves it holding the hook's stdio (a
 * runtime reading the hook's output until EOF would wait for it). */
int net_holder_start(struct net_bound *b, const char *id, pid_t pid, unsigned long long start,
		     struct net_holder *h, struct hk_err *err)
{
	int sv[2];
	_cleanup_free_ char *title = xasprintf(NET_HOLDER_COMM " %s", id);

	*h = (struct net_holder){.ctl = -1};
	_cleanup_close_ int watch = -1;
	if (open_watch(pid, start, &watch, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hk_fail(err, errno, "port holder: socketpair");
	pid_t holder = fork();
	if (holder == 0) {
		if (setsid() < 0)
			_exit(1);
		holder_main(sv[1], watch, b, title);
	}
	int e = errno;
	close(sv[1]);
	_cleanup_close_ int ctl = sv[0];
	if (holder < 0)
		return hk_fail(err, e, "port holder: fork");
	h->pid = holder;
	h->start = hk_proc_start_time(holder);
	if (!h->start)
		return hk_fail(err, 0, "port holder %d: exited at once", (int)holder);
	h->ctl = TAKE_FD(ctl);
	net_bound_close(b);
	return 0;
}

int net_holder_commit(struct net_holder *h, struct hk_err *err)
{
	char c = 0;

	if (h->ctl < 0)
		return 0;
	if (send(h->ctl, "c", 1, MSG_NOSIGNAL) != 1 ||
	    recv_wait(h->ctl, &c, 1, HOLDER_TIMEOUT_MS) != 1 || c != 'k')
		return hk_fail(err, 0, "port holder %d: did not take over the ports", (int)h->pid);
	hk_closep(&h->ctl);
	h->ctl = -1;
	return 0;
}

void net_holder_abandon(struct net_holder *h)
{
	if (h->ctl < 0)
		return;
	hk_closep(&h->ctl);
	h->ctl = -1;
	net_holder_stop(h->pid, h->start, NULL);
}

int net_holder_stop(pid_t pid, unsigned long long start, struct hk_err *err)
{
	struct pollfd p = {.events = POLLIN};

	if (pid <= 0)
		return 0;
	_cleanup_close_ int fd = hk_pidfd_open(pid, 0);
	if (fd < 0)
		return errno == ESRCH ? 0 : hk_fail(err, errno, "port holder %d", (int)pid);
	/* pinned by the pidfd: a pid reused since the record was written has
	 * another start time, and is left alone */
	if (hk_proc_start_time(pid) != start)
		return 0;
	if (hk_pidfd_send_signal(fd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return hk_fail(err, errno, "kill port holder %d", (int)pid);
	/* the pidfd turns readable once the process is gone, its files (the
	 * sockets) closed: the ports are free when detach returns */
	p.fd = fd;
	for (;;) {
		int n = poll(&p, 1, HOLDER_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hk_fail(err, n < 0 ? errno : 0,
				       "port holder %d: still there after SIGKILL", (int)pid);
		return 0;
	}
}
