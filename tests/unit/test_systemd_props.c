/* The systemd manager's pure part (cgroup/cgroup-systemd-props.c): the
 * scope's name and slice from linux.cgroupsPath with runc's errors, slice
 * expansion, annotations typed as systemd wants them, resources and device
 * rules as unit properties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/backend.h"
#include "cgroup/systemd.h"
#include "common/err.h"
#include "spec/resources.h"
#include "spec/spec.h"

static void path_ok(const char *path, const char *slice, const char *unit)
{
	struct hk_err err = {0};
	char *s, *u;
	if (sysd_parse_path(path, "cid", &s, &u, &err) < 0)
		fail_msg("%s: refused: %s", path, err.msg);
	assert_string_equal(s, slice);
	assert_string_equal(u, unit);
	free(s);
	free(u);
}

static void path_bad(const char *path, const char *want)
{
	struct hk_err err = {0};
	char *s, *u;
	if (sysd_parse_path(path, "cid", &s, &u, &err) == 0)
		fail_msg("%s: accepted", path);
	if (!strstr(err.msg, want))
		fail_msg("%s: error \"%s\" lacks \"%s\"", path, err.msg, want);
}

static void test_parse_path(void **state)
{
	(void)state;
	path_ok(NULL, "system.slice", "husk-cid.scope");
	path_ok("", "system.slice", "husk-cid.scope");
	path_ok("system.slice:docker:abc", "system.slice", "docker-abc.scope");
	path_ok("machine.slice:libpod:abc", "machine.slice", "libpod-abc.scope");
	path_ok(":ctr:abc", "system.slice", "ctr-abc.scope");
	path_ok("kubepods-besteffort-pod1.slice:cri-containerd:x", "kubepods-besteffort-pod1.slice",
		"cri-containerd-x.scope");
	path_ok("user.slice:p:my.slice", "user.slice", "my.slice");
	path_bad("/docker/abc", "expected cgroupsPath to be of format \"slice:prefix:name\"");
	path_bad("a:b", "got \"a:b\" instead");
	path_bad("a:b:c:d", "slice:prefix:name");
	path_bad("system.slice:x:a/../../b", "invalid unit name");
}

static void slice_ok(const char *slice, const char *want)
{
	struct hk_err err = {0};
	char *p = sysd_expand_slice(slice, &err);
	if (!p)
		fail_msg("%s: refused: %s", slice, err.msg);
	assert_string_equal(p, want);
	free(p);
}

static void slice_bad(const char *slice)
{
	struct hk_err err = {0};
	char *p = sysd_expand_slice(slice, &err);
	if (p)
		fail_msg("%s: accepted as %s", slice, p);
	assert_non_null(strstr(err.msg, "invalid slice name"));
}

static void test_expand_slice(void **state)
{
	(void)state;
	slice_ok("-.slice", "/");
	slice_ok("system.slice", "/system.slice");
	slice_ok("kubepods-besteffort-pod1.slice",
		 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice");
	slice_bad(".slice");
	slice_bad("system");
	slice_bad("a--b.slice");
	slice_bad("-a.slice");
	slice_bad("a-.slice");
	slice_bad("a/b.slice");
}

static const struct sysd_prop *find(const struct sysd_props *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return &p->v[i];
	fail_msg("no property %s", name);
	return NULL;
}

static void annotation(const char *name, const char *value, const char *want_name, const char *sig,
		       uint64_t u, const char *s)
{
	struct sysd_props p = {0};
	struct hk_err err = {0};
	if (sysd_prop_annotation(&p, name, value, &err) < 0)
		fail_msg("%s=%s: refused: %s", name, value, err.msg);
	const struct sysd_prop *v = find(&p, want_name);
	assert_string_equal(v->sig, sig);
	if (s)
		assert_string_equal(v->s, s);
	else
		assert_true(v->u == u);
	sysd_props_clear(&p);
}

static void annotation_bad(const char *name, const char *value, const char *want)
{
	struct sysd_props p = {0};
	struct hk_err err = {0};
	if (sysd_prop_annotation(&p, name, value, &err) == 0)
		fail_msg("%s=%s: accepted", name, value);
	if (!strstr(err.msg, want))
		fail_msg("%s=%s: error \"%s\" lacks \"%s\"", name, value, err.msg, want);
	sysd_props_clear(&p);
}

static void test_annotations(void **state)
{
	(void)state;
	/* runc's GVariant text */
	annotation("TimeoutStopUSec", "uint64 5000000", "TimeoutStopUSec", "t", 5000000, NULL);
	annotation("CollectMode", "'inactive-or-failed'", "CollectMode", "s", 0,
		   "inactive-or-failed");
	annotation("Nice", "int32 -5", "Nice", "i", (uint64_t)-5, NULL);
	annotation("Delegate", "true", "Delegate", "b", 1, NULL);
	/* Sec -> USec, in microseconds */
	annotation("TimeoutStopSec", "uint64 7", "TimeoutStopUSec", "t", 7000000, NULL);
	annotation("TimeoutStopSec", "1.5", "TimeoutStopUSec", "t", 1500000, NULL);
	annotation("RuntimeMaxSec", "30", "RuntimeMaxUSec", "t", 30000000, NULL);
	/* plain values */
	annotation("MemoryHigh", "50000000", "MemoryHigh", "t", 50000000, NULL);
	annotation("IOAccounting", "no", "IOAccounting", "b", 0, NULL);
	annotation("OOMScoreAdjust", "-100", "OOMScoreAdjust", "i", (uint64_t)-100, NULL);
	annotation("KillMode", "mixed", "KillMode", "s", 0, "mixed");
	annotation_bad("ab", "1", "too short");
	annotation_bad("Memory_High", "1", "non-alphabetic");
	annotation_bad("MemoryHigh", "-5", "no negative");
	annotation_bad("MemoryHigh", "uint64 x", "not a whole number");
	annotation_bad("TimeoutStopSec", "soon", "not a number of seconds");
}

static void test_scope_properties(void **state)
{
	(void)state;
	struct sysd_props p = {0};
	struct hk_err err = {0};
	struct hk_kv ann[] = {{"org.systemd.property.TimeoutStopSec", "3"},
			      {"other", "x"},
			      {"org.systemd.property.x", "1"}};
	/* a bad annotation fails, naming it */
	assert_int_equal(sysd_props_scope(&p, "cid", "system.slice", 42, 2, ann, 3, &err), -1);
	assert_non_null(strstr(err.msg, "annotation org.systemd.property.x"));
	sysd_props_clear(&p);
	assert_int_equal(sysd_props_scope(&p, "cid", "system.slice", 42, 2, ann, 2, &err), 0);
	static const char *const order[] = {
		"Description",         "Slice",          "Delegate",     "PIDs",
		"MemoryAccounting",    "CPUAccounting",  "IOAccounting", "TasksAccounting",
		"DefaultDependencies", "TimeoutStopUSec"};
	assert_int_equal(p.n, 10);
	for (size_t i = 0; i < p.n; i++)
		assert_string_equal(p.v[i].name, order[i]);
	assert_string_equal(find(&p, "Description")->s, "husk container cid");
	assert_int_equal(find(&p, "PIDs")->au[0], 42);
	assert_true(find(&p, "DefaultDependencies")->u == 0);
	sysd_props_clear(&p);
}

static void test_resources(void **state)
{
	(void)state;
	struct hk_err err = {0};
	const char *json = "{\"memory\": {\"limit\": 100000000, \"swap\": 150000000, "
			   "\"reservation\": 0}, \"pids\": {\"limit\": -1}, \"cpu\": "
			   "{\"shares\": 1024, \"quota\": 33333, \"period\": 100000, "
			   "\"cpus\": \"0-2,9\"}}";
	struct hk_resources *r = spec_parse_resources(json, strlen(json), &err);
	assert_non_null(r);
	struct sysd_props p = {0};
	sysd_props_resources(&p, r, 2);
	assert_true(find(&p, "MemoryMax")->u == 100000000);
	assert_true(find(&p, "MemorySwapMax")->u == 50000000);
	assert_true(find(&p, "TasksMax")->u == UINT64_MAX);
	assert_true(find(&p, "CPUWeight")->u == 39);
	/* 333330 us a second, rounded up to 10 ms */
	assert_true(find(&p, "CPUQuotaPerSecUSec")->u == 340000);
	assert_true(find(&p, "CPUQuotaPeriodUSec")->u == 100000);
	const struct sysd_prop *cpus = find(&p, "AllowedCPUs");
	assert_int_equal(cpus->n_num, 2);
	assert_int_equal(cpus->ay[0], 0x07);
	assert_int_equal(cpus->ay[1], 0x02);
	/* a zero reservation is unset */
	for (size_t i = 0; i < p.n; i++)
		assert_string_not_equal(p.v[i].name, "MemoryLow");
	sysd_props_clear(&p);
	spec_resources_free(r);
}

static void test_devices(void **state)
{
	(void)state;
	const char *proc_devices = "Character devices:\n  1 mem\n  4 /dev/vc/0\n  4 tty\n"
				   "136 pts\n\nBlock devices:\n  7 loop\n";
	struct hk_dev_rule rules[] = {
		{.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
		{.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"},
		{.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
		{.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"},
		{.allow = true, .type = 'c', .major = 4, .minor = -1, .access = "rw"},
		{.allow = true, .type = 'c', .major = 99, .minor = -1, .access = "rw"},
	};
	struct sysd_props p = {0};
	sysd_props_devices(&p, rules, 6, proc_devices);
	assert_string_equal(find(&p, "DevicePolicy")->s, "strict");
	const struct sysd_prop *a = find(&p, "DeviceAllow");
	assert_string_equal(a->sig, "a(ss)");
	static const char *const want[] = {"char-*",   "m",   "/dev/char/1:3", "rwm",
					   "char-pts", "rwm", "char-tty",      "rw"};
	assert_int_equal(a->n_strv, 8);
	for (size_t i = 0; i < 8; i++)
		assert_string_equal(a->strv[i], want[i]);
	sysd_props_clear(&p);
	/* a deny after an allow: systemd cannot say it, nothing is sent */
	rules[5].allow = false;
	sysd_props_devices(&p, rules, 6, proc_devices);
	assert_int_equal(p.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_path),  cmocka_unit_test(test_expand_slice),
		cmocka_unit_test(test_annotations), cmocka_unit_test(test_scope_properties),
		cmocka_unit_test(test_resources),   cmocka_unit_test(test_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
