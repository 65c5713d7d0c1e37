/* Controlling a live container through its cgroup: pause and resume
 * (the freezer), update (resource limits), events (usage and OOM kills). */
#include "runtime/control.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "runtime/state.h"

static int need_cgroup(const struct hk_state *st, const char *what, struct hk_err *err)
{
	if (!st->cgroup || st->cgroup->n_dirs == 0)
		return hk_fail(err, 0, "cannot %s container %s: it has no cgroup of its own", what,
			       st->id);
	return 0;
}

static int pause_locked(struct hk_state_dir *sd, struct hk_state *st, void *data,
			struct hk_err *err)
{
	bool pause = *(bool *)data;
	enum hk_status status = state_status(sd, st);

	if (pause && status != HK_RUNNING && status != HK_CREATED)
		return hk_fail(err, 0, "cannot pause container %s: it is %s", st->id,
			       state_status_name(status));
	if (!pause && status != HK_PAUSED)
		return hk_fail(err, 0, "cannot resume container %s: it is %s, not paused", st->id,
			       state_status_name(status));
	if (need_cgroup(st, pause ? "pause" : "resume", err) < 0)
		return -1;
	if (cg_freeze(st->cgroup, pause, err) < 0)
		return hk_err_prefix(err, "%s container %s", pause ? "pause" : "resume", st->id);
	return 0;
}

int container_pause(const char *root, const char *id, bool pause, struct hk_err *err)
{
	return state_with(root, id, true, pause_locked, &pause, err);
}

static int update_locked(struct hk_state_dir *sd, struct hk_state *st, void *data,
			 struct hk_err *err)
{
	const struct hk_resources *r = *(const struct hk_resources **)data;
	enum hk_status status = state_status(sd, st);

	if (status == HK_STOPPED || status == HK_CREATING)
		return hk_fail(err, 0, "cannot update container %s: it is %s", st->id,
			       state_status_name(status));
	if (need_cgroup(st, "update", err) < 0)
		return -1;
	return cg_update(st->cgroup, r, err);
}

int container_update(const char *root, const char *id, const struct hk_resources *r,
		     struct hk_err *err)
{
	return state_with(root, id, true, update_locked, &r, err);
}

/* What events needs of the state, kept past the lock. */
struct watch {
	struct hk_cgroup *cg;
	int pidfd;
};

static int watch_locked(struct hk_state_dir *sd, struct hk_state *st, void *data,
			struct hk_err *err)
{
	struct watch *w = data;
	enum hk_status status = state_status(sd, st);

	if (status == HK_STOPPED || status == HK_CREATING)
		return hk_fail(err, 0, "container %s is %s", st->id, state_status_name(status));
	if (need_cgroup(st, "watch", err) < 0)
		return -1;
	w->pidfd = state_pidfd(sd, st, err);
	if (w->pidfd < 0)
		return -1;
	w->cg = st->cgroup;
	st->cgroup = NULL;
	return 0;
}

static int report_stats(const struct hk_cgroup *cg, const struct hk_events_cb *cb,
			struct hk_err *err)
{
	struct hk_cg_stats s;
	int r = cg_stats(cg, &s, err);
	if (r == 0)
		r = cb->stats(&s, cb->data);
	cg_stats_clear(&s);
	return r;
}

/* Stats every interval and a line per OOM kill, until the container's
 * first process exits (the stream then ends, as runc's does). */
static int watch_loop(const struct watch *w, int interval_ms, const struct hk_events_cb *cb,
		      struct hk_err *err)
{
	_cleanup_close_ int oom = cg_oom_open(w->cg, NULL);
	uint64_t ooms = 0, now = 0;
	struct pollfd p[2] = {{.fd = w->pidfd, .events = POLLIN}, {.fd = oom, .events = POLLIN}};

	if (oom >= 0)
		cg_oom_count(w->cg, oom, &ooms);
	for (;;) {
		int n = poll(p, oom >= 0 ? 2 : 1, interval_ms);
		/* An OOM kill of the first process ends it: on v2 the count in
		 * memory.events may be updated after the exit is seen, so a
		 * last look goes with the exit (both at once, too). */
		if (n > 0 && (p[0].revents & POLLIN) && oom >= 0)
			p[1].revents |= POLLIN;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hk_fail(err, errno, "poll");
		if (n > 0 && (p[1].revents & POLLIN)) {
			now = ooms;
			if (cg_oom_count(w->cg, oom, &now) == 0 && now > ooms) {
				ooms = now;
				if (cb->oom(cb->data) < 0)
					return 0;
			}
		}
		if (n > 0 && (p[0].revents & POLLIN))
			return 0;
		if (n == 0 && report_stats(w->cg, cb, err) < 0)
			return err->msg[0] ? -1 : 0;
	}
}

int container_events(const char *root, const char *id, int interval_ms, bool once,
		     const struct hk_events_cb *cb, struct hk_err *err)
{
	struct watch w = {NULL, -1};

	if (state_with(root, id, false, watch_locked, &w, err) < 0)
		return -1;
	int r = once ? report_stats(w.cg, cb, err) : watch_loop(&w, interval_ms, cb, err);
	close(w.pidfd);
	cg_free(w.cg);
	return r;
}
