#include "linux/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "spec/spec.h"

static char *map_text(const struct hk_idmap *m, size_t n)
{
	char *out = xzalloc(n * 40 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(out + o, "%u %u %u\n", m[i].container_id, m[i].host_id,
				     m[i].size);
	return out;
}

static int write_proc(pid_t pid, const char *file, const char *text, struct hk_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open %s", path);
	/* A map must be written in one write(2) (user_namespaces(7)). */
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return hk_fail(err, errno, "write %s", path);
	return 0;
}

/* Run newuidmap/newgidmap (setuid helpers from Debian's uidmap package,
 * which check /etc/subuid and /etc/subgid). */
static int run_helper(const char *helper, pid_t pid, const struct hk_idmap *m, size_t n,
		      struct hk_err *err)
{
	char **argv = xcalloc(3 + 3 * n + 1, sizeof(char *));
	size_t a = 0;
	int status = 0;

	argv[a++] = xasprintf("/usr/bin/%s", helper);
	argv[a++] = xasprintf("%d", (int)pid);
	for (size_t i = 0; i < n; i++) {
		argv[a++] = xasprintf("%u", m[i].container_id);
		argv[a++] = xasprintf("%u", m[i].host_id);
		argv[a++] = xasprintf("%u", m[i].size);
	}
	pid_t child = access(argv[0], X_OK) == 0 ? fork() : -2;
	if (child == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int saved = errno;
	while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	for (size_t i = 0; i < a; i++)
		free(argv[i]);
	free(argv);
	if (child == -2)
		return hk_fail(err, 0, "/usr/bin/%s not found: install Debian's uidmap package",
			       helper);
	if (child < 0)
		return hk_fail(err, saved, "fork %s", helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hk_fail(err, 0,
			       "%s failed (are the ranges of linux.%s in /etc/%s for this user?)",
			       helper, helper[3] == 'u' ? "uidMappings" : "gidMappings",
			       helper[3] == 'u' ? "subuid" : "subgid");
	return 0;
}

static bool only_own(const struct hk_idmap *m, size_t n, unsigned id)
{
	return n == 1 && m[0].host_id == id && m[0].size == 1;
}

static int write_map(pid_t pid, bool uid, const struct hk_idmap *m, size_t n, struct hk_err *err)
{
	const char *file = uid ? "uid_map" : "gid_map";

	if (geteuid() == 0 || only_own(m, n, uid ? geteuid() : getegid())) {
		/* An unprivileged writer of gid_map must deny setgroups first. */
		if (!uid && geteuid() != 0 && write_proc(pid, "setgroups", "deny", err) < 0)
			return -1;
		_cleanup_free_ char *text = map_text(m, n);
		if (write_proc(pid, file, text, err) < 0)
			return hk_err_prefix(err, "linux.%s", uid ? "uidMappings" : "gidMappings");
		return 0;
	}
	return run_helper(uid ? "newuidmap" : "newgidmap", pid, m, n, err);
}

int userns_write_maps(pid_t pid, const struct hk_spec *s, struct hk_err *err)
{
	/* gid first: an unprivileged writer can no longer write it once its uid
	 * is mapped away. */
	if (write_map(pid, false, s->gid_mappings, s->n_gid_mappings, err) < 0)
		return -1;
	return write_map(pid, true, s->uid_mappings, s->n_uid_mappings, err);
}

bool userns_setgroups_denied(void)
{
	char buf[16] = "";
	_cleanup_close_ int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return false;
	return strncmp(buf, "deny", 4) == 0;
}

int userns_become_root(struct hk_err *err)
{
	if (!userns_setgroups_denied() && setgroups(0, NULL) < 0)
		return hk_fail(err, errno, "setgroups in the user namespace");
	if (setresgid(0, 0, 0) < 0)
		return hk_fail(err, errno, "setresgid 0 in the user namespace (is gid 0 mapped?)");
	if (setresuid(0, 0, 0) < 0)
		return hk_fail(err, errno, "setresuid 0 in the user namespace (is uid 0 mapped?)");
	/* Not dumpable, whatever the credential change did (an unprivileged
	 * caller's child that joins a namespace whose root is its own uid
	 * changes no id, and stays dumpable): our root is still the host's,
	 * and a dumpable process is open to anyone in its pid namespace with
	 * CAP_SYS_PTRACE in the user namespace (a co-container's root when both
	 * were joined by path: /proc/<pid>/root; outside attacks, fourth round
	 * and F6). What we need of our own /proc files is opened before
	 * (timens_offsets) or is ours whatever the owner (fd, ns). execve
	 * sets dumpable afresh for the container's program. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hk_fail(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
	return 0;
}

int userns_open_time_offsets(const struct hk_spec *s, struct hk_err *err)
{
	if (!s->monotonic.set && !s->boottime.set)
		return -2;
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open /proc/self/timens_offsets");
	return fd;
}

int userns_new_time(const struct hk_spec *s, int offsets_fd, struct hk_err *err)
{
	char text[128];
	int n = 0;

	if (unshare(CLONE_NEWTIME) < 0)
		return hk_fail(err, errno, "unshare the time namespace");
	/* Offsets can be set only until a process lives in the namespace. */
	if (s->monotonic.set)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "monotonic %lld %u\n",
			      (long long)s->monotonic.secs, s->monotonic.nanosecs);
	if (s->boottime.set)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "boottime %lld %u\n",
			      (long long)s->boottime.secs, s->boottime.nanosecs);
	if (n > 0 && offsets_fd >= 0) {
		ssize_t w = write(offsets_fd, text, (size_t)n);
		if (w != n) {
			hk_fail(err, w < 0 ? errno : EIO, "write /proc/self/timens_offsets");
			return hk_err_prefix(err, "linux.timeOffsets");
		}
	}
	if (n > 0 && offsets_fd < 0 && hk_write_str("/proc/self/timens_offsets", text, err) < 0)
		return hk_err_prefix(err, "linux.timeOffsets");
	_cleanup_close_ int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open /proc/self/ns/time_for_children");
	if (setns(fd, CLONE_NEWTIME) < 0)
		return hk_fail(err, errno, "enter the new time namespace");
	return 0;
}

int userns_parse_map(const char *text, struct hk_idmap **maps, size_t *n)
{
	_cleanup_free_ char *copy = xstrdup(text);
	_cleanup_free_ struct hk_idmap *v = NULL;
	char *save = NULL;
	size_t cnt = 0;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long long in, out, count;
		char extra;
		if (sscanf(l, " %llu %llu %llu %c", &in, &out, &count, &extra) != 3 ||
		    in > UINT32_MAX || out > UINT32_MAX || count > UINT32_MAX)
			return -1;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		v[cnt++] = (struct hk_idmap){(uint32_t)in, (uint32_t)out, (uint32_t)count};
	}
	*maps = TAKE_PTR(v);
	*n = cnt;
	return 0;
}

/* The child of userns_with_maps: in a user namespace of its own, it says
 * so and waits for EOF on go (its maker done, or dead: it holds husk's
 * fds, the state lock among them, and must not outlive it). */
static void __attribute__((noreturn)) hold_userns(int ready[2], int go[2])
{
	char c;

	close(ready[0]);
	close(go[1]);
	/* not dumpable: its root is the host's, and whoever owns the
	 * namespace made here (root) could otherwise open /proc/<pid>/root */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(1);
	c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
	if (write(ready[1], &c, 1) != 1)
		_exit(1);
	(void)!read(go[0], &c, 1);
	_exit(0);
}

/* As root, any ranges go (user_namespaces(7)). */
static int write_maps_as_root(pid_t pid, const struct hk_idmap *uid, size_t n_uid,
			      const struct hk_idmap *gid, size_t n_gid, struct hk_err *err)
{
	_cleanup_free_ char *u = map_text(uid, n_uid);
	_cleanup_free_ char *g = map_text(gid, n_gid);

	if (write_proc(pid, "gid_map", g, err) < 0 || write_proc(pid, "uid_map", u, err) < 0)
		return -1;
	return 0;
}

int userns_with_maps(const struct hk_idmap *uid, size_t n_uid, const struct hk_idmap *gid,
		     size_t n_gid, struct hk_err *err)
{
	int go[2], ready[2];
	char c = 0;

	if (pipe2(go, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "pipe");
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return hk_fail(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid == 0)
		hold_userns(ready, go);
	close(go[0]);
	close(ready[1]);
	int fd = -1;
	if (pid < 0)
		hk_fail(err, errno, "fork");
	else if (read(ready[0], &c, 1) != 1 || c != 'y')
		hk_fail(err, 0, "make a user namespace for an idmapped mount");
	else if (write_maps_as_root(pid, uid, n_uid, gid, n_gid, err) == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			hk_fail(err, errno, "open %s", path);
	}
	close(go[1]);
	close(ready[0]);
	while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return fd;
}
