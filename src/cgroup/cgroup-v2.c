/* cgroup v2: one directory in the unified hierarchy; the process is placed
 * into it by clone3(CLONE_INTO_CGROUP), so it never runs outside. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/rootless.h"
#include "common/xalloc.h"
#include "spec/spec.h"

/* Hand every controller a directory has down to its children, so that the
 * container's cgroup has them all. One by one: a controller the kernel
 * will not delegate here (say, cpuset in a threaded subtree) must not cost
 * the others; a resource that needs it then fails, naming the file. */
static void enable_controllers(const char *dir)
{
	_cleanup_free_ char *cpath = xasprintf("%s/cgroup.controllers", dir);
	_cleanup_free_ char *spath = xasprintf("%s/cgroup.subtree_control", dir);
	_cleanup_free_ char *have = hk_read_file(cpath, 4096, NULL, NULL);
	_cleanup_free_ char *on = hk_read_file(spath, 4096, NULL, NULL);
	char *save = NULL, word[64];

	if (!have || !on)
		return;
	for (char *c = strtok_r(have, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
		snprintf(word, sizeof(word), " %s ", c);
		_cleanup_free_ char *padded = xasprintf(" %s ", on);
		for (char *p = padded; *p; p++)
			if (*p == '\n')
				*p = ' ';
		if (strstr(padded, word))
			continue;
		snprintf(word, sizeof(word), "+%s", c);
		if (hk_write_str(spath, word, NULL) < 0)
			hk_debug("cgroup: cannot enable %s in %s", c, dir);
	}
}

/* mkdir -p, enabling the controllers in each parent on the way down. */
static int make_dirs(const char *dir, struct hk_err *err)
{
	_cleanup_free_ char *p = xstrdup(dir);
	bool parent_known = false;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		bool made = mkdir(p, 0755) == 0;
		if (!made && errno != EEXIST)
			return hk_fail(err, errno, "create cgroup %s", p);
		if (made || c == '\0') {
			/* the parent of the first directory made, then each
			 * one made that gets children */
			char *slash = strrchr(p, '/');
			if (!parent_known && slash && slash != p) {
				*slash = '\0';
				enable_controllers(p);
				*slash = '/';
				parent_known = true;
			}
			if (made && c != '\0')
				enable_controllers(p);
		}
		*s = c;
		if (c == '\0')
			return 0;
	}
}

/* linux.resources.devices as an eBPF program on the cgroup. No rules: no
 * program, as on v1 where an untouched devices cgroup allows everything its
 * parent does. Unprivileged (a delegated cgroup): bpf(2) refuses device
 * programs, as v1 refuses device rules, so none is attempted (runc skips
 * them too). */
static int apply_devices(const struct hk_cg_dir *d, const struct hk_spec *s, struct hk_err *err)
{
	size_t n;

	if (s->n_dev_rules == 0 || hk_rootless())
		return 0;
	_cleanup_close_ int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return hk_fail(err, errno, "open cgroup %s", d->dir);
	_cleanup_free_ struct hk_dev_rule *rules = cg_device_rules(s, &n);
	return cg_v2_devices_apply(fd, d->dir, rules, n, err);
}

int cg_v2_create(struct hk_cgroup *cg, const struct hk_spec *s, struct hk_err *err)
{
	if (cg->n_dirs == 0)
		return 0;
	if (make_dirs(cg->dirs[0].dir, err) < 0) {
		if (!cg_refusal(cg, err->errnum))
			return -1;
		cg_drop_dir(cg, 0, err->msg);
		hk_err_clear(err);
		return 0;
	}
	return apply_devices(&cg->dirs[0], s, err);
}
