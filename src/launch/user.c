/* husk launch run by an ordinary user: see user.h.
 *
 * The maps are podman's rootless ones: 0 is the user's uid (gid), 1 and
 * up the user's subordinate ranges in the order /etc/subuid (/etc/subgid)
 * lists them. Only newuidmap and newgidmap (set-id root, Debian's uidmap)
 * may write maps of ids other than the caller's own; they check the
 * ranges against those files themselves. Without a range the kernel lets
 * the user map their own uid and gid alone, after setgroups is denied
 * (user_namespaces(7)). */
#include "launch/user.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/passwd.h"
#include "common/pidns.h"
#include "common/rootless.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "launch/opts.h"
#include "launch/userns.h"
#include "runtime/state.h"

#define MAX_RANGES 16
#define SUB_MAX (16u << 20)

bool launch_by_user(void)
{
	return geteuid() != 0 && hk_initial_userns();
}

static char *home_dir(void)
{
	const char *home = getenv("HOME");
	char *name = NULL, *pw_home = NULL;

	if (home && home[0] == '/')
		return xstrdup(home);
	passwd_lookup("/etc/passwd", getuid(), &name, &pw_home);
	free(name);
	if (pw_home && pw_home[0] == '/')
		return pw_home;
	free(pw_home);
	return NULL;
}

char *launch_user_default_dir(bool cache, struct hk_err *err)
{
	const char *xdg = getenv(cache ? "XDG_CACHE_HOME" : "XDG_DATA_HOME");

	/* the XDG base directory spec: a relative value is to be ignored */
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/husk", xdg);
	_cleanup_free_ char *home = home_dir();
	if (!home)
		return hk_fail(err, 0,
			       "%s: $%s and $HOME are unset and uid %u has no home in "
			       "/etc/passwd: give %s",
			       cache ? "the image cache" : "the data directory",
			       cache ? "XDG_CACHE_HOME" : "XDG_DATA_HOME", (unsigned)getuid(),
			       cache ? "--cache-dir" : "--data-dir"),
		       NULL;
	return xasprintf("%s/%s/husk", home, cache ? ".cache" : ".local/share");
}

/* The user's ranges in file (by name, or uid as a number). */
static size_t ranges_of(const char *file, const char *name, uint32_t id, struct userns_range *r,
			struct hk_err *err)
{
	_cleanup_free_ char *text = hk_read_file(file, SUB_MAX, NULL, err);

	if (!text) {
		if (err->errnum != ENOENT)
			return hk_err_prefix(err, "subordinate ids"), (size_t)-1;
		hk_err_clear(err);
		return 0;
	}
	return userns_user_ranges(text, name, id, r, MAX_RANGES);
}

/* argv of newuidmap (newgidmap) for pid: 0 -> id, 1.. -> the ranges. */
static char **map_argv(const char *tool, pid_t pid, uint32_t id, const struct userns_range *r,
		       size_t n)
{
	char **v = xcalloc(6 + 3 * n, sizeof(char *));
	size_t k = 0;
	uint64_t inside = 1;

	v[k++] = xstrdup(tool);
	v[k++] = xasprintf("%d", (int)pid);
	v[k++] = xstrdup("0");
	v[k++] = xasprintf("%u", id);
	v[k++] = xstrdup("1");
	for (size_t i = 0; i < n; i++) {
		v[k++] = xasprintf("%llu", (unsigned long long)inside);
		v[k++] = xasprintf("%llu", (unsigned long long)r[i].start);
		v[k++] = xasprintf("%llu", (unsigned long long)r[i].count);
		inside += r[i].count;
	}
	return v;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* In the helper: run argv, wait; 0 or a message in msg. */
static int run_tool(char **argv, char *msg, size_t size)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return snprintf(msg, size, "fork %s: %s", argv[0], strerror(errno)), -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return snprintf(msg, size, "wait for %s: %s", argv[0], strerror(errno)), -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		snprintf(msg, size, "%s: not found (Debian's uidmap package)", argv[0]);
	else
		snprintf(msg, size, "%s %s %s %s %s...: failed (status %d; it said why above)",
			 argv[0], argv[1], argv[2], argv[3], argv[4],
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return -1;
}

/* The helper, outside the namespace: waits for launch to be in it, maps
 * it, and says how that went on res. */
_Noreturn static void helper(int go, int res, char **uid_argv, char **gid_argv)
{
	char msg[480] = "";
	char c;

	if (read(go, &c, 1) != 1 || c != 'y')
		_exit(1);
	if (run_tool(uid_argv, msg, sizeof(msg)) == 0)
		run_tool(gid_argv, msg, sizeof(msg));
	(void)!write(res, msg, strlen(msg));
	_exit(msg[0] ? 1 : 0);
}

struct mapping {
	uint32_t uid, gid;
	struct userns_range ur[MAX_RANGES], gr[MAX_RANGES];
	size_t nu, ng;
};

static int unshare_ns(struct hk_err *err)
{
	/* the mount namespace with it: owned by the new user namespace, it is
	 * where launch comes back to from its own (reserve.c) */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return hk_fail(err, errno,
			       "unshare a user namespace (is "
			       "/proc/sys/user/max_user_namespaces 0?)");
	return 0;
}

static int enter_ranged(const struct mapping *m, struct hk_err *err)
{
	char **uv = map_argv("newuidmap", getpid(), m->uid, m->ur, m->nu);
	char **gv = map_argv("newgidmap", getpid(), m->gid, m->gr, m->ng);
	int go[2] = {-1, -1}, res[2] = {-1, -1}, r = -1;
	char msg[480] = "";

	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
		r = hk_fail(err, errno, "pipe");
		goto out;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		r = hk_fail(err, errno, "fork the helper running newuidmap");
		goto out;
	}
	if (pid == 0) {
		close(go[1]);
		close(res[0]);
		helper(go[0], res[1], uv, gv);
	}
	close(res[1]);
	res[1] = -1;
	r = unshare_ns(err);
	(void)!write(go[1], r == 0 ? "y" : "n", 1);
	ssize_t n = read(res[0], msg, sizeof(msg) - 1);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && (n != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		msg[n > 0 ? n : 0] = '\0';
		r = hk_fail(err, 0, "the user namespace's id maps: %s",
			    msg[0] ? msg : "the helper died");
	}
out:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	free_argv(uv);
	free_argv(gv);
	return r;
}

static int enter_single(const struct mapping *m, struct hk_err *err)
{
	char map[64];

	if (unshare_ns(err) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1\n", m->uid);
	if (hk_write_str("/proc/self/uid_map", map, err) < 0)
		return hk_err_prefix(err, "the user namespace's uid map");
	if (hk_write_str("/proc/self/setgroups", "deny", err) < 0)
		return hk_err_prefix(err, "the user namespace's setgroups");
	snprintf(map, sizeof(map), "0 %u 1\n", m->gid);
	if (hk_write_str("/proc/self/gid_map", map, err) < 0)
		return hk_err_prefix(err, "the user namespace's gid map");
	return 0;
}

static int no_range(const char *name, struct hk_err *err)
{
	return hk_fail(err, 0,
		       "--userns auto: user %s has no subordinate ids in /etc/subuid and "
		       "/etc/subgid (an administrator can give some: usermod --add-subuids "
		       "100000-165535 --add-subgids 100000-165535 %s)",
		       name, name);
}

int launch_user_enter(bool need_range, bool *ranged, struct hk_err *err)
{
	struct mapping m = {.uid = (uint32_t)geteuid(), .gid = (uint32_t)getegid()};
	_cleanup_free_ char *name = NULL, *home = NULL;

	passwd_lookup("/etc/passwd", geteuid(), &name, &home);
	m.nu = ranges_of("/etc/subuid", name, m.uid, m.ur, err);
	if (m.nu == (size_t)-1)
		return -1;
	m.ng = ranges_of("/etc/subgid", name, m.uid, m.gr, err);
	if (m.ng == (size_t)-1)
		return -1;
	*ranged = m.nu && m.ng;
	if (need_range && !*ranged) {
		_cleanup_free_ char *num = xasprintf("%u", m.uid);
		return no_range(name ? name : num, err);
	}
	hk_debug("launch: a user namespace: uid 0 is %u, %zu subordinate range(s)", m.uid,
		 *ranged ? m.nu : 0);
	if ((*ranged ? enter_ranged(&m, err) : enter_single(&m, err)) < 0)
		return -1;
	hk_entered_userns();
	hk_trusted_pin_roots();
	return 0;
}

static int walk(const char *what, const char *path, struct hk_err *err)
{
	int fd = hk_open_trusted_dir(what, path, true, 0700, err);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int check_net(const struct launch_opts *o, struct hk_err *err)
{
	if (o->net == LAUNCH_NET_BRIDGE)
		return hk_fail(err, 0,
			       "--net bridge: only root can make a bridge and veth pairs on the "
			       "host; as an ordinary user use --net pasta (the default: a "
			       "user-mode network, as rootless podman's), none or host");
	if (o->bridge || o->subnet)
		return hk_fail(err, 0,
			       "--bridge/--subnet: only with --net bridge, which needs "
			       "root");
	return 0;
}

static int open_user_ns(struct hk_state_dir *sd, struct hk_state *st, void *data,
			struct hk_err *err)
{
	enum hk_status status = state_status(sd, st);
	_cleanup_close_ int pidfd = -1;
	int *out = data;

	if (status != HK_CREATED && status != HK_RUNNING)
		return hk_fail(err, 0, "the container is not running");
	if ((pidfd = state_pidfd(sd, st, err)) < 0)
		return -1;
	*out = hk_pidfd_open_ns(pidfd, st->pid, "user", err);
	return *out < 0 ? -1 : 0;
}

/* --net container:NAME: the other container's network namespace belongs
 * to the user namespace its launch made (each launch makes one), in which
 * only its root may join it: this launch joins that user namespace instead
 * of making its own (the user, its owner, may), and makes its own mount
 * namespace there. */
static int join_container(const struct launch_opts *o, bool *ranged, struct hk_err *err)
{
	int fd = -1;

	if (state_with(o->root, o->net_container, false, open_user_ns, &fd, err) < 0)
		return hk_err_prefix(err, "--net container:%s", o->net_container);
	int r = setns(fd, CLONE_NEWUSER);
	close(fd);
	if (r < 0)
		return hk_fail(err, errno, "--net container:%s: join its user namespace",
			       o->net_container);
	if (unshare(CLONE_NEWNS) < 0)
		return hk_fail(err, errno, "unshare a mount namespace");
	_cleanup_free_ char *map = hk_read_file("/proc/self/uid_map", 65536, NULL, err);
	if (!map)
		return hk_err_prefix(err, "--net container:%s", o->net_container);
	/* more than one line: ids past 0 are mapped */
	char *nl = strchr(map, '\n');
	*ranged = nl && nl[1];
	if (o->userns_auto && !*ranged)
		return hk_fail(err, 0,
			       "--userns auto: container %s maps no subordinate ids, and --net "
			       "container:%s shares its user namespace",
			       o->net_container, o->net_container);
	hk_entered_userns();
	hk_trusted_pin_roots();
	return 0;
}

int launch_user_prepare(struct launch_opts *o, bool *ranged, struct hk_err *err)
{
	if (check_net(o, err) < 0)
		return -1;
	if (!o->root)
		return hk_fail(err, 0,
			       "no state root: $XDG_RUNTIME_DIR is not set (give --root DIR, a "
			       "directory of your own)");
	/* As the user, on the host: the directories and links on the way
	 * that are root's are remembered (trusted.h), to be trusted in the
	 * namespace, where root is unmapped. */
	hk_trusted_record_roots();
	if (walk("--root", o->root, err) < 0 || walk("--data-dir", o->data_dir, err) < 0 ||
	    walk("--cache-dir", o->cache_dir, err) < 0)
		return -1;
	if (o->net == LAUNCH_NET_CONTAINER)
		return join_container(o, ranged, err);
	return launch_user_enter(o->userns_auto, ranged, err);
}

int launch_user_prepare_dirs(const char *data_dir, const char *cache_dir, bool *ranged,
			     struct hk_err *err)
{
	hk_trusted_record_roots();
	if (walk("--data-dir", data_dir, err) < 0 || walk("--cache-dir", cache_dir, err) < 0)
		return -1;
	return launch_user_enter(false, ranged, err);
}

char *launch_default_dir(bool cache, struct hk_err *err)
{
	const char *v = getenv(cache ? "HUSK_CACHE" : "HUSK_DATA");

	if (v && *v)
		return xstrdup(v);
	if (launch_by_user())
		return launch_user_default_dir(cache, err);
	return xstrdup(cache ? LAUNCH_CACHE_DIR : LAUNCH_DATA_DIR);
}
