#include "linux/sched.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common/err.h"
#include "common/syscalls.h"
#include "spec/spec.h"

_Static_assert(sizeof(cpu_set_t) == sizeof(((struct hk_idset *)0)->bits),
	       "an idset is a cpu_set_t");

/* sched_setattr(2)'s struct sched_attr, SCHED_ATTR_SIZE_VER1 (Linux 5.3):
 * the utilization clamps stay 0, as runc leaves them (the spec has no
 * values for them). */
struct sched_attr_v1 {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
	uint32_t sched_util_min;
	uint32_t sched_util_max;
};

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_SHIFT 13

/* "what: strerror (hint)": the reason first, then what may cause it. */
static int fail_hint(struct hk_err *err, int e, const char *what, const char *hint)
{
	hk_fail(err, 0, "%s: %s%s", what, strerror(e), hint);
	err->errnum = e;
	return -1;
}

int sched_apply_mempolicy(const struct hk_mempolicy *m, struct hk_err *err)
{
	if (!m->set)
		return 0;
	/* maxnode counts bits, plus one (set_mempolicy(2), BUGS). */
	int r = m->nodes.set
			? hk_set_mempolicy(m->mode | (int)m->flags,
					   (const unsigned long *)m->nodes.bits, HK_IDSET_MAX + 1)
			: hk_set_mempolicy(m->mode | (int)m->flags, NULL, 0);
	if (r < 0)
		return fail_hint(err, errno, "linux.memoryPolicy: set_mempolicy",
				 errno == EINVAL ? " (a node offline, or not in the cpuset's mems?)"
						 : "");
	return 0;
}

int sched_apply_affinity(const struct hk_idset *cpus, const char *what, struct hk_err *err)
{
	cpu_set_t set;

	if (cpus)
		memcpy(&set, cpus->bits, sizeof(set));
	else
		memset(&set, 0xff, sizeof(set));
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return fail_hint(err, errno, what,
				 errno == EINVAL ? " (no CPU of it online and in the cpuset?)"
						 : "");
	return 0;
}

static const char *sched_hint(const struct hk_sched *s, int e)
{
	bool rt = s->policy == SCHED_FIFO || s->policy == SCHED_RR;

	if (e == EPERM && rt)
		return " (needs CAP_SYS_NICE, and under cgroup v1 a realtime budget: "
		       "linux.resources.cpu.realtimeRuntime)";
	if (e == EPERM)
		return " (needs CAP_SYS_NICE; SCHED_DEADLINE also all CPUs of the cpuset)";
	if (e == EBUSY)
		return " (the deadline bandwidth is not available)";
	return "";
}

int sched_apply_policy(const struct hk_sched *s, struct hk_err *err)
{
	struct sched_attr_v1 a;

	if (!s->set)
		return 0;
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.sched_policy = s->policy;
	a.sched_flags = s->flags;
	a.sched_nice = s->nice;
	a.sched_priority = s->priority;
	a.sched_runtime = s->runtime;
	a.sched_deadline = s->deadline;
	a.sched_period = s->period;
	if (hk_sched_setattr(0, &a, 0) < 0)
		return fail_hint(err, errno, "process.scheduler: sched_setattr",
				 sched_hint(s, errno));
	return 0;
}

int sched_apply_ioprio(const struct hk_ioprio *io, struct hk_err *err)
{
	if (!io->set)
		return 0;
	if (hk_ioprio_set(IOPRIO_WHO_PROCESS, 0, io->klass << IOPRIO_CLASS_SHIFT | io->level) < 0)
		return fail_hint(err, errno, "process.ioPriority: ioprio_set",
				 errno == EPERM ? " (the realtime class needs CAP_SYS_ADMIN)" : "");
	return 0;
}
