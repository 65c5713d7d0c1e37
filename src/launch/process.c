/* The program a launched container runs, its environment, working
 * directory and user: the options over the image config over defaults.
 * User and group names are looked up in the container's own /etc/passwd
 * and /etc/group, opened inside its root (they may be hostile). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "image/source.h"
#include "launch/launch-int.h"
#include "launch/launch.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* KEY=VAL replaces an earlier KEY; a bare KEY takes launch's own value
 * when the operator wrote it (-e KEY, as docker's), and is dropped when
 * an image brings it: an image's Env must never read the operator's
 * environment (its secrets, SSH_AUTH_SOCK: outside attack, F3). */
static void env_set(struct launch_plan *p, const char *kv, bool operator)
{
	const char *eq = strchr(kv, '=');
	_cleanup_free_ char *own = NULL;

	if (!eq && !operator)
		return;
	if (!eq) {
		const char *v = getenv(kv);
		if (!v)
			return;
		own = xasprintf("%s=%s", kv, v);
		kv = own;
		eq = strchr(kv, '=');
	}
	size_t klen = (size_t)(eq - kv) + 1;
	for (size_t i = 0; i < p->n_env; i++) {
		if (strncmp(p->env[i], kv, klen) == 0) {
			free(p->env[i]);
			p->env[i] = xstrdup(kv);
			return;
		}
	}
	push(&p->env, &p->n_env, kv);
}

static int make_args(struct launch_plan *p, struct hk_err *err)
{
	const struct launch_opts *o = p->o;
	const struct img_config *c = p->image;

	if (o->entrypoint && *o->entrypoint)
		push(&p->args, &p->n_args, o->entrypoint);
	else if (!o->entrypoint && c)
		for (size_t i = 0; i < c->n_entrypoint; i++)
			push(&p->args, &p->n_args, c->entrypoint[i]);
	if (o->n_args)
		for (size_t i = 0; i < o->n_args; i++)
			push(&p->args, &p->n_args, o->args[i]);
	else if (c && !o->entrypoint)
		for (size_t i = 0; i < c->n_cmd; i++)
			push(&p->args, &p->n_args, c->cmd[i]);
	else if (!c && !o->entrypoint)
		push(&p->args, &p->n_args, "sh");
	if (p->n_args == 0)
		return hk_fail(err, 0,
			       "no command: the image has no Entrypoint or Cmd; give one after "
			       "SOURCE");
	return 0;
}

/* The container's /etc/passwd or /etc/group, read here, on the host,
 * before the container exists: resolved in its root, and only if it is a
 * regular file (a fifo would block the launch, a device be read as
 * root: a disk, the operator's terminal), at most 1 MiB. NULL with err
 * when it is not there (errnum ENOENT) or not that. */
static char *read_in_root(const char *rootfs, const char *path, struct hk_err *err)
{
	_cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	size_t len;

	if (root < 0)
		return hk_fail(err, errno, "open %s", rootfs), NULL;
	struct hk_err e = {0};
	_cleanup_close_ int fd =
		img_open_regular(root, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, &st, &e);
	char *text = fd < 0 ? NULL : hk_read_fd(fd, path, 1 << 20, &len, &e);
	if (!text)
		hk_fail(err, e.errnum, "the container's %s", e.msg);
	return text;
}

/* Not there is as empty; anything else that kept it from being read is
 * an error (NULL text and -1). */
static int read_db(const char *rootfs, const char *path, char **text, struct hk_err *err)
{
	struct hk_err e = {0};

	*text = read_in_root(rootfs, path, &e);
	if (*text || e.errnum == ENOENT)
		return 0;
	*err = e;
	return -1;
}

/* The numeric fields 2 and 3 of the line of NAME (or of id in field 2 when
 * name is NULL) in a passwd or group file. */
static int lookup(const char *text, const char *name, uint32_t id, uint32_t *f2, uint32_t *f3)
{
	for (const char *l = text; l && *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char line[512];
		if (len < sizeof(line)) {
			memcpy(line, l, len);
			line[len] = '\0';
			char *save = NULL, *n = strtok_r(line, ":", &save);
			char *x = n ? strtok_r(NULL, ":", &save) : NULL;
			char *a = x ? strtok_r(NULL, ":", &save) : NULL;
			char *b = a ? strtok_r(NULL, ":", &save) : NULL;
			(void)x;
			if (a && ((name && strcmp(n, name) == 0) ||
				  (!name && strtoul(a, NULL, 10) == id))) {
				*f2 = (uint32_t)strtoul(a, NULL, 10);
				if (f3)
					*f3 = b ? (uint32_t)strtoul(b, NULL, 10) : 0;
				return 0;
			}
		}
		l = end ? end + 1 : NULL;
	}
	return -1;
}

static int resolve_user(struct launch_plan *p, const char *spec, struct hk_err *err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	_cleanup_free_ char *passwd = NULL;
	bool has_gid;

	int r = launch_parse_user(spec, &p->uid, &p->gid, &has_gid, err);
	if (r < 0)
		return -1;
	/* A name must be found; a number's group is looked up where the file
	 * can be read, else 0 (as husk run does). */
	struct hk_err perr = {0};
	if ((r == 1 || !has_gid) && read_db(p->rootfs, "/etc/passwd", &passwd, &perr) < 0) {
		if (r == 1) {
			*err = perr;
			return hk_err_prefix(err, "user \"%s\"", spec);
		}
		hk_debug("launch: %s: its group is 0", perr.msg);
	}
	char *group = strchr(copy, ':');
	if (group)
		*group++ = '\0';
	if (r == 1 && lookup(passwd, copy, 0, &p->uid, &p->gid) < 0)
		return hk_fail(err, 0, "user \"%s\": no such user in the container's /etc/passwd",
			       copy);
	if (r == 0 && !has_gid && lookup(passwd, NULL, p->uid, &p->uid, &p->gid) < 0)
		p->gid = 0;
	if (group && r == 1 && strspn(group, "0123456789") != strlen(group)) {
		_cleanup_free_ char *groups = NULL;
		if (read_db(p->rootfs, "/etc/group", &groups, err) < 0)
			return hk_err_prefix(err, "group \"%s\"", group);
		if (lookup(groups, group, 0, &p->gid, NULL) < 0)
			return hk_fail(err, 0,
				       "group \"%s\": no such group in the container's "
				       "/etc/group",
				       group);
	} else if (group && r == 1) {
		p->gid = (uint32_t)strtoul(group, NULL, 10);
	}
	return 0;
}

int launch_process(struct launch_plan *p, struct hk_err *err)
{
	const struct launch_opts *o = p->o;
	const struct img_config *c = p->image;

	if (make_args(p, err) < 0)
		return -1;
	env_set(p, DEFAULT_PATH, false);
	for (size_t i = 0; c && i < c->n_env; i++)
		env_set(p, c->env[i], false);
	if (o->tty)
		env_set(p, "TERM=xterm", false);
	for (size_t i = 0; i < o->n_env; i++)
		env_set(p, o->env[i], true);
	p->cwd = o->workdir ? o->workdir : (c && c->workdir && *c->workdir ? c->workdir : "/");
	if (p->cwd[0] != '/')
		return hk_fail(err, 0, "working directory \"%s\": must be absolute", p->cwd);
	const char *user = o->user ? o->user : (c && c->user && *c->user ? c->user : "0");
	return resolve_user(p, user, err);
}

void launch_plan_clear(struct launch_plan *p)
{
	for (size_t i = 0; i < p->n_args; i++)
		free(p->args[i]);
	free(p->args);
	for (size_t i = 0; i < p->n_env; i++)
		free(p->env[i]);
	free(p->env);
	for (size_t i = 0; i < p->n_ports; i++)
		free(p->ports[i]);
	free(p->ports);
	for (size_t i = 0; i < p->n_exposed; i++)
		free(p->exposed[i]);
	free(p->exposed);
	if (p->netns)
		close(p->netns_fd);
	free(p->netns);
}
