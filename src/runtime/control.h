/* A live container's cgroup: pause / resume, update, events. */
#ifndef HUSK_RUNTIME_CONTROL_H
#define HUSK_RUNTIME_CONTROL_H

#include <stdbool.h>

/* The figures events reports are the cgroup layer's (struct hk_cg_stats),
 * handed on as they are: runtime's callers take them from here. */
#include "cgroup/cgroup.h"

struct hk_err;
struct hk_resources;

/* Freeze (pause) or thaw (resume) every process of the container. */
int container_pause(const char *root, const char *id, bool pause, struct hk_err *err);
/* Change the resource limits r sets, leaving the others as they are. */
int container_update(const char *root, const char *id, const struct hk_resources *r,
		     struct hk_err *err);

/* What events reports, to the caller's printing; a negative return from
 * either ends the stream (say, stdout closed). */
struct hk_events_cb {
	int (*stats)(const struct hk_cg_stats *st, void *data);
	int (*oom)(void *data);
	void *data;
};

/* once: one stats report. Otherwise stats every interval_ms and each OOM
 * kill as it happens, until the container's process exits. */
int container_events(const char *root, const char *id, int interval_ms, bool once,
		     const struct hk_events_cb *cb, struct hk_err *err);

#endif
