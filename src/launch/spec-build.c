/* The config.json of a launched container, from the plan: an engine's safe
 * defaults (every namespace, a small capability set, no_new_privs, masked
 * and read-only /proc and /sys paths, the default seccomp profile), the
 * options on top. It goes through spec_parse like any bundle's. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/rootless.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "launch/launch-int.h"
#include "spec/json.h"
#include "spec/spec.h"

/* Podman's default set: Docker's without NET_RAW, MKNOD and AUDIT_WRITE. */
static const char *const default_caps[] = {
	"CAP_CHOWN",   "CAP_DAC_OVERRIDE",     "CAP_FOWNER",     "CAP_FSETID",
	"CAP_KILL",    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",    "CAP_SETGID",
	"CAP_SETPCAP", "CAP_SETUID",           "CAP_SYS_CHROOT",
};

static const char *const masked[] = {
	"/proc/acpi",
	"/proc/asound",
	"/proc/interrupts",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/sys/devices/virtual/powercap",
	"/sys/firmware",
};

static const char *const readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static int cap_bits(char **names, size_t n, const char *flag, uint64_t *bits, struct hk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(names[i], "ALL") == 0) {
			*bits = ~0ULL >> (63 - spec_cap_last());
			continue;
		}
		char full[64];
		snprintf(full, sizeof(full), "%s%s", strncasecmp(names[i], "CAP_", 4) ? "CAP_" : "",
			 names[i]);
		for (char *c = full; *c; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		int cap = spec_cap_from_name(full);
		if (cap < 0)
			return hk_fail(err, 0, "%s: unknown capability \"%s\"", flag, names[i]);
		*bits |= 1ULL << cap;
	}
	return 0;
}

int launch_caps(const struct launch_opts *o, uint64_t *caps, struct hk_err *err)
{
	uint64_t add = 0, drop = 0;

	*caps = 0;
	for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
		*caps |= 1ULL << spec_cap_from_name(default_caps[i]);
	if (cap_bits(o->cap_drop, o->n_cap_drop, "--cap-drop", &drop, err) < 0 ||
	    cap_bits(o->cap_add, o->n_cap_add, "--cap-add", &add, err) < 0)
		return -1;
	*caps = (*caps & ~drop) | add;
	return 0;
}

static hk_json *strarr(const char *const *v, size_t n)
{
	hk_json *a = hk_json_new_arr();
	for (size_t i = 0; i < n; i++)
		hk_json_append(a, hk_json_new_str(v[i]));
	return a;
}

static hk_json *caps_json(uint64_t caps)
{
	hk_json *c = hk_json_new_obj();
	static const char *const sets[] = {"bounding", "effective", "permitted"};

	for (size_t s = 0; s < 3; s++) {
		hk_json *a = hk_json_new_arr();
		for (int i = 0; i <= spec_cap_last(); i++)
			if (caps & (1ULL << i))
				hk_json_append(a, hk_json_new_str(spec_cap_name(i)));
		hk_json_set(c, sets[s], a);
	}
	return c;
}

static hk_json *process_json(const struct launch_plan *p)
{
	hk_json *proc = hk_json_new_obj(), *user = hk_json_new_obj();
	const char *init_args[] = {"/dev/init", "--"};
	hk_json *args = p->o->init ? strarr(init_args, 2) : hk_json_new_arr();

	for (size_t i = 0; i < p->n_args; i++)
		hk_json_append(args, hk_json_new_str(p->args[i]));
	hk_json_set_bool(proc, "terminal", p->o->tty);
	hk_json_set_int(user, "uid", p->uid);
	hk_json_set_int(user, "gid", p->gid);
	hk_json_set(proc, "user", user);
	hk_json_set(proc, "args", args);
	hk_json_set(proc, "env", strarr((const char *const *)p->env, p->n_env));
	hk_json_set_str(proc, "cwd", p->cwd);
	hk_json_set(proc, "capabilities", caps_json(p->caps));
	hk_json_set_bool(proc, "noNewPrivileges", true);
	return proc;
}

static hk_json *mount_json(const char *dst, const char *type, const char *src,
			   const char *const *opts)
{
	hk_json *m = hk_json_new_obj(), *o = hk_json_new_arr();

	hk_json_set_str(m, "destination", dst);
	hk_json_set_str(m, "type", type);
	hk_json_set_str(m, "source", src);
	for (; opts && *opts; opts++)
		hk_json_append(o, hk_json_new_str(*opts));
	hk_json_set(m, "options", o);
	return m;
}

/* A volume at dst itself ("/tmp", "/tmp/", "//tmp"): the volume takes
 * the place. One below dst goes on top of the tmpfs (mounted after it). */
static bool volume_at(const struct launch_opts *o, const char *dst)
{
	for (size_t i = 0; i < o->n_volumes; i++) {
		const char *v = o->volumes[i].ctr, *d = dst;
		while (*v || *d) {
			while (*v == '/' && v[1] == '/')
				v++;
			if (*v == '/' && !v[1] && !*d)
				v++; /* a trailing slash */
			if (*v != *d)
				break;
			if (*v)
				v++, d++;
		}
		if (!*v && !*d)
			return true;
	}
	return false;
}

/* --read-only (podman's --read-only-tmpfs, default true): the directories
 * programs expect to write get a tmpfs of their own, with what the image
 * has there copied up (tmpcopyup); one the image lacks, or reaches
 * through a symbolic link, is left out (the read-only root cannot take a
 * new mountpoint), as is one a volume takes. Before the volumes: one
 * below such a directory goes on top. */
static void add_ro_tmpfs(const struct launch_plan *p, hk_json *m)
{
	static const struct {
		const char *dst, *mode;
	} dirs[] = {{"/run", "mode=755"}, {"/tmp", "mode=1777"}, {"/var/tmp", "mode=1777"}};
	_cleanup_close_ int root = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* no link on the way: an image's /tmp -> /proc/bus/pci would put the
	 * tmpfs, and a copy made with every capability, there */
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS};

	for (size_t i = 0; root >= 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int fd = hk_openat2(root, dirs[i].dst + 1, &how);
		if (fd < 0 || volume_at(p->o, dirs[i].dst)) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		hk_json_append(m, mount_json(dirs[i].dst, "tmpfs", "tmpfs",
					     (const char *[]){"rw", "nosuid", "nodev", dirs[i].mode,
							      "tmpcopyup", NULL}));
	}
}

static hk_json *mounts_json(const struct launch_plan *p)
{
	const struct launch_opts *o = p->o;
	hk_json *m = hk_json_new_arr();
	/* With a user namespace (the container's, or the ordinary user's
	 * that launch runs in) and the host's network, sysfs cannot be
	 * mounted (it belongs to the network namespace's owner): bind it. */
	bool bind_sys = (p->map_size || p->user) &&
			(o->net == LAUNCH_NET_HOST || o->net == LAUNCH_NET_CONTAINER);
	/* gid 5 (tty) exists only where ids past 0 are mapped */
	bool no_tty_gid = p->map_size || (p->user && !p->ranged);

	hk_json_append(m, mount_json("/proc", "proc", "proc", NULL));
	hk_json_append(m, mount_json("/dev", "tmpfs", "tmpfs",
				     (const char *[]){"nosuid", "strictatime", "mode=755",
						      "size=65536k", NULL}));
	hk_json_append(
		m, mount_json("/dev/pts", "devpts", "devpts",
			      (const char *[]){"nosuid", "noexec", "newinstance", "ptmxmode=0666",
					       "mode=0620", no_tty_gid ? NULL : "gid=5", NULL}));
	hk_json_append(m, mount_json("/dev/shm", "tmpfs", "shm",
				     (const char *[]){"nosuid", "noexec", "nodev", "mode=1777",
						      "size=65536k", NULL}));
	hk_json_append(m, mount_json("/dev/mqueue", "mqueue", "mqueue",
				     (const char *[]){"nosuid", "noexec", "nodev", NULL}));
	hk_json_append(m, bind_sys ? mount_json("/sys", "none", "/sys",
						(const char *[]){"rbind", "nosuid", "noexec",
								 "nodev", "ro", NULL})
				   : mount_json("/sys", "sysfs", "sysfs",
						(const char *[]){"nosuid", "noexec", "nodev", "ro",
								 NULL}));
	hk_json_append(m, mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
				     (const char *[]){"nosuid", "noexec", "nodev", "relatime", "ro",
						      NULL}));
	if (o->read_only && !o->no_ro_tmpfs)
		add_ro_tmpfs(p, m);
	/* :ro is read-only all the way down, mounts below HOST included
	 * (mount_setattr AT_RECURSIVE, Linux 5.12), as docker's since 25. */
	for (size_t i = 0; i < o->n_volumes; i++)
		hk_json_append(
			m, mount_json(o->volumes[i].ctr, "bind", o->volumes[i].host,
				      o->volumes[i].ro
					      ? (const char *[]){"rbind", "rprivate", "ro", "rro",
								 NULL}
					      : (const char *[]){"rbind", "rprivate", "rw", NULL}));
	if (o->init)
		hk_json_append(m, mount_json("/dev/init", "bind", o->init_path,
					     (const char *[]){"bind", "ro", "nosuid", NULL}));
	return m;
}

static hk_json *namespaces_json(const struct launch_plan *p)
{
	static const enum hk_ns_type types[] = {HK_NS_PID, HK_NS_NET, HK_NS_IPC,
						HK_NS_UTS, HK_NS_MNT, HK_NS_CGROUP};
	hk_json *a = hk_json_new_arr();

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		enum hk_ns_type t = types[i];
		if ((p->o->share & (1u << t)) || (t == HK_NS_NET && p->o->net == LAUNCH_NET_HOST))
			continue;
		hk_json *ns = hk_json_new_obj();
		hk_json_set_str(ns, "type", spec_ns_name(t));
		if (t == HK_NS_NET && p->netns)
			hk_json_set_str(ns, "path", p->netns);
		hk_json_append(a, ns);
	}
	if (p->map_size) {
		hk_json *ns = hk_json_new_obj();
		hk_json_set_str(ns, "type", "user");
		hk_json_append(a, ns);
	}
	return a;
}

static hk_json *idmap_json(const struct launch_plan *p, uint32_t host)
{
	hk_json *a = hk_json_new_arr(), *m = hk_json_new_obj();

	hk_json_set_int(m, "containerID", 0);
	hk_json_set_int(m, "hostID", host);
	hk_json_set_int(m, "size", p->map_size);
	hk_json_append(a, m);
	return a;
}

static hk_json *resources_json(const struct launch_opts *o)
{
	hk_json *r = hk_json_new_obj(), *devs = hk_json_new_arr(), *deny = hk_json_new_obj();

	hk_json_set_bool(deny, "allow", false);
	hk_json_set_str(deny, "access", "rwm");
	hk_json_append(devs, deny);
	hk_json_set(r, "devices", devs);
	if (o->memory) {
		hk_json *m = hk_json_new_obj();
		hk_json_set_int(m, "limit", o->memory);
		hk_json_set(r, "memory", m);
	}
	if (o->cpu_quota) {
		hk_json *c = hk_json_new_obj();
		hk_json_set_int(c, "quota", o->cpu_quota);
		hk_json_set_u64(c, "period", 100000);
		hk_json_set(r, "cpu", c);
	}
	if (o->pids) {
		hk_json *pids = hk_json_new_obj();
		hk_json_set_int(pids, "limit", o->pids);
		hk_json_set(r, "pids", pids);
	}
	return r;
}

static int seccomp_json(const struct launch_plan *p, hk_json *linux_, struct hk_err *err)
{
	const char *s = p->o->seccomp;

	if (s && strcmp(s, "unconfined") == 0)
		return 0;
	if (!s) {
		hk_json_set(linux_, "seccomp", launch_seccomp_default(p->caps));
		return 0;
	}
	size_t len;
	char *text = hk_read_file(s, 1 << 20, &len, err);
	if (!text)
		return hk_err_prefix(err, "--security-opt seccomp=%s", s);
	hk_json *j = hk_json_parse(text, len, s, err);
	free(text);
	if (!j)
		return hk_err_prefix(err, "--security-opt seccomp");
	hk_json_set(linux_, "seccomp", j);
	return 0;
}

static hk_json *linux_json(const struct launch_plan *p, struct hk_err *err)
{
	hk_json *l = hk_json_new_obj();

	hk_json_set(l, "namespaces", namespaces_json(p));
	if (p->map_size) {
		hk_json_set(l, "uidMappings", idmap_json(p, p->map_uid));
		hk_json_set(l, "gidMappings", idmap_json(p, p->map_gid));
	}
	hk_json_set(l, "resources", resources_json(p->o));
	hk_json_set(l, "maskedPaths", strarr(masked, sizeof(masked) / sizeof(masked[0])));
	hk_json_set(l, "readonlyPaths", strarr(readonly, sizeof(readonly) / sizeof(readonly[0])));
	if (seccomp_json(p, l, err) < 0) {
		hk_json_put(l);
		return NULL;
	}
	return l;
}

static hk_json *hook_json(const char *path, const char **args, size_t n)
{
	hk_json *h = hk_json_new_obj(), *env = hk_json_new_arr();
	const char *netdir = getenv("HUSK_NET_DIR");

	hk_json_set_str(h, "path", path);
	hk_json_set(h, "args", strarr(args, n));
	hk_json_append(
		env, hk_json_new_str(
			     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	if (netdir) {
		char *e = xasprintf("HUSK_NET_DIR=%s", netdir);
		hk_json_append(env, hk_json_new_str(e));
		free(e);
	}
	/* an ordinary user's husk finds its state root there (the hooks of
	 * husk-launch are husk's command line too) */
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (hk_rootless() && xdg && *xdg) {
		char *e = xasprintf("XDG_RUNTIME_DIR=%s", xdg);
		hk_json_append(env, hk_json_new_str(e));
		free(e);
	}
	hk_json_set(h, "env", env);
	return h;
}

static hk_json *attach_hook(const struct launch_plan *p)
{
	const struct launch_opts *o = p->o;
	const char **args = xcalloc(8 + 2 * (p->n_ports + p->n_exposed), sizeof(char *));
	size_t n = 0;

	args[n++] = "husk";
	args[n++] = "net";
	args[n++] = "attach";
	if (o->bridge) {
		args[n++] = "--bridge";
		args[n++] = o->bridge;
	}
	if (o->subnet) {
		args[n++] = "--subnet";
		args[n++] = o->subnet;
	}
	for (size_t i = 0; i < p->n_ports; i++) {
		args[n++] = "-p";
		args[n++] = p->ports[i];
	}
	for (size_t i = 0; i < p->n_exposed; i++) {
		args[n++] = "--publish-exposed";
		args[n++] = p->exposed[i];
	}
	hk_json *h = hook_json(o->husk, args, n);
	free(args);
	return h;
}

static hk_json *hooks_json(const struct launch_plan *p)
{
	hk_json *hooks = hk_json_new_obj(), *poststop = hk_json_new_arr();
	const char *detach[] = {"husk", "net", "detach"};
	/* options first: husk-launch stops at the first argument that is none */
	const char *cleanup[] = {
		"husk-launch", "cleanup", "--owner", p->owner, p->o->keep ? "--keep" : p->dir,
		p->dir};

	if (p->o->net == LAUNCH_NET_BRIDGE) {
		hk_json *create = hk_json_new_arr();
		hk_json_append(create, attach_hook(p));
		hk_json_set(hooks, "createRuntime", create);
		hk_json_append(poststop, hook_json(p->o->husk, detach, 3));
	}
	hk_json_append(poststop, hook_json(p->o->self, cleanup, p->o->keep ? 6 : 5));
	hk_json_set(hooks, "poststop", poststop);
	return hooks;
}

static hk_json *annotations_json(const struct launch_plan *p)
{
	hk_json *a = hk_json_new_obj();

	hk_json_set_str(a, "husk.launch.source", p->o->source);
	hk_json_set_str(a, "husk.launch.dir", p->dir);
	if (p->image_id) {
		char *id = xasprintf("sha256:%s", p->image_id);
		hk_json_set_str(a, "husk.launch.image", id);
		free(id);
	}
	return a;
}

char *launch_spec_json(const struct launch_plan *p, hk_json **tree, struct hk_err *err)
{
	hk_json *cfg = hk_json_new_obj(), *root = hk_json_new_obj();
	hk_json *l = linux_json(p, err);

	if (!l) {
		hk_json_put(cfg);
		hk_json_put(root);
		return NULL;
	}
	hk_json_set_str(cfg, "ociVersion", "1.2.0");
	hk_json_set(cfg, "process", process_json(p));
	hk_json_set_str(root, "path", p->rootfs);
	hk_json_set_bool(root, "readonly", p->o->read_only);
	hk_json_set(cfg, "root", root);
	if (!(p->o->share & (1u << HK_NS_UTS)))
		hk_json_set_str(cfg, "hostname", p->o->hostname ? p->o->hostname : p->id);
	hk_json_set(cfg, "mounts", mounts_json(p));
	hk_json_set(cfg, "linux", l);
	hk_json_set(cfg, "hooks", hooks_json(p));
	hk_json_set(cfg, "annotations", annotations_json(p));
	char *text = hk_json_dump(cfg, 2);
	if (tree)
		*tree = cfg;
	else
		hk_json_put(cfg);
	return text;
}
