/* husk launch, as a checklist: open the source (rootfs or image), check
 * every option, unpack what the cache lacks, reserve the container's state,
 * make its directory, and in a mount namespace of launch's own its layers
 * and overlay, build the spec, and hand it to the OCI face's create/start
 * (container_run). The spec's poststop hook (`husk-launch launch --cleanup
 * DIR`) unmounts and removes the writable layer, whoever deletes the
 * container: launch --rm, or a plain `husk delete`; the reserved state has
 * the same hook, so that a launch killed at any instant is deleted by
 * `husk delete --force` too (reserve.c). */
#include "launch/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/esc.h"
#include "common/file.h"
#include "common/log.h"
#include "common/pidns.h"
#include "common/proctitle.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "launch/aftercare.h"
#include "launch/console.h"
#include "launch/launch-int.h"
#include "launch/layers.h"
#include "launch/logger.h"
#include "launch/overlay.h"
#include "launch/pasta.h"
#include "launch/reserve.h"
#include "spec/json.h"
#include "launch/stdio.h"
#include "launch/traverse.h"
#include "launch/user.h"
#include "launch/userns.h"
#include "linux/process.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "spec/spec.h"

char *launch_new_id(void)
{
	unsigned char b[6] = {0};
	char hex[13];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return xasprintf("hk%ld", (long)getpid());
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	return xasprintf("hk%s", hex);
}

/* The other container's network namespace, opened here and now through
 * a pidfd of its process (state_pidfd: the pid's start time is the
 * state's) and checked to be the one its create recorded. A spec can only
 * name a path: the spec gets /proc/self/fd/N of that fd, which create, in
 * this same process, opens again; a /proc/<pid>/ns/net path would be
 * opened later, when the pid may be another process's. */
static int open_net_container(struct hk_state_dir *sd, struct hk_state *st, void *data,
			      struct hk_err *err)
{
	enum hk_status status = state_status(sd, st);
	_cleanup_close_ int pidfd = -1;
	struct stat sb;
	int *out = data;

	if (status != HK_CREATED && status != HK_RUNNING)
		return hk_fail(err, 0, "the container is not running");
	if ((pidfd = state_pidfd(sd, st, err)) < 0)
		return -1;
	_cleanup_close_ int fd = hk_pidfd_open_ns(pidfd, st->pid, "net", err);
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0)
		return hk_fail(err, errno, "stat its network namespace");
	if (st->ns[HK_NS_NET] && st->ns[HK_NS_NET] != (unsigned long long)sb.st_ino)
		return hk_fail(err, 0,
			       "its process has left the network namespace husk made for it");
	*out = TAKE_FD(fd);
	return 0;
}

static int net_container(struct launch_plan *p, struct hk_err *err)
{
	int fd = -1;

	if (state_with(p->o->root, p->o->net_container, false, open_net_container, &fd, err) < 0)
		return hk_err_prefix(err, "--net container:%s", p->o->net_container);
	p->netns_fd = fd;
	p->netns = xasprintf("/proc/self/fd/%d", fd);
	return 0;
}

static int plan_ports(struct launch_plan *p, const struct img_image *img, struct hk_err *err)
{
	const struct launch_opts *o = p->o;

	if ((o->n_publish || o->publish_all) && o->net != LAUNCH_NET_BRIDGE &&
	    o->net != LAUNCH_NET_PASTA)
		return hk_fail(err, 0,
			       "-p/-P: ports are published only with --net bridge or pasta");
	if (o->publish_all && o->net == LAUNCH_NET_PASTA)
		return hk_fail(err, 0,
			       "-P: pasta forwards only the host ports it is given: publish each "
			       "with -p HOST:CTR");
	p->ports = xcalloc(o->n_publish + 1, sizeof(char *));
	for (size_t i = 0; i < o->n_publish; i++) {
		char spec[64];
		bool udp;
		if (o->net == LAUNCH_NET_PASTA &&
		    launch_pasta_port(o->publish[i], spec, sizeof(spec), &udp, err) < 0)
			return -1;
		p->ports[p->n_ports++] = xstrdup(o->publish[i]);
	}
	/* -P: each port the image exposes, on a host port the kernel picks;
	 * husk net checks the keys (the image's words) and their number. */
	size_t n = o->publish_all && img ? img->config.n_exposed : 0;
	p->exposed = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		p->exposed[p->n_exposed++] = xstrdup(img->config.exposed[i]);
	return 0;
}

/* docker's rule for a container name, [a-zA-Z0-9][a-zA-Z0-9_.-]*: the
 * name is also DATA/<name>, and DATA keeps entries of launch's own there
 * (.userns, .trash), which a name starting with anything but a letter or
 * a digit could be. */
static int check_name(const char *id, struct hk_err *err)
{
	if (state_validate_id(id, err) < 0)
		return -1;
	bool alnum0 = (id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
		      (id[0] >= '0' && id[0] <= '9');
	if (!alnum0 || strchr(id, '+'))
		return hk_fail(err, 0,
			       "--name \"%.64s\": only [a-zA-Z0-9][a-zA-Z0-9_.-]* is allowed (as "
			       "docker's): the name is a directory of DATA beside launch's own "
			       ".userns and .trash",
			       id);
	return 0;
}

/* Everything that can be checked before the machine changes. */
static int check(struct launch_plan *p, const struct img_image *img, struct hk_err *err)
{
	const struct launch_opts *o = p->o;

	if (check_name(p->id, err) < 0)
		return -1;
	/* pasta, run by root, drops to nobody before it joins the namespace,
	 * and then may not (as podman, root gets a bridge) */
	if (o->net == LAUNCH_NET_PASTA && !p->user)
		return hk_fail(err, 0,
			       "--net pasta: an ordinary user's network; root has --net bridge "
			       "(the default)");
	if (launch_caps(o, &p->caps, err) < 0)
		return -1;
	if (o->init && access(o->init_path, X_OK) < 0)
		return hk_fail(err, errno, "--init: %s (--no-init runs the program as PID 1)",
			       o->init_path);
	if (o->net == LAUNCH_NET_CONTAINER && net_container(p, err) < 0)
		return -1;
	return plan_ports(p, img, err);
}

static int write_record(const char *dir, const char *json, struct hk_err *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open %s", dir);
	return hk_write_atomic(fd, "config.json", json, strlen(json), err);
}

/* Once and for all, for the monitor of a detached --rm container. */
static void watch_and_delete(const char *root, const char *id)
{
	struct hk_container_info info = {0};
	struct hk_err err = {0};

	if (container_info(root, id, &info, &err) < 0)
		return;
	/* this container, not one made since under its name (a delete and
	 * launch while this monitor waited: outside attack, F7) */
	pid_t pid = info.recorded_pid;
	unsigned long long start = info.start_time;
	int pidfd = info.pid > 0 ? hk_pidfd_open(info.pid, 0) : -1;
	container_info_free(&info);
	if (pidfd >= 0) {
		struct pollfd pf = {.fd = pidfd, .events = POLLIN};
		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
			;
		close(pidfd);
	}
	container_delete_own(root, id, pid, start, &err);
}

/* -d --rm: a small process of its own deletes the container when its
 * program exits (nobody else is there to do it). */
static int spawn_monitor(const char *root, const char *id, struct hk_err *err)
{
	pid_t pid = fork();

	if (pid < 0)
		return hk_fail(err, errno, "fork the --rm monitor");
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return 0;
	}
	setsid();
	if (fork() != 0)
		_exit(0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	hk_close_range(3, ~0U, 0);
	/* root and id may point into the arguments the title overwrites */
	_cleanup_free_ char *r = xstrdup(root), *i = xstrdup(id);
	_cleanup_free_ char *title = xasprintf("husk-launch --rm monitor %s", i);
	prctl(PR_SET_NAME, "husk-rm", 0, 0, 0);
	hk_proctitle_set(title);
	watch_and_delete(r, i);
	_exit(0);
}

/* -d: the program's output goes to the logger (DIR/output.log, capped:
 * logger.c), not to launch's stdout, which the caller may be reading to
 * its end (a pipe would stay open as long as the container runs). */
static int redirect_output(int log, int saved[2], struct hk_err *err)
{
	fflush(stdout);
	fflush(stderr);
	for (int fd = 1; fd <= 2; fd++) {
		saved[fd - 1] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (saved[fd - 1] < 0 || dup2(log, fd) < 0)
			return hk_fail(err, errno, "redirect the output to the log");
	}
	return 0;
}

static void restore_output(int saved[2])
{
	for (int fd = 1; fd <= 2; fd++) {
		if (saved[fd - 1] < 0)
			continue;
		dup2(saved[fd - 1], fd);
		close(saved[fd - 1]);
		saved[fd - 1] = -1;
	}
}

static int run_spec(struct launch_plan *p, struct hk_state_dir *sd, int *status, struct hk_err *err)
{
	const struct launch_opts *o = p->o;
	hk_json *tree = NULL;
	_cleanup_free_ char *json = launch_spec_json(p, &tree, err);

	/* Decoded from the tree it was built as: parsing its text back cost
	 * 0.15 ms of each launch here, more in the test VM. What the parse
	 * refused of it is text that is not UTF-8 (an argument, a variable:
	 * state.json can hold none). */
	if (json && !hk_utf8_valid(json)) {
		hk_json_put(tree);
		return hk_fail(err, 0,
			       "the spec husk launch built is not UTF-8 (an argument, a variable "
			       "or a path of the command line is not): refused");
	}
	if (!json || write_record(p->dir, json, err) < 0) {
		hk_json_put(tree);
		return -1;
	}
	_cleanup_spec_ struct hk_spec *spec = spec_from_json(tree, json, strlen(json), p->dir, err);
	hk_json_put(tree);
	if (!spec)
		return hk_err_prefix(err, "the spec husk launch built");
	struct hk_create_opts co = {
		.root = o->root,
		.id = p->id,
		.bundle = p->dir,
		.spec = spec,
		.keep_stopped = !o->rm,
		.new_cgroup = true,
		.reserved = sd,
		.runtime_mntns = p->host_mntns,
		.console_socket = p->console_socket,
	};
	int saved[2] = {-1, -1};
	int r = p->log_fd >= 0 ? redirect_output(p->log_fd, saved, err) : 0;
	if (r == 0)
		r = container_run(&co, o->detach, status, err);
	restore_output(saved);
	return r;
}

/* --userns=auto: each lower layer through an idmapped mount of its own,
 * DIR/lower<N>, so that its files are the container's root's; fds[i]
 * becomes that mount's. */
static int idmap_lowers(const struct launch_plan *p, int *fds, size_t n, struct hk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *target = xasprintf("%s/lower%zu", p->dir, i);
		int fd = userns_idmap_mount(fds[i], target, p->map_uid, p->map_gid, err);
		if (fd < 0) {
			for (size_t k = 0; k < i; k++)
				close(fds[k]);
			return -1;
		}
		fds[i] = fd;
	}
	return 0;
}

/* The container's root is an unprivileged uid on the host: it must be able
 * to reach its rootfs, and nobody else (traverse.c). */
static int userns_dir(struct launch_plan *p, struct hk_err *err)
{
	if (userns_claim(p->data, p->dir, &p->map_uid, &p->map_gid, err) < 0)
		return -1;
	p->map_size = USERNS_SIZE;
	if (chown(p->dir, (uid_t)-1, (gid_t)p->map_gid) < 0 || chmod(p->dir, 0710) < 0)
		return hk_fail(err, errno, "give %s to the container root's group", p->dir);
	return traverse_grant(p->data, p->map_uid, err);
}

static int mount_and_run(struct launch_plan *p, struct img_image *img, struct hk_state_dir *sd,
			 int *status, struct hk_err *err)
{
	const struct launch_opts *o = p->o;
	size_t n = img ? img->n_layers : 1;
	int *lowers = xcalloc(n, sizeof(int));
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", p->dir);

	/* overlayfs lists the top layer first; images list it last. The
	 * layers are the directories opened and checked, as fds. */
	for (size_t i = 0; i < n; i++)
		lowers[i] = img ? img->layer_fds[n - 1 - i] : p->rootfs_fd;
	if (p->map_size && idmap_lowers(p, lowers, n, err) < 0) {
		free(lowers);
		return -1;
	}
	uid_t owner = p->map_size ? p->map_uid : (uid_t)-1;
	gid_t group = p->map_size ? p->map_gid : (gid_t)-1;
	int r = overlay_mount(p->dir, lowers, n, o->read_only, owner, group, err);
	hk_debug("launch: overlay mounted");
	for (size_t i = 0; p->map_size && i < n; i++)
		close(lowers[i]);
	free(lowers);
	if (r < 0)
		return -1;
	p->rootfs = rootfs;
	if (launch_process(p, err) < 0)
		return -1;
	hk_debug("launch: process decided");
	return run_spec(p, sd, status, err);
}

/* DATA/<id>, whose name the reserved state holds. Found there: what a
 * cleanup that failed or was killed left under this same --root (which
 * can have no container of that name: we hold it) is removed, and the
 * name taken; a container of another --root sharing DATA is left alone. */
static int make_dir(struct launch_plan *p, struct hk_state_dir *sd, struct hk_err *err)
{
	_cleanup_free_ char *root = overlay_root_id(sd->rootfd);
	int r = overlay_make_dir(p->dir, p->owner, root, err);

	if (r == 1 && overlay_reclaim(p->dir, root, err) == 1)
		r = overlay_make_dir(p->dir, p->owner, root, err);
	if (r == 1 && !err->errnum)
		return hk_fail(err, 0, "container %s exists already (%s is there)", p->id, p->dir);
	return r == 0 ? 0 : -1;
}

/* --net pasta: the container joins the namespace pasta serves, by path
 * (as --net container:NAME's). */
static int start_pasta(struct launch_plan *p, struct hk_err *err)
{
	int fd = launch_pasta_start(p->dir, p->ports, p->n_ports, err);

	if (fd < 0)
		return -1;
	p->netns_fd = fd;
	p->netns = xasprintf("/proc/self/fd/%d", fd);
	return 0;
}

/* -dt: the holder of the container's terminal (console.h), started
 * before the create that hands it the terminal. */
static int start_console(struct launch_plan *p, struct hk_err *err)
{
	p->dir_fd = open(p->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (p->dir_fd < 0)
		return hk_fail(err, errno, "open %s", p->dir);
	if (launch_console_start(p->dir_fd, &p->o->log, p->host_mntns, &p->console_ctl, err) < 0)
		return -1;
	p->console_socket = xasprintf("/proc/self/fd/%d/%s", p->dir_fd, LAUNCH_CONSOLE_SOCK);
	return 0;
}

static void stop_console(struct launch_plan *p)
{
	if (p->console_ctl >= 0)
		close(p->console_ctl);
	if (p->dir_fd >= 0)
		close(p->dir_fd);
	p->console_ctl = p->dir_fd = -1;
	free(p->console_socket);
	p->console_socket = NULL;
}

static void release_cache(struct launch_plan *p)
{
	if (p->cache_hold >= 0)
		close(p->cache_hold);
	p->cache_hold = -1;
}

/* From the reserved state on: whatever happens, `husk delete --force`
 * finds a state whose hook removes what this made. */
static int launch_in_dir(struct launch_plan *p, struct img_image *img, int *status,
			 struct hk_err *err)
{
	const struct launch_opts *o = p->o;
	struct hk_state_dir sd;
	bool made = false;

	launch_new_owner(p->owner);
	if (launch_reserve(o->root, p->id, o->self, p->dir, p->owner, &sd, err) < 0)
		return -1;
	int r = make_dir(p, &sd, err);
	made = r == 0;
	/* the layers it uses, recorded before any is mounted: from here on
	 * a prune sees them (layers.h) */
	if (r == 0)
		r = launch_layers_record(p->dir, img, err);
	release_cache(p);
	hk_debug("launch: %s made", p->dir);
	/* the logger goes back to the host's mount namespace: it keeps none
	 * of launch's mounts */
	if (r == 0 && o->detach && o->tty)
		r = start_console(p, err);
	else if (r == 0 && o->detach)
		r = launch_log_start(p->dir, &o->log, p->host_mntns, &p->log_fd, err);
	if (r == 0 && o->userns_auto && !p->user)
		r = userns_dir(p, err);
	if (r == 0 && o->net == LAUNCH_NET_PASTA)
		r = start_pasta(p, err);
	if (r == 0)
		r = mount_and_run(p, img, &sd, status, err);
	if (p->log_fd >= 0)
		close(p->log_fd);
	p->log_fd = -1;
	stop_console(p);
	if (r < 0 && made) {
		struct hk_err cerr = {0};
		overlay_remove(p->dir, false, p->owner, NULL, &cerr);
	}
	/* After the directory: a kill in between leaves the state's hook. */
	launch_unreserve(&sd);
	return r;
}

/* In launch's own mount namespace (reserve.c) from the start: the source,
 * the cache and its layers, DATA are opened there, so that the layers
 * handed to overlayfs are the very directories opened and checked (a
 * directory opened in the host's namespace cannot be a layer of a mount
 * made in another). */
static int launch_in_ns(struct launch_plan *p, int *status, struct hk_err *err)
{
	const struct launch_opts *o = p->o;
	struct img_image *img = NULL;
	_cleanup_free_ char *data = NULL, *dir = NULL;
	struct launch_stdio io;
	int r = -1;

	if (img_open(o->source, &img, &p->rootfs_fd, err) < 0)
		return -1;
	if (img) {
		img->max_ratio = o->max_ratio;
		p->image = &img->config;
		p->image_id = img->id;
	}
	if (check(p, img, err) < 0)
		goto out;
	/* held from before the layers are looked for until the container's
	 * record names them (image.h, img_cache_flock) */
	if (img && ((p->cache_hold = img_cache_hold(o->cache_dir, err)) < 0 ||
		    img_unpack(img, o->cache_dir, err) < 0))
		goto out;
	hk_debug("launch: layers ready (%zu unpacked)", img ? img->unpacked : 0);
	data = overlay_data_dir(o->data_dir, err);
	if (!data)
		goto out;
	dir = xasprintf("%s/%s", data, p->id);
	p->data = data;
	p->dir = dir;
	if (launch_stdio_start(o, p->host_mntns, &io, err) < 0)
		goto out;
	r = launch_in_dir(p, img, status, err);
	launch_stdio_finish(&io);
out:
	release_cache(p);
	p->data = p->dir = NULL;
	launch_plan_clear(p);
	img_free(img);
	return r;
}

/* Root's defaults, or an ordinary user's (user.h); *data and *cache own
 * what they point to. */
static int defaults(struct launch_opts *o, bool user, char **data, char **cache, struct hk_err *err)
{
	if (o->net == LAUNCH_NET_DEFAULT)
		o->net = user ? LAUNCH_NET_PASTA : LAUNCH_NET_BRIDGE;
	if (o->pids == LAUNCH_PIDS_DEFAULT)
		o->pids = user ? 0 : LAUNCH_PIDS_LIMIT;
	if (!o->data_dir) {
		*data = user ? launch_user_default_dir(false, err) : xstrdup(LAUNCH_DATA_DIR);
		if (!*data)
			return -1;
		o->data_dir = *data;
	}
	if (!o->cache_dir) {
		*cache = user ? launch_user_default_dir(true, err) : xstrdup(LAUNCH_CACHE_DIR);
		if (!*cache)
			return -1;
		o->cache_dir = *cache;
	}
	return 0;
}

static int run_in_ns(struct launch_opts *o, struct launch_plan *p, int *status, struct hk_err *err)
{
	int host_ns = -1;
	int r = p->user ? launch_user_prepare(o, &p->ranged, err) : 0;

	if (r == 0)
		r = launch_mountns_enter(&host_ns, err);
	p->host_mntns = host_ns;
	/* its teardown is the after-care's (a grace period), not ours */
	struct hk_err aerr = {0};
	if (r == 0 && o->aftercare >= 0 && aftercare_hold_mntns(o->aftercare, &aerr) < 0)
		hk_debug("launch: %s", aerr.msg);
	if (r == 0)
		r = launch_in_ns(p, status, err);
	/* Only the container holds the mounts from now on (create went back
	 * to the host's namespace once the container's was copied; this is
	 * for a launch that failed before). */
	launch_mountns_leave(&host_ns);
	return r;
}

int launch_run(struct launch_opts *o, int *status, struct hk_err *err)
{
	struct launch_plan p = {.o = o,
				.id = o->name,
				.log_fd = -1,
				.host_mntns = -1,
				.cache_hold = -1,
				.dir_fd = -1,
				.console_ctl = -1,
				.rootfs_fd = -1,
				.user = launch_by_user()};
	_cleanup_free_ char *data = NULL, *cache = NULL;

	*status = 0;
	if (defaults(o, p.user, &data, &cache, err) < 0)
		return -1;
	/* --share net is --net host (with the default bridge, the hooks would
	 * otherwise wire the host's own namespace) */
	if (o->share & (1u << HK_NS_NET)) {
		if (o->net == LAUNCH_NET_NONE || o->net == LAUNCH_NET_CONTAINER)
			return hk_fail(err, 0, "--share net and --net %s contradict each other",
				       o->net == LAUNCH_NET_NONE ? "none" : "container:NAME");
		o->net = LAUNCH_NET_HOST;
	}
	int r = run_in_ns(o, &p, status, err);
	if (p.rootfs_fd >= 0)
		close(p.rootfs_fd);
	if (r == 0 && o->detach && o->rm)
		r = spawn_monitor(o->root, o->name, err);
	o->data_dir = data ? NULL : o->data_dir;
	o->cache_dir = cache ? NULL : o->cache_dir;
	return r;
}

int launch_cleanup(const char *dir, bool keep, const char *owner, struct overlay_trash *later,
		   struct hk_err *err)
{
	bool ranged;

	/* run by the user's `husk delete`: what the container made belongs
	 * to the ids of the user's namespace, which only root in one may
	 * remove */
	if (launch_by_user()) {
		/* first, from here: pasta runs as nobody of the launch's
		 * namespace, which only its owner, the user out here, may
		 * signal (not root of a namespace of its own) */
		_cleanup_close_ int dfd =
			open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd >= 0)
			launch_pasta_stop(dfd);
		if (launch_user_enter(false, &ranged, err) < 0)
			return hk_err_prefix(err, "%s", dir);
	}
	return overlay_remove(dir, keep, owner, later, err);
}
