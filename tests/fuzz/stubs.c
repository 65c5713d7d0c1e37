/* The runtime as the CLI fuzz target sees it: every entry point src/cmd/husk
 * calls, with no side effect at all. Most return an error, which is what
 * the CLI mostly has to handle; a few answer for the id or root "ok" with
 * made-up data, so that the CLI's printing code (state, list, ps --format
 * json) is fuzzed too. The list of functions is what `nm -u` shows for
 * the objects of src/cli and src/cmd/husk outside cli/, spec/, common/
 * and libc: when the CLI starts calling something new, the link fails and
 * the stub goes here (container_info_free is the real one:
 * src/runtime/info-free.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "runtime/control.h"
#include "runtime/exec.h"
#include "runtime/features.h"
#include "runtime/inspect.h"
#include "linux/selfexe.h"
#include "spec/spec.h"

static int refuse(struct hk_err *err, const char *what, const char *id)
{
	return hk_fail(err, ENOENT, "%s %s: fuzzing stub", what, id ? id : "(null)");
}

static int is_ok(const char *s)
{
	return s && strcmp(s, "ok") == 0;
}

int container_create(const struct hk_create_opts *o, struct hk_created *out, struct hk_err *err)
{
	(void)out;
	return refuse(err, "create", o->id);
}

int container_start(const char *root, const char *id, struct hk_err *err)
{
	(void)root;
	return refuse(err, "start", id);
}

int container_run(const struct hk_create_opts *o, bool detach, int *status, struct hk_err *err)
{
	(void)detach;
	if (is_ok(o->id)) {
		*status = 3;
		return 0;
	}
	return refuse(err, "run", o->id);
}

int container_kill(const char *root, const char *id, int sig, bool all, struct hk_err *err)
{
	(void)root;
	(void)all;
	if (is_ok(id) && sig > 0)
		return 0;
	return refuse(err, "kill", id);
}

int container_delete(const char *root, const char *id, bool force, struct hk_err *err)
{
	(void)root;
	(void)force;
	return refuse(err, "delete", id);
}

int container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct hk_err *err)
{
	(void)root;
	if (!is_ok(id))
		return refuse(err, "pids", id);
	*pids = xcalloc(3, sizeof(pid_t));
	(*pids)[0] = 1;
	(*pids)[1] = 42;
	(*pids)[2] = 4242;
	*n = 3;
	return 0;
}

static void fake_info(struct hk_container_info *info, const char *id, int k)
{
	memset(info, 0, sizeof(*info));
	info->id = xstrdup(id);
	info->pid = 100 + k;
	info->status = k ? "running" : "created";
	info->bundle = xstrdup("/fuzz/bundle \"quoted\"\t\x01");
	info->rootfs = xstrdup("/fuzz/bundle/rootfs");
	info->created = xstrdup("2026-01-01T00:00:00.000000000Z");
	info->owner = xstrdup(k ? "" : "root");
	info->n_annotations = (size_t)k;
	info->annotations = xcalloc((size_t)k + 1, sizeof(*info->annotations));
	for (int i = 0; i < k; i++) {
		info->annotations[i].key = xasprintf("key%d", i);
		info->annotations[i].value = xstrdup("value\n\"x\"");
	}
}

int container_info(const char *root, const char *id, struct hk_container_info *info,
		   struct hk_err *err)
{
	(void)root;
	if (!is_ok(id))
		return refuse(err, "state", id);
	fake_info(info, id, 2);
	return 0;
}

int container_list(const char *root, struct hk_container_info **infos, size_t *n,
		   struct hk_err *err)
{
	if (!is_ok(root))
		return refuse(err, "list", root);
	*n = 3;
	*infos = xcalloc(*n, sizeof(**infos));
	fake_info(&(*infos)[0], "a", 0);
	fake_info(&(*infos)[1], "a-much-longer-container-id-than-the-column", 1);
	fake_info(&(*infos)[2], "", 2);
	return 0;
}

int container_exec(const struct hk_exec_opts *o, int *status, struct hk_err *err)
{
	(void)status;
	return refuse(err, "exec", o->id);
}

char *features_json(const char *husk_version)
{
	return xasprintf("{\"ociVersionMin\": \"1.0.0\", \"husk\": \"%s\"}", husk_version);
}

int container_pause(const char *root, const char *id, bool pause, struct hk_err *err)
{
	(void)root;
	if (is_ok(id))
		return 0;
	return refuse(err, pause ? "pause" : "resume", id);
}

int container_update(const char *root, const char *id, const struct hk_resources *r,
		     struct hk_err *err)
{
	(void)root;
	if (is_ok(id) && r)
		return 0;
	return refuse(err, "update", id);
}

/* "ok": one made-up stats report and an OOM line, to fuzz the printing. */
int container_events(const char *root, const char *id, int interval_ms, bool once,
		     const struct hk_events_cb *cb, struct hk_err *err)
{
	static uint64_t percpu[2] = {1, 2};
	static struct hk_cg_raw raw[1] = {{(char *)"cache", 7}};
	static struct hk_cg_blkio_entry io[1] = {{8, 0, "Read", 9}};
	static struct hk_cg_hugetlb huge[1] = {{"2MB", 1, 2, 0}};
	struct hk_cg_stats st = {.cpu_total = 3,
				 .percpu = percpu,
				 .n_percpu = 2,
				 .mem = {true, UINT64_MAX, 4, 5, 0},
				 .mem_raw = raw,
				 .n_mem_raw = 1,
				 .io_bytes = io,
				 .n_io_bytes = 1,
				 .hugetlb = huge,
				 .n_hugetlb = 1};

	(void)root;
	(void)interval_ms;
	if (!is_ok(id))
		return refuse(err, "events", id);
	if (cb->stats(&st, cb->data) < 0 || once)
		return 0;
	cb->oom(cb->data);
	return 0;
}

/* "ok": a live container with something in every part of the report. */
int container_inspect(const char *root, const char *id, const char *net_dir, struct hk_inspect *out,
		      struct hk_err *err)
{
	static struct hk_idmap map[1] = {{0, 100000, 65536}};
	static struct hk_cg_dir dirs[1] = {{(char *)"memory", (char *)"/sys/fs/cgroup/x", false}};
	static struct hk_mountinfo mounts[1] = {{2, 1, (char *)"/", (char *)"/proc", (char *)"rw",
						 (char *)"proc", (char *)"proc", (char *)"rw"}};
	static char *lowers[2] = {(char *)"/l1", (char *)"/l\\:2"};
	static struct net_ifaddr addrs[1] = {{"eth0", AF_INET, "10.89.0.2", 16}};
	static struct net_port ports[1] = {{0, 8080, 80, NET_TCP}};

	(void)root;
	(void)net_dir;
	memset(out, 0, sizeof(*out));
	if (!is_ok(id))
		return refuse(err, "inspect", id);
	out->id = xstrdup(id);
	out->status = "running";
	out->pid = 42;
	out->live = out->started = true;
	out->bundle = xstrdup("/fuzz/bundle");
	out->host = "/proc/1";
	for (int t = 0; t < HK_NS_COUNT; t++)
		out->ns[t] = (struct hk_inspect_ns){t != HK_NS_TIME, 4026532000u + (unsigned)t,
						    4026531000u + (unsigned)(t % 2) * 1000};
	out->uid_map = out->gid_map = map;
	out->n_uid_map = out->n_gid_map = 1;
	out->cgroup = (struct hk_inspect_cgroup){.present = true,
						 .version = 1,
						 .dirs = dirs,
						 .n_dirs = 1,
						 .has_stats = true,
						 .has_cpu = true,
						 .cpu_quota = 50000,
						 .cpu_period = 100000};
	out->cgroup.stats.mem = (struct hk_cg_mem){true, 64 << 20, 12345, 0, 0};
	out->caps = (struct hk_capsets){0, 7, 7, UINT64_MAX, 1};
	out->cap_last = 40;
	out->seccomp_mode = 2;
	out->seccomp_filters = 1;
	out->config_read = out->config_seccomp = true;
	out->config_rules = 3;
	out->rootfs = (struct hk_inspect_rootfs){.fstype = (char *)"overlay",
						 .lowers = lowers,
						 .n_lowers = 2,
						 .upper = (char *)"/u"};
	out->mounts = mounts;
	out->n_mounts = 1;
	out->addrs = addrs;
	out->n_addrs = 1;
	out->has_lease = true;
	out->ports = ports;
	out->n_ports = 1;
	return 0;
}

void container_inspect_free(struct hk_inspect *in)
{
	free(in->id);
	free(in->bundle);
	memset(in, 0, sizeof(*in));
}

/* linux/selfexe.h: the fuzzer never re-executes itself. */
void selfexe_init(void)
{
}

const char *selfexe_path(void)
{
	return "/nonexistent/husk";
}

int selfexe_protect(char **argv, struct hk_err *err)
{
	(void)argv;
	(void)err;
	return 0;
}

void selfexe_exec_companion(const char *path, char **argv)
{
	(void)path;
	(void)argv;
}

void cg_systemd_enable(void)
{
}
