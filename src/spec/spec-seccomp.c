/* config.json "linux.seccomp": actions, operators, architectures and flags
 * checked against the spec's names; syscall names stay names (linux/
 * resolves them for the running kernel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "spec/decode.h"

static const char *const actions[] = {
	[HK_SCMP_KILL] = "SCMP_ACT_KILL",
	[HK_SCMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
	[HK_SCMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
	[HK_SCMP_TRAP] = "SCMP_ACT_TRAP",
	[HK_SCMP_ERRNO] = "SCMP_ACT_ERRNO",
	[HK_SCMP_TRACE] = "SCMP_ACT_TRACE",
	[HK_SCMP_ALLOW] = "SCMP_ACT_ALLOW",
	[HK_SCMP_LOG] = "SCMP_ACT_LOG",
	[HK_SCMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};

static const char *const ops[] = {
	[HK_SCMP_NE] = "SCMP_CMP_NE",
	[HK_SCMP_LT] = "SCMP_CMP_LT",
	[HK_SCMP_LE] = "SCMP_CMP_LE",
	[HK_SCMP_EQ] = "SCMP_CMP_EQ",
	[HK_SCMP_GE] = "SCMP_CMP_GE",
	[HK_SCMP_GT] = "SCMP_CMP_GT",
	[HK_SCMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static const char *const archs[] = {
	"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
};

static const struct {
	const char *name;
	unsigned int flag;
} flags[] = {
	{"SECCOMP_FILTER_FLAG_LOG", HK_SCMP_FLAG_LOG},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", HK_SCMP_FLAG_SPEC_ALLOW},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", HK_SCMP_FLAG_WAIT_KILLABLE_RECV},
};

static int lookup(const char *const *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (table[i] && strcmp(table[i], name) == 0)
			return (int)i;
	return -1;
}

#define LOOKUP(table, name) lookup(table, sizeof(table) / sizeof(table[0]), name)

static int decode_action(hk_json *v, const char *path, const char *key, enum hk_scmp_action *out,
			 struct hk_err *err)
{
	_cleanup_free_ char *name = NULL;
	int r = hk_json_get_str(v, path, key, &name, err);

	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "%s.%s: missing", path, key);
	int a = LOOKUP(actions, name);
	if (a < 0)
		return hk_fail(err, 0, "%s.%s: unknown action \"%s\"", path, key, name);
	*out = (enum hk_scmp_action)a;
	return 0;
}

static int decode_arg(hk_json *v, const char *path, void *array, size_t i, void *ctx,
		      struct hk_err *err)
{
	struct hk_seccomp_arg *a = (struct hk_seccomp_arg *)array + i;
	_cleanup_free_ char *op = NULL;
	int64_t index = 0;

	(void)ctx;
	int r = hk_json_get_i64(v, path, "index", 0, 5, &index, err);
	if (r <= 0)
		return r < 0 ? -1 : hk_fail(err, 0, "%s.index: missing", path);
	a->index = (unsigned int)index;
	r = hk_json_get_u64(v, path, "value", &a->value, err);
	if (r <= 0)
		return r < 0 ? -1 : hk_fail(err, 0, "%s.value: missing", path);
	if (hk_json_get_u64(v, path, "valueTwo", &a->value_two, err) < 0)
		return -1;
	r = hk_json_get_str(v, path, "op", &op, err);
	if (r <= 0)
		return r < 0 ? -1 : hk_fail(err, 0, "%s.op: missing", path);
	int o = LOOKUP(ops, op);
	if (o < 0)
		return hk_fail(err, 0, "%s.op: unknown operator \"%s\"", path, op);
	a->op = (enum hk_scmp_op)o;
	return 0;
}

static int decode_errno(hk_json *v, const char *path, const char *key, bool *has, uint32_t *out,
			struct hk_err *err)
{
	int64_t e = 0;
	int r = hk_json_get_i64(v, path, key, 0, UINT16_MAX, &e, err);

	if (r < 0)
		return -1;
	*has = r > 0;
	*out = (uint32_t)e;
	return 0;
}

static int decode_rule(hk_json *v, const char *path, void *array, size_t i, void *ctx,
		       struct hk_err *err)
{
	struct hk_seccomp_rule *r = (struct hk_seccomp_rule *)array + i;

	(void)ctx;
	int n = hk_json_get_strv(v, path, "names", &r->names, &r->n_names, err);
	if (n < 0)
		return -1;
	if (n == 0 || r->n_names == 0)
		return hk_fail(err, 0, "%s.names: must name at least one syscall", path);
	if (decode_action(v, path, "action", &r->action, err) < 0 ||
	    decode_errno(v, path, "errnoRet", &r->has_errno, &r->errno_ret, err) < 0)
		return -1;
	if (r->has_errno && r->action != HK_SCMP_ERRNO && r->action != HK_SCMP_TRACE)
		return hk_fail(err, 0, "%s.errnoRet: only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE",
			       path);
	return spec_decode_array(v, path, "args", sizeof(struct hk_seccomp_arg), decode_arg, NULL,
				 &r->args, &r->n_args, err);
}

static int decode_flags_archs(hk_json *sc, struct hk_seccomp *s, struct hk_err *err)
{
	_cleanup_free_ char **names = NULL;
	size_t n = 0;

	if (hk_json_get_strv(sc, "linux.seccomp", "architectures", &s->archs, &s->n_archs, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_archs; i++)
		if (LOOKUP(archs, s->archs[i]) < 0)
			return hk_fail(err, 0, "linux.seccomp.architectures[%zu]: unknown \"%s\"",
				       i, s->archs[i]);
	if (hk_json_get_strv(sc, "linux.seccomp", "flags", &names, &n, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < sizeof(flags) / sizeof(flags[0]) && strcmp(flags[k].name, names[i]) != 0)
			k++;
		if (k == sizeof(flags) / sizeof(flags[0]) && r == 0)
			r = hk_fail(err, 0, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
				    names[i]);
		else if (k < sizeof(flags) / sizeof(flags[0]))
			s->flags |= flags[k].flag;
		free(names[i]);
	}
	return r;
}

int spec_decode_seccomp(hk_json *lx, struct hk_spec *spec, struct hk_err *err)
{
	struct hk_seccomp *s = &spec->seccomp;
	hk_json *sc;

	int r = hk_json_get_obj(lx, "linux", "seccomp", &sc, err);
	if (r <= 0)
		return r;
	s->present = true;
	if (decode_action(sc, "linux.seccomp", "defaultAction", &s->default_action, err) < 0 ||
	    decode_errno(sc, "linux.seccomp", "defaultErrnoRet", &s->has_default_errno,
			 &s->default_errno, err) < 0 ||
	    decode_flags_archs(sc, s, err) < 0)
		return -1;
	if (hk_json_get_str(sc, "linux.seccomp", "listenerPath", &s->listener_path, err) < 0 ||
	    hk_json_get_str(sc, "linux.seccomp", "listenerMetadata", &s->listener_metadata, err) <
		    0)
		return -1;
	if (s->listener_path && s->listener_path[0] != '/')
		return hk_fail(err, 0, "linux.seccomp.listenerPath: must be an absolute path");
	if (spec_decode_array(sc, "linux.seccomp", "syscalls", sizeof(struct hk_seccomp_rule),
			      decode_rule, NULL, &s->rules, &s->n_rules, err) < 0)
		return -1;
	bool notify = s->default_action == HK_SCMP_NOTIFY;
	for (size_t i = 0; i < s->n_rules; i++)
		notify |= s->rules[i].action == HK_SCMP_NOTIFY;
	if (notify && !s->listener_path)
		return hk_fail(err, 0,
			       "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener");
	if (s->default_action == HK_SCMP_NOTIFY)
		return hk_fail(err, 0,
			       "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
			       "default (husk itself would wait on the listener)");
	return 0;
}

void spec_seccomp_clear(struct hk_seccomp *s)
{
	hk_strv_free(s->archs, s->n_archs);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_rules; i++) {
		hk_strv_free(s->rules[i].names, s->rules[i].n_names);
		free(s->rules[i].args);
	}
	free(s->rules);
	memset(s, 0, sizeof(*s));
}
