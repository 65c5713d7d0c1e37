/* How the kernel schedules the process: process.scheduler, ioPriority,
 * execCPUAffinity and linux.memoryPolicy, decoded and checked here, so that
 * a value the kernel would refuse is an error of create, naming the field,
 * before anything is made. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "spec/decode.h"

struct name_value {
	const char *name;
	long value;
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* sched(7); SCHED_ISO (4) is reserved in Linux and never implemented. */
static const struct name_value policies[] = {
	{"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
	{"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
};

/* sched_setattr(2)'s sched_flags (linux/sched.h). */
static const struct name_value sched_flags[] = {
	{"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
	{"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
	{"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
	{"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

static const struct name_value io_classes[] = {
	{"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};

/* set_mempolicy(2), linux/mempolicy.h */
static const struct name_value mpol_modes[] = {
	{"MPOL_DEFAULT", 0},
	{"MPOL_PREFERRED", 1},
	{"MPOL_BIND", 2},
	{"MPOL_INTERLEAVE", 3},
	{"MPOL_LOCAL", 4},
	{"MPOL_PREFERRED_MANY", 5},
	{"MPOL_WEIGHTED_INTERLEAVE", 6},
};
#define MPOL_F_STATIC 0x8000u
#define MPOL_F_RELATIVE 0x4000u
static const struct name_value mpol_flags[] = {
	{"MPOL_F_NUMA_BALANCING", 0x2000},
	{"MPOL_F_RELATIVE_NODES", MPOL_F_RELATIVE},
	{"MPOL_F_STATIC_NODES", MPOL_F_STATIC},
};

static const char *mode_names[N_OF(mpol_modes)];
static const char *flag_names[N_OF(mpol_flags)];

const char *const *spec_mempolicy_modes(size_t *n)
{
	for (size_t i = 0; i < N_OF(mpol_modes); i++)
		mode_names[i] = mpol_modes[i].name;
	*n = N_OF(mpol_modes);
	return mode_names;
}

const char *const *spec_mempolicy_flags(size_t *n)
{
	for (size_t i = 0; i < N_OF(mpol_flags); i++)
		flag_names[i] = mpol_flags[i].name;
	*n = N_OF(mpol_flags);
	return flag_names;
}

static int lookup(const struct name_value *t, size_t n, const char *name, long *out)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0) {
			*out = t[i].value;
			return 0;
		}
	return -1;
}

/* A required string from a table: obj.key must be one of t's names. */
static int get_name(hk_json *obj, const char *path, const char *key, const struct name_value *t,
		    size_t n, long *out, struct hk_err *err)
{
	_cleanup_free_ char *name = NULL;
	int r = hk_json_get_str(obj, path, key, &name, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "%s.%s: missing", path, key);
	if (lookup(t, n, name, out) < 0)
		return hk_fail(err, 0, "%s.%s: unknown \"%s\"", path, key, name);
	return 0;
}

/* An array of flag names ORed together. */
static int get_flags(hk_json *obj, const char *path, const struct name_value *t, size_t n,
		     uint64_t *out, struct hk_err *err)
{
	_cleanup_free_ char **names = NULL;
	size_t count = 0;
	int r = hk_json_get_strv(obj, path, "flags", &names, &count, err);
	if (r <= 0)
		return r;
	r = 0;
	for (size_t i = 0; i < count; i++) {
		long v;
		if (lookup(t, n, names[i], &v) < 0 && r == 0)
			r = hk_fail(err, 0, "%s.flags[%zu]: unknown \"%s\"", path, i, names[i]);
		else if (r == 0)
			*out |= (uint64_t)v;
		free(names[i]);
	}
	return r;
}

static int number(const char **p, const char *path, const char *text, unsigned long *out,
		  struct hk_err *err)
{
	while (**p == ' ')
		(*p)++;
	if (!isdigit((unsigned char)**p))
		return hk_fail(err, 0, "%s: \"%s\" is not a list such as \"0-3,7\"", path, text);
	errno = 0;
	char *end;
	*out = strtoul(*p, &end, 10);
	if (errno || *out >= HK_IDSET_MAX)
		return hk_fail(err, 0, "%s: \"%s\": numbers go up to %d here", path, text,
			       HK_IDSET_MAX - 1);
	*p = end;
	while (**p == ' ')
		(*p)++;
	return 0;
}

int spec_idset_parse(const char *text, const char *path, struct hk_idset *out, struct hk_err *err)
{
	const char *p = text;

	memset(out, 0, sizeof(*out));
	while (*p == ' ')
		p++;
	if (!*p)
		return 0; /* empty: no set */
	for (;;) {
		unsigned long lo, hi;
		if (number(&p, path, text, &lo, err) < 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			if (number(&p, path, text, &hi, err) < 0)
				return -1;
			if (hi < lo)
				return hk_fail(err, 0, "%s: \"%s\": range %lu-%lu goes down", path,
					       text, lo, hi);
		}
		for (unsigned long i = lo; i <= hi; i++)
			out->bits[i / 64] |= 1ULL << (i % 64);
		if (*p == '\0')
			break;
		if (*p != ',')
			return hk_fail(err, 0, "%s: \"%s\" is not a list such as \"0-3,7\"", path,
				       text);
		p++;
	}
	out->set = true;
	return 0;
}

static int get_idset(hk_json *obj, const char *path, const char *key, struct hk_idset *out,
		     struct hk_err *err)
{
	_cleanup_free_ char *text = NULL;
	char where[96];
	int r = hk_json_get_str(obj, path, key, &text, err);
	if (r <= 0)
		return r;
	return spec_idset_parse(text, hk_json_path(where, sizeof(where), path, key), out, err);
}

/* SCHED_DEADLINE's parameters, as sched_setattr(2) checks them (runtime is
 * at least 1024 ns, the kernel's resolution). */
static int check_deadline(const struct hk_sched *s, struct hk_err *err)
{
	const char *p = "process.scheduler";

	if (s->deadline == 0)
		return hk_fail(err, 0, "%s.deadline: SCHED_DEADLINE needs one (ns)", p);
	if (s->runtime < 1024)
		return hk_fail(err, 0, "%s.runtime: SCHED_DEADLINE needs at least 1024 ns", p);
	if (s->runtime > s->deadline)
		return hk_fail(err, 0, "%s.runtime: %llu is above the deadline %llu", p,
			       (unsigned long long)s->runtime, (unsigned long long)s->deadline);
	if (s->period && s->period < s->deadline)
		return hk_fail(err, 0, "%s.period: %llu is below the deadline %llu", p,
			       (unsigned long long)s->period, (unsigned long long)s->deadline);
	return 0;
}

/* As runc's validation: nice for the fair policies, priority for the
 * realtime ones (where it is required, 1..99, sched(7)). */
static int check_sched(const struct hk_sched *s, bool has_nice, bool has_prio, struct hk_err *err)
{
	const char *p = "process.scheduler";
	bool fair = s->policy == 0 || s->policy == 3, rt = s->policy == 1 || s->policy == 2;

	if (s->policy == 4)
		return hk_fail(err, 0, "%s.policy: SCHED_ISO is not implemented by Linux", p);
	if (has_nice && s->nice && !fair)
		return hk_fail(err, 0, "%s.nice: only for SCHED_OTHER and SCHED_BATCH", p);
	if (has_prio && s->priority && !rt)
		return hk_fail(err, 0, "%s.priority: only for SCHED_FIFO and SCHED_RR", p);
	if (rt && (s->priority < 1 || s->priority > 99))
		return hk_fail(err, 0, "%s.priority: %s needs one from 1 to 99", p,
			       s->policy == 1 ? "SCHED_FIFO" : "SCHED_RR");
	return s->policy == 6 ? check_deadline(s, err) : 0;
}

static int decode_scheduler(hk_json *proc, struct hk_sched *s, struct hk_err *err)
{
	const char *p = "process.scheduler";
	hk_json *o;
	int64_t v = 0;
	long policy;

	int r = hk_json_get_obj(proc, "process", "scheduler", &o, err);
	if (r <= 0)
		return r;
	if (get_name(o, p, "policy", policies, N_OF(policies), &policy, err) < 0)
		return -1;
	s->policy = (uint32_t)policy;
	int has_nice = hk_json_get_i64(o, p, "nice", -20, 19, &v, err);
	if (has_nice < 0)
		return -1;
	s->nice = (int32_t)v;
	v = 0;
	int has_prio = hk_json_get_i64(o, p, "priority", 0, INT32_MAX, &v, err);
	if (has_prio < 0)
		return -1;
	s->priority = (uint32_t)v;
	if (get_flags(o, p, sched_flags, N_OF(sched_flags), &s->flags, err) < 0 ||
	    hk_json_get_u64(o, p, "runtime", &s->runtime, err) < 0 ||
	    hk_json_get_u64(o, p, "deadline", &s->deadline, err) < 0 ||
	    hk_json_get_u64(o, p, "period", &s->period, err) < 0)
		return -1;
	if (check_sched(s, has_nice > 0, has_prio > 0, err) < 0)
		return -1;
	s->set = true;
	return 0;
}

static int decode_ioprio(hk_json *proc, struct hk_ioprio *io, struct hk_err *err)
{
	const char *p = "process.ioPriority";
	hk_json *o;
	int64_t v = 0;
	long klass;

	int r = hk_json_get_obj(proc, "process", "ioPriority", &o, err);
	if (r <= 0)
		return r;
	if (get_name(o, p, "class", io_classes, N_OF(io_classes), &klass, err) < 0 ||
	    hk_json_get_i64(o, p, "priority", 0, 7, &v, err) < 0)
		return -1;
	io->klass = (int)klass;
	io->level = (int)v;
	io->set = true;
	return 0;
}

static int decode_affinity(hk_json *proc, struct hk_process *pr, struct hk_err *err)
{
	const char *p = "process.execCPUAffinity";
	hk_json *o;

	int r = hk_json_get_obj(proc, "process", "execCPUAffinity", &o, err);
	if (r <= 0)
		return r;
	if (get_idset(o, p, "initial", &pr->cpus_initial, err) < 0 ||
	    get_idset(o, p, "final", &pr->cpus_final, err) < 0)
		return -1;
	return 0;
}

int spec_decode_sched(hk_json *proc, struct hk_process *p, struct hk_err *err)
{
	if (decode_scheduler(proc, &p->sched, err) < 0 ||
	    decode_ioprio(proc, &p->ioprio, err) < 0 || decode_affinity(proc, p, err) < 0)
		return -1;
	return 0;
}

/* The nodes each mode takes (set_mempolicy(2)): none for DEFAULT and
 * LOCAL, some for BIND and the interleaving modes, any for PREFERRED
 * (none: the local node). */
static int check_mempolicy(const struct hk_mempolicy *m, struct hk_err *err)
{
	const char *p = "linux.memoryPolicy";

	if ((m->mode == 0 || m->mode == 4) && m->nodes.set)
		return hk_fail(err, 0, "%s.nodes: %s takes no nodes", p,
			       m->mode ? "MPOL_LOCAL" : "MPOL_DEFAULT");
	if (m->mode != 0 && m->mode != 4 && m->mode != 1 && !m->nodes.set)
		return hk_fail(err, 0, "%s.nodes: %s needs at least one node", p,
			       mpol_modes[m->mode].name);
	if ((m->flags & MPOL_F_STATIC) && (m->flags & MPOL_F_RELATIVE))
		return hk_fail(err, 0,
			       "%s.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude "
			       "each other",
			       p);
	if (m->mode == 0 && m->flags)
		return hk_fail(err, 0, "%s.flags: MPOL_DEFAULT takes no flags", p);
	return 0;
}

int spec_decode_mempolicy(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	const char *p = "linux.memoryPolicy";
	struct hk_mempolicy *m = &s->mempolicy;
	uint64_t flags = 0;
	hk_json *o;
	long mode;

	int r = hk_json_get_obj(lx, "linux", "memoryPolicy", &o, err);
	if (r <= 0)
		return r;
	if (get_name(o, p, "mode", mpol_modes, N_OF(mpol_modes), &mode, err) < 0 ||
	    get_idset(o, p, "nodes", &m->nodes, err) < 0 ||
	    get_flags(o, p, mpol_flags, N_OF(mpol_flags), &flags, err) < 0)
		return -1;
	m->mode = (int)mode;
	m->flags = (unsigned int)flags;
	if (check_mempolicy(m, err) < 0)
		return -1;
	m->set = true;
	return 0;
}
