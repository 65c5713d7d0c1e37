/* The systemd manager's unit properties, as runc sends them (pure: no bus,
 * no files): the scope's name and slice from linux.cgroupsPath, the
 * properties of a new scope, the org.systemd.property.* annotations, and
 * what of linux.resources and the device rules systemd can express. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/backend.h"
#include "cgroup/systemd.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/resources.h"
#include "spec/spec.h"

#define ANNOTATION_PREFIX "org.systemd.property."

void sysd_props_clear(struct sysd_props *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct sysd_prop *v = &p->v[i];
		free(v->name);
		free(v->s);
		for (size_t k = 0; k < v->n_strv; k++)
			free(v->strv[k]);
		free(v->strv);
		free(v->au);
		free(v->ay);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static struct sysd_prop *add(struct sysd_props *p, const char *name, const char *sig)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	struct sysd_prop *v = &p->v[p->n++];
	memset(v, 0, sizeof(*v));
	v->name = xstrdup(name);
	snprintf(v->sig, sizeof(v->sig), "%s", sig);
	return v;
}

void sysd_prop_str(struct sysd_props *p, const char *name, const char *value)
{
	add(p, name, "s")->s = xstrdup(value);
}

void sysd_prop_bool(struct sysd_props *p, const char *name, bool value)
{
	add(p, name, "b")->u = value;
}

void sysd_prop_u64(struct sysd_props *p, const char *name, uint64_t value)
{
	add(p, name, "t")->u = value;
}

void sysd_prop_pids(struct sysd_props *p, const char *name, const pid_t *pids, size_t n)
{
	struct sysd_prop *v = add(p, name, "au");
	v->au = xcalloc(n ? n : 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		v->au[i] = (uint32_t)pids[i];
	v->n_num = n;
}

bool sysd_prop_cpuset(struct sysd_props *p, const char *name, const char *list)
{
	uint8_t *bits = NULL;
	size_t n = 0;

	for (const char *s = list; *s;) {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;
		if (end == s)
			goto bad;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (end == s)
				goto bad;
		}
		if (hi < lo || hi > 65535)
			goto bad;
		if (hi / 8 + 1 > n) {
			bits = xrealloc(bits, hi / 8 + 1);
			memset(bits + n, 0, hi / 8 + 1 - n);
			n = hi / 8 + 1;
		}
		for (unsigned long c = lo; c <= hi; c++)
			bits[c / 8] |= (uint8_t)(1u << (c % 8));
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			goto bad;
	}
	struct sysd_prop *v = add(p, name, "ay");
	v->ay = bits ? bits : xzalloc(1);
	v->n_num = n;
	return true;
bad:
	free(bits);
	return false;
}

char *sysd_expand_slice(const char *slice, struct hk_err *err)
{
	static const char suffix[] = ".slice";
	size_t len = strlen(slice), slen = sizeof(suffix) - 1;

	if (len <= slen || strcmp(slice + len - slen, suffix) != 0 || strchr(slice, '/'))
		goto bad;
	if (strcmp(slice, "-.slice") == 0)
		return xstrdup("/");
	size_t base = len - slen;
	/* an empty component: "-a", "a-", "a--b" */
	if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--"))
		goto bad;
	/* "a-b.slice" -> "/a.slice/a-b.slice": each prefix up to a dash */
	char *out = xzalloc((base + 1) * (base + slen + 2));
	size_t o = 0;
	for (size_t i = 1; i <= base; i++)
		if (i == base || slice[i] == '-')
			o += (size_t)sprintf(out + o, "/%.*s%s", (int)i, slice, suffix);
	return out;
bad:
	hk_fail(err, 0, "invalid slice name: %s", slice);
	return NULL;
}

int sysd_parse_path(const char *cgroups_path, const char *id, char **slice, char **unit,
		    struct hk_err *err)
{
	*slice = *unit = NULL;
	if (!cgroups_path || !*cgroups_path) {
		*slice = xstrdup("system.slice");
		*unit = xasprintf("husk-%s.scope", id);
		return 0;
	}
	const char *c1 = strchr(cgroups_path, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || strchr(c2 + 1, ':'))
		return hk_fail(err, 0,
			       "expected cgroupsPath to be of format \"slice:prefix:name\" for "
			       "systemd cgroups, got \"%s\" instead",
			       cgroups_path);
	*slice = c1 == cgroups_path ? xstrdup("system.slice")
				    : strndup(cgroups_path, (size_t)(c1 - cgroups_path));
	const char *name = c2 + 1;
	size_t nlen = strlen(name);
	if (nlen > 6 && strcmp(name + nlen - 6, ".slice") == 0)
		*unit = xstrdup(name);
	else
		*unit = xasprintf("%.*s-%s.scope", (int)(c2 - c1 - 1), c1 + 1, name);
	/* what systemd would refuse, and what would lead outside the slice */
	if (strchr(*unit, '/') || strlen(*unit) > 255) {
		hk_fail(err, 0, "cgroupsPath \"%s\": invalid unit name %s", cgroups_path, *unit);
		free(*slice);
		free(*unit);
		*slice = *unit = NULL;
		return -1;
	}
	return 0;
}

int sysd_props_scope(struct sysd_props *p, const char *id, const char *slice, pid_t pid,
		     int version, const struct hk_kv *annotations, size_t n_annotations,
		     struct hk_err *err)
{
	char *desc = xasprintf("husk container %s", id);
	sysd_prop_str(p, "Description", desc);
	free(desc);
	sysd_prop_str(p, "Slice", slice);
	sysd_prop_bool(p, "Delegate", true);
	sysd_prop_pids(p, "PIDs", &pid, 1);
	sysd_prop_bool(p, "MemoryAccounting", true);
	sysd_prop_bool(p, "CPUAccounting", true);
	sysd_prop_bool(p, version == 2 ? "IOAccounting" : "BlockIOAccounting", true);
	sysd_prop_bool(p, "TasksAccounting", true);
	sysd_prop_bool(p, "DefaultDependencies", false);
	for (size_t i = 0; i < n_annotations; i++) {
		const char *k = annotations[i].key;
		if (strncmp(k, ANNOTATION_PREFIX, sizeof(ANNOTATION_PREFIX) - 1) != 0)
			continue;
		if (sysd_prop_annotation(p, k + sizeof(ANNOTATION_PREFIX) - 1, annotations[i].value,
					 err) < 0)
			return hk_err_prefix(err, "annotation %s", k);
	}
	return 0;
}

/* --- annotations -------------------------------------------------------- */

/* The few properties of a signed integer type a plain number may set. */
static bool signed_property(const char *name)
{
	static const char *const names[] = {"OOMScoreAdjust",      "Nice",
					    "CPUSchedulingPolicy", "CPUSchedulingPriority",
					    "IOSchedulingClass",   "IOSchedulingPriority"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* GVariant's type keywords and @-prefixes for the basic numbers. */
static const char *number_sig(const char **v)
{
	static const struct {
		const char *word, *sig;
	} kw[] = {{"uint64 ", "t"}, {"int64 ", "x"}, {"uint32 ", "u"}, {"int32 ", "i"},
		  {"uint16 ", "q"}, {"int16 ", "n"}, {"byte ", "y"},   {"double ", "d"},
		  {"@t ", "t"},     {"@x ", "x"},    {"@u ", "u"},     {"@i ", "i"},
		  {"@q ", "q"},     {"@n ", "n"},    {"@y ", "y"},     {"@d ", "d"}};
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		size_t l = strlen(kw[i].word);
		if (strncmp(*v, kw[i].word, l) == 0) {
			*v += l;
			return kw[i].sig;
		}
	}
	return NULL;
}

static bool whole_number(const char *s, bool neg_ok, uint64_t *out)
{
	char *end;
	if (!*s || isspace((unsigned char)*s) || (*s == '-' && !neg_ok))
		return false;
	errno = 0;
	if (*s == '-') {
		long long v = strtoll(s, &end, 0);
		*out = (uint64_t)v;
	} else {
		*out = strtoull(s, &end, 0);
	}
	return errno == 0 && *end == '\0';
}

/* 'text' or "text", without escapes. */
static char *quoted(const char *v)
{
	size_t len = strlen(v);
	if (len < 2 || (v[0] != '\'' && v[0] != '"') || v[len - 1] != v[0] || strchr(v, '\\'))
		return NULL;
	if (memchr(v + 1, v[0], len - 2))
		return NULL;
	return strndup(v + 1, len - 2);
}

static int check_name(const char *name, struct hk_err *err)
{
	size_t len = strlen(name);
	if (len < 3)
		return hk_fail(err, 0, "name incorrect: too short");
	for (size_t i = 0; i < len; i++)
		if (!isascii((unsigned char)name[i]) || !isalpha((unsigned char)name[i]))
			return hk_fail(err, 0, "name incorrect: contains non-alphabetic character");
	return 0;
}

/* "TimeoutStopSec" -> "TimeoutStopUSec" (a lowercase letter before Sec). */
static char *usec_name(const char *name)
{
	size_t len = strlen(name);
	if (len < 4 || strcmp(name + len - 3, "Sec") != 0 || !islower((unsigned char)name[len - 4]))
		return NULL;
	return xasprintf("%.*sUSec", (int)(len - 3), name);
}

static int typed_number(struct sysd_props *p, const char *name, const char *sig, const char *v,
			struct hk_err *err)
{
	if (strcmp(sig, "d") == 0) {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		if (errno || end == v || *end)
			return hk_fail(err, 0, "value \"%s\": not a number", v);
		add(p, name, "d")->d = d;
		return 0;
	}
	uint64_t u;
	bool is_signed = strchr("xin", sig[0]) != NULL;
	if (!whole_number(v, is_signed, &u))
		return hk_fail(err, 0, "value \"%s\": not a whole number", v);
	add(p, name, sig)->u = u;
	return 0;
}

/* NAMESec: seconds, in any number form, to NAMEUSec in microseconds (t). */
static int seconds(struct sysd_props *p, const char *uname, const char *v, struct hk_err *err)
{
	const char *num = v;
	const char *sig = number_sig(&num);
	char *end;

	errno = 0;
	double d = strtod(num, &end);
	if (errno || end == num || *end || d < 0 ||
	    (sig && strcmp(sig, "d") != 0 && strchr(num, '.')))
		return hk_fail(err, 0, "value \"%s\": not a number of seconds", v);
	sysd_prop_u64(p, uname, (uint64_t)(d * 1e6 + 0.5));
	return 0;
}

int sysd_prop_annotation(struct sysd_props *p, const char *name, const char *value,
			 struct hk_err *err)
{
	if (check_name(name, err) < 0)
		return -1;
	char *uname = usec_name(name);
	if (uname) {
		int r = seconds(p, uname, value, err);
		free(uname);
		return r;
	}
	const char *v = value;
	const char *sig = number_sig(&v);
	if (sig)
		return typed_number(p, name, sig, v, err);
	char *s = quoted(value);
	if (s) {
		add(p, name, "s")->s = s;
		return 0;
	}
	if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "false") ||
	    !strcmp(value, "no")) {
		sysd_prop_bool(p, name, value[0] == 't' || value[0] == 'y');
		return 0;
	}
	uint64_t u;
	if (whole_number(value, signed_property(name), &u)) {
		add(p, name, signed_property(name) ? "i" : "t")->u = u;
		return 0;
	}
	if (value[0] == '-' && whole_number(value, true, &u))
		return hk_fail(err, 0, "value \"%s\": %s takes no negative number", value, name);
	sysd_prop_str(p, name, value);
	return 0;
}

/* --- resources and devices ---------------------------------------------- */

static uint64_t limit_of(int64_t v)
{
	return v < 0 ? UINT64_MAX : (uint64_t)v;
}

static void memory_props(struct sysd_props *p, const struct hk_res_memory *m, int version)
{
	if (m->limit.set)
		sysd_prop_u64(p, version == 2 ? "MemoryMax" : "MemoryLimit", limit_of(m->limit.v));
	if (version != 2)
		return;
	if (m->reservation.set)
		sysd_prop_u64(p, "MemoryLow", limit_of(m->reservation.v));
	/* the spec's swap counts memory plus swap; MemorySwapMax swap alone */
	if (m->swap.set && m->swap.v < 0)
		sysd_prop_u64(p, "MemorySwapMax", UINT64_MAX);
	else if (m->swap.set && m->limit.set && m->limit.v >= 0 && m->swap.v >= m->limit.v)
		sysd_prop_u64(p, "MemorySwapMax", (uint64_t)(m->swap.v - m->limit.v));
}

/* As runc: quota per second of time, rounded up to systemd's 10 ms. */
static void cpu_props(struct sysd_props *p, const struct hk_res_cpu *c, int version)
{
	if (c->shares.set)
		sysd_prop_u64(p, version == 2 ? "CPUWeight" : "CPUShares",
			      version == 2 ? cg_cpu_shares_to_weight((uint64_t)c->shares.v)
					   : (uint64_t)c->shares.v);
	uint64_t period = c->period.set ? (uint64_t)c->period.v : 100000;
	if (c->period.set && version == 2)
		sysd_prop_u64(p, "CPUQuotaPeriodUSec", period);
	if (c->quota.set && c->quota.v < 0) {
		sysd_prop_u64(p, "CPUQuotaPerSecUSec", UINT64_MAX);
	} else if (c->quota.set && period > 0) {
		uint64_t q = (uint64_t)c->quota.v * 1000000 / period;
		if (q % 10000)
			q = (q / 10000 + 1) * 10000;
		sysd_prop_u64(p, "CPUQuotaPerSecUSec", q);
	}
	if (version == 2 && c->cpus && *c->cpus)
		sysd_prop_cpuset(p, "AllowedCPUs", c->cpus);
	if (version == 2 && c->mems && *c->mems)
		sysd_prop_cpuset(p, "AllowedMemoryNodes", c->mems);
}

void sysd_props_resources(struct sysd_props *p, const struct hk_resources *r, int version)
{
	memory_props(p, &r->memory, version);
	cpu_props(p, &r->cpu, version);
	if (r->pids_limit.set)
		sysd_prop_u64(p, "TasksMax", limit_of(r->pids_limit.v));
	if (version == 2 && r->blkio.weight.set)
		sysd_prop_u64(p, "IOWeight",
			      cg_blkio_weight_to_io_weight((uint64_t)r->blkio.weight.v));
}

/* The first name of major in /proc/devices' section ("Character devices:",
 * "Block devices:"), without a slash (systemd matches "char-NAME" on it). */
static char *major_name(const char *text, bool block, int64_t major)
{
	const char *sec =
		text ? strstr(text, block ? "Block devices:" : "Character devices:") : NULL;
	const char *line = sec ? strchr(sec, '\n') : NULL;

	while (line && line[1] && line[1] != '\n') {
		line++;
		char *end;
		long long m = strtoll(line, &end, 10);
		while (*end == ' ')
			end++;
		size_t len = strcspn(end, "\n");
		if (m == major && len > 0 && !memchr(end, '/', len))
			return strndup(end, len);
		line = strchr(line, '\n');
	}
	return NULL;
}

/* One allow rule as DeviceAllow's device: "/dev/char/1:3", "char-*",
 * "char-pts"; NULL when it has no form systemd takes (a major without a
 * name), which runc leaves out too. */
static char *device_name(const struct hk_dev_rule *d, const char *proc_devices)
{
	const char *group = d->type == 'b' ? "block" : "char";
	if (d->major < 0)
		return xasprintf("%s-*", group);
	if (d->minor < 0) {
		char *name = major_name(proc_devices, d->type == 'b', d->major);
		char *dev = name ? xasprintf("%s-%s", group, name) : NULL;
		free(name);
		return dev;
	}
	return xasprintf("/dev/%s/%" PRId64 ":%" PRId64, group, d->major, d->minor);
}

void sysd_props_devices(struct sysd_props *p, const struct hk_dev_rule *rules, size_t n,
			const char *proc_devices)
{
	char **pairs = NULL;
	size_t np = 0;

	if (n == 0 || rules[0].allow || rules[0].type != 'a')
		return;
	for (size_t i = 1; i < n; i++) {
		const struct hk_dev_rule *d = &rules[i];
		if (!d->allow || d->type == 'a')
			goto inexpressible;
		char *dev = device_name(d, proc_devices);
		if (!dev)
			continue;
		pairs = xrealloc(pairs, (np + 2) * sizeof(char *));
		pairs[np++] = dev;
		pairs[np++] = xstrdup(d->access);
	}
	sysd_prop_str(p, "DevicePolicy", "strict");
	struct sysd_prop *v = add(p, "DeviceAllow", "a(ss)");
	v->strv = pairs;
	v->n_strv = np;
	return;
inexpressible:
	for (size_t i = 0; i < np; i++)
		free(pairs[i]);
	free(pairs);
}
