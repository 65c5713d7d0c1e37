/* spec/spec-sched.c: process.scheduler, ioPriority, execCPUAffinity and
 * linux.memoryPolicy decoded, and refused where the kernel would refuse
 * them, with the JSON path in the error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "spec/decode.h"
#include "spec/spec.h"

static char bundle[PATH_MAX];

static int bundle_setup(void **state)
{
	char root[PATH_MAX + 16];
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(bundle, sizeof(bundle), "%s/husk-unit-sched-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(bundle))
		return -1;
	snprintf(root, sizeof(root), "%s/rootfs", bundle);
	return mkdir(root, 0755);
}

static int bundle_teardown(void **state)
{
	char root[PATH_MAX + 16];
	(void)state;
	snprintf(root, sizeof(root), "%s/rootfs", bundle);
	rmdir(root);
	return rmdir(bundle);
}

/* A config with proc added to "process" and lx to "linux" (each either
 * empty or starting with a comma). */
static struct hk_spec *parse(const char *proc, const char *lx, struct hk_err *err)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"},"
		 " \"process\": {\"args\": [\"/bin/sh\"], \"cwd\": \"/\"%s},"
		 " \"linux\": {\"namespaces\": [{\"type\": \"mount\"}]%s}}",
		 proc, lx);
	memset(err, 0, sizeof(*err));
	return spec_parse(text, strlen(text), bundle, err);
}

static struct hk_spec *ok(const char *proc, const char *lx)
{
	struct hk_err err;
	struct hk_spec *s = parse(proc, lx, &err);
	if (!s)
		fail_msg("rejected: %s (process%s, linux%s)", err.msg, proc, lx);
	return s;
}

static void rejected(const char *proc, const char *lx, const char *want)
{
	struct hk_err err;
	struct hk_spec *s = parse(proc, lx, &err);
	if (s) {
		spec_free(s);
		fail_msg("accepted, expected \"%s\"", want);
	}
	if (!strstr(err.msg, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
}

static bool has(const struct hk_idset *s, unsigned i)
{
	return s->bits[i / 64] & (1ULL << (i % 64));
}

static void test_idset(void **state)
{
	struct hk_idset s;
	struct hk_err err;
	(void)state;

	assert_int_equal(spec_idset_parse("0-3,7", "x", &s, &err), 0);
	assert_true(s.set && has(&s, 0) && has(&s, 3) && has(&s, 7));
	assert_false(has(&s, 4) || has(&s, 8));
	assert_int_equal(spec_idset_parse(" 1 , 64-65 ", "x", &s, &err), 0);
	assert_true(has(&s, 1) && has(&s, 64) && has(&s, 65) && !has(&s, 0));
	assert_int_equal(spec_idset_parse("1023", "x", &s, &err), 0);
	assert_true(has(&s, 1023));
	assert_int_equal(spec_idset_parse("", "x", &s, &err), 0);
	assert_false(s.set);
	assert_int_equal(spec_idset_parse("  ", "x", &s, &err), 0);
	assert_false(s.set);
	static const char *const bad[] = {"1024",
					  "3-1",
					  "a",
					  "1,",
					  ",1",
					  "1--2",
					  "-1",
					  "1-",
					  "0x1",
					  "1;2",
					  "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		memset(&err, 0, sizeof(err));
		if (spec_idset_parse(bad[i], "process.execCPUAffinity.final", &s, &err) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_non_null(strstr(err.msg, "process.execCPUAffinity.final: "));
	}
}

static void test_scheduler(void **state)
{
	(void)state;
	struct hk_spec *s = ok(",\"scheduler\": {\"policy\": \"SCHED_FIFO\", \"priority\": 10,"
			       " \"flags\": [\"SCHED_FLAG_RESET_ON_FORK\"]}",
			       "");
	assert_true(s->process.sched.set);
	assert_int_equal(s->process.sched.policy, 1);
	assert_int_equal(s->process.sched.priority, 10);
	assert_int_equal(s->process.sched.flags, 1);
	spec_free(s);
	s = ok(",\"scheduler\": {\"policy\": \"SCHED_BATCH\", \"nice\": -5}", "");
	assert_int_equal(s->process.sched.policy, 3);
	assert_int_equal(s->process.sched.nice, -5);
	spec_free(s);
	s = ok(",\"scheduler\": {\"policy\": \"SCHED_DEADLINE\", \"runtime\": 10000000,"
	       " \"deadline\": 20000000, \"period\": 30000000,"
	       " \"flags\": [\"SCHED_FLAG_RECLAIM\", \"SCHED_FLAG_DL_OVERRUN\"]}",
	       "");
	assert_int_equal(s->process.sched.policy, 6);
	assert_int_equal(s->process.sched.runtime, 10000000);
	assert_int_equal(s->process.sched.deadline, 20000000);
	assert_int_equal(s->process.sched.period, 30000000);
	assert_int_equal(s->process.sched.flags, 6);
	spec_free(s);
	s = ok(",\"scheduler\": {\"policy\": \"SCHED_IDLE\", \"flags\": "
	       "[\"SCHED_FLAG_KEEP_PARAMS\","
	       " \"SCHED_FLAG_KEEP_POLICY\", \"SCHED_FLAG_UTIL_CLAMP_MIN\","
	       " \"SCHED_FLAG_UTIL_CLAMP_MAX\"]}",
	       "");
	assert_int_equal(s->process.sched.flags, 0x78);
	spec_free(s);
	rejected(",\"scheduler\": {\"nice\": 1}", "", "process.scheduler.policy: missing");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_WHATEVER\"}", "",
		 "process.scheduler.policy: unknown \"SCHED_WHATEVER\"");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_ISO\"}", "", "not implemented by Linux");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"nice\": 20}", "",
		 "process.scheduler.nice: 20 out of range");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_FIFO\", \"nice\": 3, \"priority\": 1}", "",
		 "process.scheduler.nice: only for SCHED_OTHER and SCHED_BATCH");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"priority\": 3}", "",
		 "process.scheduler.priority: only for SCHED_FIFO and SCHED_RR");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_RR\"}", "",
		 "process.scheduler.priority: SCHED_RR needs one from 1 to 99");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_FIFO\", \"priority\": 100}", "",
		 "process.scheduler.priority: SCHED_FIFO needs one from 1 to 99");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"flags\": [\"SCHED_FLAG_X\"]}", "",
		 "process.scheduler.flags[0]: unknown \"SCHED_FLAG_X\"");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_DEADLINE\", \"runtime\": 2000}", "",
		 "process.scheduler.deadline: SCHED_DEADLINE needs one");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_DEADLINE\", \"runtime\": 100,"
		 " \"deadline\": 2000}",
		 "", "process.scheduler.runtime: SCHED_DEADLINE needs at least 1024 ns");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_DEADLINE\", \"runtime\": 3000,"
		 " \"deadline\": 2000}",
		 "", "process.scheduler.runtime: 3000 is above the deadline 2000");
	rejected(",\"scheduler\": {\"policy\": \"SCHED_DEADLINE\", \"runtime\": 2000,"
		 " \"deadline\": 3000, \"period\": 2500}",
		 "", "process.scheduler.period: 2500 is below the deadline 3000");
	rejected(",\"scheduler\": \"SCHED_OTHER\"", "", "process.scheduler: expected an object");
}

static void test_io_priority(void **state)
{
	(void)state;
	struct hk_spec *s = ok(",\"ioPriority\": {\"class\": \"IOPRIO_CLASS_IDLE\"}", "");
	assert_true(s->process.ioprio.set);
	assert_int_equal(s->process.ioprio.klass, 3);
	assert_int_equal(s->process.ioprio.level, 0);
	spec_free(s);
	s = ok(",\"ioPriority\": {\"class\": \"IOPRIO_CLASS_BE\", \"priority\": 7}", "");
	assert_int_equal(s->process.ioprio.klass, 2);
	assert_int_equal(s->process.ioprio.level, 7);
	spec_free(s);
	rejected(",\"ioPriority\": {\"priority\": 1}", "", "process.ioPriority.class: missing");
	rejected(",\"ioPriority\": {\"class\": \"IOPRIO_CLASS_NONE\"}", "",
		 "process.ioPriority.class: unknown \"IOPRIO_CLASS_NONE\"");
	rejected(",\"ioPriority\": {\"class\": \"IOPRIO_CLASS_RT\", \"priority\": 8}", "",
		 "process.ioPriority.priority: 8 out of range");
}

static void test_exec_cpu_affinity(void **state)
{
	(void)state;
	struct hk_spec *s =
		ok(",\"execCPUAffinity\": {\"initial\": \"0\", \"final\": \"1-2\"}", "");
	assert_true(s->process.cpus_initial.set && s->process.cpus_final.set);
	assert_true(has(&s->process.cpus_initial, 0) && !has(&s->process.cpus_initial, 1));
	assert_true(has(&s->process.cpus_final, 1) && has(&s->process.cpus_final, 2));
	spec_free(s);
	/* Empty: not set (the spec: "if omitted or empty"). */
	s = ok(",\"execCPUAffinity\": {\"final\": \"\"}", "");
	assert_false(s->process.cpus_final.set || s->process.cpus_initial.set);
	spec_free(s);
	rejected(",\"execCPUAffinity\": {\"initial\": \"0-x\"}", "",
		 "process.execCPUAffinity.initial: \"0-x\" is not a list");
	rejected(",\"execCPUAffinity\": {\"final\": 3}", "",
		 "process.execCPUAffinity.final: expected a string");
	/* exec --process decodes the same fields. */
	struct hk_err err = {0};
	const char *text = "{\"args\": [\"true\"], \"cwd\": \"/\", \"execCPUAffinity\":"
			   " {\"final\": \"3\"}, \"scheduler\": {\"policy\": \"SCHED_BATCH\"}}";
	struct hk_process *p = spec_parse_process(text, strlen(text), &err);
	assert_non_null(p);
	assert_true(has(&p->cpus_final, 3) && p->sched.set && p->sched.policy == 3);
	spec_process_clear(p);
	free(p);
}

static void test_memory_policy(void **state)
{
	(void)state;
	struct hk_spec *s = ok("", ",\"memoryPolicy\": {\"mode\": \"MPOL_BIND\", \"nodes\": \"0\","
				   " \"flags\": [\"MPOL_F_STATIC_NODES\"]}");
	assert_true(s->mempolicy.set && s->mempolicy.nodes.set);
	assert_int_equal(s->mempolicy.mode, 2);
	assert_int_equal(s->mempolicy.flags, 0x8000);
	assert_true(has(&s->mempolicy.nodes, 0));
	spec_free(s);
	s = ok("", ",\"memoryPolicy\": {\"mode\": \"MPOL_PREFERRED\"}");
	assert_int_equal(s->mempolicy.mode, 1);
	assert_false(s->mempolicy.nodes.set);
	spec_free(s);
	s = ok("", ",\"memoryPolicy\": {\"mode\": \"MPOL_LOCAL\", \"nodes\": \"\"}");
	assert_int_equal(s->mempolicy.mode, 4);
	spec_free(s);
	rejected("", ",\"memoryPolicy\": {\"nodes\": \"0\"}", "linux.memoryPolicy.mode: missing");
	rejected("", ",\"memoryPolicy\": {\"mode\": \"MPOL_FOO\"}",
		 "linux.memoryPolicy.mode: unknown \"MPOL_FOO\"");
	rejected("", ",\"memoryPolicy\": {\"mode\": \"MPOL_DEFAULT\", \"nodes\": \"0\"}",
		 "linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes");
	rejected("", ",\"memoryPolicy\": {\"mode\": \"MPOL_LOCAL\", \"nodes\": \"0\"}",
		 "linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes");
	rejected("", ",\"memoryPolicy\": {\"mode\": \"MPOL_INTERLEAVE\"}",
		 "linux.memoryPolicy.nodes: MPOL_INTERLEAVE needs at least one node");
	rejected("",
		 ",\"memoryPolicy\": {\"mode\": \"MPOL_BIND\", \"nodes\": \"0\","
		 " \"flags\": [\"MPOL_F_STATIC_NODES\", \"MPOL_F_RELATIVE_NODES\"]}",
		 "exclude each other");
	rejected("",
		 ",\"memoryPolicy\": {\"mode\": \"MPOL_BIND\", \"nodes\": \"0\","
		 " \"flags\": [\"MPOL_F_X\"]}",
		 "linux.memoryPolicy.flags[0]: unknown \"MPOL_F_X\"");
	rejected("", ",\"memoryPolicy\": {\"mode\": \"MPOL_BIND\", \"nodes\": \"2048\"}",
		 "linux.memoryPolicy.nodes: \"2048\": numbers go up to 1023");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idset),         cmocka_unit_test(test_scheduler),
		cmocka_unit_test(test_io_priority),   cmocka_unit_test(test_exec_cpu_affinity),
		cmocka_unit_test(test_memory_policy),
	};
	return cmocka_run_group_tests(tests, bundle_setup, bundle_teardown);
}
