/* What a container is, for info, list and ps: its state read without the
 * lock (state.json is replaced whole), its status, its owner, its
 * processes. */
#include "runtime/container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/passwd.h"
#include "common/xalloc.h"
#include "runtime/state.h"

static char *owner_name(const struct hk_state_dir *sd)
{
	/* list asks for every container, almost always of one owner. */
	static uid_t cached_uid = (uid_t)-1;
	static char *cached;
	struct stat st;
	char *name = NULL;

	if (sd->has_owner)
		st.st_uid = sd->owner;
	else if (fstat(sd->fd, &st) < 0)
		return xstrdup("");
	if (cached && st.st_uid == cached_uid)
		return xstrdup(cached);
	if (passwd_lookup("/etc/passwd", st.st_uid, &name, NULL) < 0 || !name)
		name = xasprintf("#%u", (unsigned)st.st_uid);
	free(cached);
	cached = xstrdup(name);
	cached_uid = st.st_uid;
	return name;
}

static int info_locked(struct hk_state_dir *sd, struct hk_state *st, void *data, struct hk_err *err)
{
	struct hk_container_info *info = data;
	enum hk_status status = state_status(sd, st);

	(void)err;
	info->id = xstrdup(st->id);
	info->pid = status == HK_STOPPED ? 0 : st->pid;
	info->recorded_pid = st->pid;
	info->start_time = st->start_time;
	info->status = state_status_name(status);
	info->bundle = TAKE_PTR(st->bundle);
	info->rootfs = TAKE_PTR(st->rootfs);
	info->created = TAKE_PTR(st->created);
	info->owner = owner_name(sd);
	info->annotations = TAKE_PTR(st->annotations);
	info->n_annotations = st->n_annotations;
	st->n_annotations = 0;
	return 0;
}

int container_info(const char *root, const char *id, struct hk_container_info *info,
		   struct hk_err *err)
{
	memset(info, 0, sizeof(*info));
	return state_with(root, id, false, info_locked, info, err);
}

int container_list(const char *root, struct hk_container_info **infos, size_t *n,
		   struct hk_err *err)
{
	char **ids = NULL;
	size_t count = 0;

	*infos = NULL;
	*n = 0;
	_cleanup_close_ int rootfd = state_root_open(root, false, err);
	if (rootfd < 0)
		return err->errnum == ENOENT ? 0 : -1;
	if (state_list_ids(rootfd, &ids, &count, err) < 0)
		return -1;
	*infos = xcalloc(count, sizeof(**infos));
	for (size_t i = 0; i < count; i++) {
		struct hk_state_dir sd = {.fd = -1, .rootfd = -1};
		struct hk_state *st = NULL;
		/* A container deleted or half-created meanwhile is left out. */
		if (state_validate_id(ids[i], NULL) == 0 &&
		    state_dir_peek(rootfd, root, ids[i], &sd, NULL) == 0 &&
		    (st = state_read(&sd, NULL)) && info_locked(&sd, st, &(*infos)[*n], NULL) == 0)
			(*n)++;
		state_free(st);
		state_dir_close(&sd);
		free(ids[i]);
	}
	free(ids);
	return 0;
}

struct pids_out {
	pid_t *pids;
	size_t n;
};

static int pids_locked(struct hk_state_dir *sd, struct hk_state *st, void *data, struct hk_err *err)
{
	struct pids_out *out = data;
	enum hk_status status = state_status(sd, st);

	/* A stopped container has no processes: an empty list (as runc). */
	if (status == HK_STOPPED)
		return 0;
	if (status != HK_CREATED && status != HK_RUNNING && status != HK_PAUSED)
		return hk_fail(err, 0, "container %s is %s", st->id, state_status_name(status));
	if (st->cgroup && st->cgroup->n_dirs > 0)
		return cg_pids(st->cgroup, &out->pids, &out->n, err);
	/* No cgroup (an unprivileged user without a delegated one): the first
	 * process stands for the container. */
	out->pids = xmalloc(sizeof(pid_t));
	out->pids[0] = st->pid;
	out->n = 1;
	return 0;
}

int container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct hk_err *err)
{
	struct pids_out out = {0};
	int r = state_with(root, id, false, pids_locked, &out, err);

	*pids = out.pids;
	*n = out.n;
	return r;
}
