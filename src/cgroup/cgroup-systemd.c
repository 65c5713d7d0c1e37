/* The systemd manager (--systemd-cgroup), as runc's: the container's cgroup
 * is a transient scope unit that systemd makes, "<prefix>-<name>.scope" in
 * the slice linux.cgroupsPath names ("slice:prefix:name"; none:
 * system.slice:husk:<id>), and delegates to husk (Delegate=yes). husk asks
 * for it once the container's process exists (it waits, before running
 * anything of the container's, until its cgroup is made), with the process
 * in it (PIDs), the resources systemd can express as unit properties (so a
 * daemon-reload or another unit's change never resets them) and the
 * org.systemd.property.* annotations; the file backends then write every
 * resource into the files as with cgroupfs (what systemd cannot express
 * too), and read stats, freeze and thaw there. Delete stops the unit. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "cgroup/systemd.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "spec/resources.h"
#include "spec/spec.h"

static const struct cg_manager systemd_manager;

void cg_systemd_enable(void)
{
	cg_systemd_manager = &systemd_manager;
}

/* Where the scope itself is: v2's hierarchy, or v1's name=systemd. */
static bool unit_hierarchy(const char *name)
{
	return !strcmp(name, "") || !strcmp(name, "systemd");
}

/* The scope's cgroup: the slice's path, then the unit. */
static struct hk_cgroup *sysd_resolve(const char *cgroups_path, const char *id, struct hk_err *err)
{
	_cleanup_free_ char *slice = NULL, *unit = NULL, *slice_path = NULL, *path = NULL;

	if (sysd_parse_path(cgroups_path, id, &slice, &unit, err) < 0)
		return NULL;
	size_t ulen = strlen(unit);
	if (ulen > 6 && strcmp(unit + ulen - 6, ".slice") == 0) {
		hk_fail(err, 0,
			"cgroupsPath \"%s\": a slice as the container's unit is not supported by "
			"husk (a scope is made in the slice: slice:prefix:name)",
			cgroups_path);
		return NULL;
	}
	if (!(slice_path = sysd_expand_slice(slice, err)))
		return NULL;
	path = xasprintf("%s/%s", strcmp(slice_path, "/") == 0 ? "" : slice_path, unit);
	struct hk_cgroup *cg = cg_fs_resolve(path, id, err);
	if (!cg)
		return NULL;
	cg->manager = &systemd_manager;
	cg->unit = TAKE_PTR(unit);
	cg->slice = TAKE_PTR(slice);
	cg->id = xstrdup(id);
	cg->before_create = true;
	/* The scope's own directory is systemd's to make (create fails if it
	 * exists). In a v1 hierarchy systemd does not run, one that exists
	 * already (cg_fs_resolve marked it) is another's: joined, as runc
	 * does, but never killed in or removed (eighth outside attack, F1:
	 * delete --force and a failed create's rollback killed a process
	 * another had put there). */
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (unit_hierarchy(cg->dirs[i].name))
			cg->dirs[i].shared = false;
	return cg;
}

static char *proc_devices(void)
{
	return hk_read_file("/proc/devices", 1 << 16, NULL, NULL);
}

static int build_props(struct hk_cgroup *cg, const struct hk_spec *spec, struct sysd_props *p,
		       struct hk_err *err)
{
	if (sysd_props_scope(p, cg->id ? cg->id : cg->unit, cg->slice, cg->pid, cg->version,
			     spec->annotations, spec->n_annotations, err) < 0)
		return -1;
	sysd_props_resources(p, &spec->resources, cg->version);
	size_t n;
	_cleanup_free_ struct hk_dev_rule *rules = cg_device_rules(spec, &n);
	_cleanup_free_ char *devices = proc_devices();
	sysd_props_devices(p, rules, n, devices);
	return 0;
}

static int sysd_create(struct hk_cgroup *cg, const struct hk_spec *spec, struct hk_err *err)
{
	struct sysd_props p = {0};
	struct sysd_bus *b = NULL;
	int r = -1;

	/* A scope of that name is another container's (or a leftover): never
	 * joined, and never removed by this one's rollback. */
	for (size_t i = 0; i < cg->n_dirs; i++) {
		if (unit_hierarchy(cg->dirs[i].name) && access(cg->dirs[i].dir, F_OK) == 0) {
			cg->dirs[i].shared = true;
			return hk_fail(err, EEXIST, "systemd: the cgroup of %s, %s, exists already",
				       cg->unit, cg->dirs[i].dir);
		}
	}
	if (build_props(cg, spec, &p, err) < 0 || !(b = sysd_bus_open(err)))
		goto out;
	int started = sysd_start_unit(b, cg->unit, &p, err);
	if (started == -2) {
		/* made by this call, its job failed or timed out: stopped and
		 * reset, or the failed scope would hold the name for good
		 * (sixth outside attack, F2) */
		struct hk_err e = {0};
		if (sysd_stop_unit(b, cg->unit, &e) < 0)
			hk_log(HK_LOG_WARN, "%s", e.msg);
	}
	if (started < 0)
		goto out;
	hk_debug("cgroup: systemd started %s with %d in it", cg->unit, (int)cg->pid);
	cg->before_create = false;
	cg_unit_record(cg);
	/* v2: the process is in it already; on v1 in the hierarchies systemd
	 * runs, the others are made and entered as with cgroupfs */
	if (cg->version == 2)
		cg->dirs[0].placed = true;
	r = cg->version == 2 ? 0 : cg_fs_manager.create(cg, spec, err);
out:
	sysd_bus_close(b);
	sysd_props_clear(&p);
	return r;
}

static int sysd_update(struct hk_cgroup *cg, const struct hk_resources *r, struct hk_err *err)
{
	struct sysd_props p = {0};

	sysd_props_resources(&p, r, cg->version);
	if (p.n == 0 || !cg->unit)
		return 0;
	struct sysd_bus *b = sysd_bus_open(err);
	int ret = b ? sysd_set_properties(b, cg->unit, &p, err) : -1;
	sysd_bus_close(b);
	sysd_props_clear(&p);
	return ret;
}

/* At create the scope comes after the clone: no CLONE_INTO_CGROUP; an exec
 * enters the scope's cgroup as with cgroupfs. */
static int sysd_clone_fd(struct hk_cgroup *cg, int *fd, struct hk_err *err)
{
	return cg->before_create ? 0 : cg_fs_manager.clone_fd(cg, fd, err);
}

static int sysd_enter_fds(struct hk_cgroup *cg, pid_t pid, int *fds, size_t max, size_t *n,
			  struct hk_err *err)
{
	return cg_fs_manager.enter_fds(cg, pid, fds, max, n, err);
}

static void remove_if_empty(int parentfd, const char *name, int fd, void *data)
{
	(void)fd;
	(void)data;
	if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		hk_debug("cgroup: keep %s: %s", name, strerror(errno));
}

/* The scope gone (its process ended and systemd dropped it): what husk
 * made beside it, in the v1 hierarchies systemd does not run, removed
 * where empty, never killed in (seventh outside attack, F2: these leaked
 * at every container's end); a failed scope unloaded. */
static void sysd_remove_left(struct hk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_dirs; i++) {
		struct hk_err e = {0};
		if (cg->dirs[i].shared)
			continue;
		if (cg_walk_below(cg->dirs[i].dir, remove_if_empty, NULL, &e) < 0)
			hk_debug("%s", e.msg);
		if (rmdir(cg->dirs[i].dir) < 0 && errno != ENOENT)
			hk_debug("cgroup: keep %s: %s", cg->dirs[i].dir, strerror(errno));
	}
	struct hk_err e = {0};
	struct sysd_bus *b = sysd_bus_open(&e);
	if (b)
		sysd_reset_unit(b, cg->unit);
	sysd_bus_close(b);
}

/* What is left in the cgroup killed and the directories removed as with
 * cgroupfs (so that systemd has no process to stop for its
 * TimeoutStopSec), then the unit stopped; systemd unreachable then is a
 * warning: an empty scope stops by itself. */
static int sysd_destroy(struct hk_cgroup *cg, struct hk_err *err)
{
	struct hk_err e = {0};

	/* A create that failed before systemd made the unit: what is at the
	 * scope's path now is another's (a create of the same name under
	 * another --root that won the race), never ours to kill. */
	if (cg->before_create || cg->foreign)
		return 0;
	if (cg->gone) {
		sysd_remove_left(cg);
		return 0;
	}
	/* a scope that was there before (create refused it) is another's;
	 * shared directories in other hierarchies are skipped by the fs
	 * manager's destroy */
	for (size_t i = 0; i < cg->n_dirs; i++)
		if (cg->dirs[i].shared && unit_hierarchy(cg->dirs[i].name))
			return 0;
	if (cg_fs_manager.destroy(cg, err) < 0)
		return -1;
	if (!cg->unit)
		return 0;
	struct sysd_bus *b = sysd_bus_open(&e);
	if (b && sysd_bus_direct(b)) {
		/* systemd's private socket (the D-Bus daemon down): there a
		 * StopUnit now often gets no reply, and each cost its whole
		 * timeout (eighth outside attack, F2). The processes are dead
		 * and the cgroups removed: systemd stops the empty scope by
		 * itself; a failed one is reset, waiting 2 s at most. */
		sysd_bus_set_timeout(b, 2000);
		sysd_reset_unit(b, cg->unit);
	} else if (!b || sysd_stop_unit(b, cg->unit, &e) < 0) {
		hk_log(HK_LOG_WARN, "%s", e.msg);
	}
	sysd_bus_close(b);
	return 0;
}

static const struct cg_manager systemd_manager = {
	.name = "systemd",
	.resolve = sysd_resolve,
	.create = sysd_create,
	.update = sysd_update,
	.clone_fd = sysd_clone_fd,
	.enter_fds = sysd_enter_fds,
	.destroy = sysd_destroy,
	.late = true,
};
