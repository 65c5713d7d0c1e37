/* linux.resources decoding (spec/spec-resources.c) and the cgroup v1 -> v2
 * conversions (cgroup/cgroup-v2-res.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/backend.h"
#include "common/err.h"
#include "spec/resources.h"
#include "spec/spec.h"

static struct hk_resources *parse(const char *json, struct hk_err *err)
{
	memset(err, 0, sizeof(*err));
	return spec_parse_resources(json, strlen(json), err);
}

static struct hk_resources *ok(const char *json)
{
	struct hk_err err;
	struct hk_resources *r = parse(json, &err);
	if (!r)
		fail_msg("rejected %s: %s", json, err.msg);
	return r;
}

static void rejected(const char *json, const char *want)
{
	struct hk_err err;
	struct hk_resources *r = parse(json, &err);
	if (r) {
		spec_resources_free(r);
		fail_msg("accepted %s, expected \"%s\"", json, want);
	}
	if (!strstr(err.msg, want))
		fail_msg("%s: error \"%s\" does not contain \"%s\"", json, err.msg, want);
}

static void test_memory(void **state)
{
	(void)state;
	struct hk_resources *r = ok("{\"memory\": {\"limit\": 67108864, \"swap\": -1, "
				    "\"reservation\": 0, \"swappiness\": 0, "
				    "\"disableOOMKiller\": true, \"checkBeforeUpdate\": true}}");
	assert_true(r->memory.limit.set);
	assert_int_equal(r->memory.limit.v, 67108864);
	assert_true(r->memory.swap.set);
	assert_int_equal(r->memory.swap.v, -1);
	assert_false(r->memory.reservation.set); /* zero: not given, as in runc */
	assert_true(r->memory.swappiness.set);   /* but swappiness 0 is a value */
	assert_int_equal(r->memory.disable_oom_killer.v, 1);
	assert_true(r->memory.check_before_update);
	assert_false(spec_resources_empty(r));
	spec_resources_free(r);

	rejected("{\"memory\": {\"limit\": -5}}", "memory.limit: -5 out of range");
	rejected("{\"memory\": {\"limit\": \"1g\"}}", "memory.limit: expected an integer");
	rejected("{\"memory\": {\"swappiness\": 200}}", "memory.swappiness: 200 out of range");
	rejected("{\"memory\": {\"limit\": 2000000, \"swap\": 1000000}}",
		 "memory.swap: 1000000 is below limit 2000000");
	/* kernel memory: ignored with a warning, as runc and crun (issue 16 A10) */
	r = ok("{\"memory\": {\"kernel\": 1000000, \"limit\": 2000000}}");
	assert_int_equal(r->memory.limit.v, 2000000);
	spec_resources_free(r);
	rejected("{\"memory\": {\"useHierarchy\": false}}", "memory.useHierarchy");
	spec_resources_free(ok("{\"memory\": {\"useHierarchy\": true, \"kernel\": 0}}"));
}

static void test_cpu(void **state)
{
	(void)state;
	struct hk_resources *r = ok("{\"cpu\": {\"shares\": 512, \"quota\": 20000, \"period\": "
				    "100000, \"cpus\": \"0-1,3\", \"mems\": \"0\", \"idle\": 1}}");
	assert_int_equal(r->cpu.shares.v, 512);
	assert_int_equal(r->cpu.quota.v, 20000);
	assert_int_equal(r->cpu.period.v, 100000);
	assert_string_equal(r->cpu.cpus, "0-1,3");
	assert_int_equal(r->cpu.idle.v, 1);
	spec_resources_free(r);
	r = ok("{\"cpu\": {\"quota\": -1}}");
	assert_int_equal(r->cpu.quota.v, -1);
	spec_resources_free(r);

	rejected("{\"cpu\": {\"shares\": 1}}", "cpu.shares: 1 is below the minimum of 2");
	rejected("{\"cpu\": {\"shares\": 300000}}", "cpu.shares: 300000 out of range");
	rejected("{\"cpu\": {\"quota\": 10}}", "cpu.quota: 10 us is below");
	rejected("{\"cpu\": {\"quota\": -2}}", "cpu.quota: -2 out of range");
	rejected("{\"cpu\": {\"period\": 5000000}}", "cpu.period: 5000000 out of range");
	rejected("{\"cpu\": {\"period\": 10}}", "cpu.period: 10 us is outside");
	rejected("{\"cpu\": {\"idle\": 2}}", "cpu.idle: 2 out of range");
	static const char *const bad_lists[] = {"0-", "-1", "a", "1,", "3-1", "0,,1", "1 2"};
	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(*bad_lists); i++) {
		char json[128];
		snprintf(json, sizeof(json), "{\"cpu\": {\"cpus\": \"%s\"}}", bad_lists[i]);
		rejected(json, "cpu.cpus: ");
	}
}

static void test_pids_blkio(void **state)
{
	(void)state;
	struct hk_resources *r = ok(
		"{\"pids\": {\"limit\": -1}, \"blockIO\": {\"weight\": 300, \"weightDevice\": "
		"[{\"major\": 8, \"minor\": 0, \"weight\": 500}], \"throttleReadBpsDevice\": "
		"[{\"major\": 8, \"minor\": 0, \"rate\": 1048576}], \"throttleWriteIOPSDevice\": "
		"[{\"major\": 8, \"minor\": 16, \"rate\": 100}]}}");
	assert_int_equal(r->pids_limit.v, -1);
	assert_int_equal(r->blkio.weight.v, 300);
	assert_int_equal(r->blkio.n_weight_devs, 1);
	assert_int_equal(r->blkio.weight_devs[0].weight.v, 500);
	assert_int_equal(r->blkio.n_throttle[HK_THR_READ_BPS], 1);
	assert_int_equal(r->blkio.throttle[HK_THR_READ_BPS][0].rate, 1048576);
	assert_int_equal(r->blkio.throttle[HK_THR_WRITE_IOPS][0].minor, 16);
	assert_int_equal(r->blkio.n_throttle[HK_THR_WRITE_BPS], 0);
	spec_resources_free(r);

	rejected("{\"pids\": {}}", "pids.limit: missing");
	rejected("{\"pids\": {\"limit\": -3}}", "pids.limit: -3 out of range");
	rejected("{\"blockIO\": {\"weight\": 5}}", "blockIO.weight: must be within 10..1000");
	rejected("{\"blockIO\": {\"weight\": 5000}}", "blockIO.weight: 5000 out of range");
	rejected("{\"blockIO\": {\"weightDevice\": [{\"major\": 8, \"weight\": 100}]}}",
		 "blockIO.weightDevice[0]: major and minor are required");
	rejected("{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0}]}}",
		 "blockIO.throttleReadBpsDevice[0].rate: missing");
	rejected("{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": -1, \"minor\": 0, "
		 "\"rate\": 1}]}}",
		 "throttleReadBpsDevice[0].major: -1 out of range");
}

static void test_other_controllers(void **state)
{
	(void)state;
	struct hk_resources *r =
		ok("{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}], "
		   "\"network\": {\"classID\": 1048577, \"priorities\": [{\"name\": \"eth0\", "
		   "\"priority\": 5}]}, \"rdma\": {\"mlx5_1\": {\"hcaHandles\": 3}}, "
		   "\"unified\": {\"memory.high\": \"max\", \"io.weight\": \"default 100\"}}");
	assert_string_equal(r->hugepages[0].page_size, "2MB");
	assert_int_equal(r->net_class_id.v, 1048577);
	assert_string_equal(r->net_prios[0].name, "eth0");
	assert_string_equal(r->rdma[0].device, "mlx5_1");
	assert_true(r->rdma[0].hca_handles.set);
	assert_false(r->rdma[0].hca_objects.set);
	assert_int_equal(r->n_unified, 2);
	spec_resources_free(r);

	rejected("{\"hugepageLimits\": [{\"pageSize\": \"3XB\", \"limit\": 1}]}",
		 "hugepageLimits[0].pageSize: \"3XB\" is not a size");
	rejected("{\"hugepageLimits\": [{\"pageSize\": \"2MB\"}]}", "pageSize and limit");
	rejected("{\"network\": {\"priorities\": [{\"name\": \"a/b\", \"priority\": 1}]}}",
		 "network.priorities[0].name: \"a/b\" is not a valid interface name");
	rejected("{\"rdma\": {\"bad name\": {}}}", "rdma.bad name: ");
	rejected("{\"unified\": {\"cgroup.procs\": \"1\"}}",
		 "unified.cgroup.procs: not a resource");
	rejected("{\"unified\": {\"../memory.max\": \"1\"}}", "is not a cgroup file name");
	rejected("{\"unified\": {\"memory\": \"1\"}}", "is not a cgroup file name");
	/* checked, not applied (runc 1.1.5's update) */
	struct hk_resources *d = ok("{\"devices\": [{\"allow\": true, \"access\": \"rwm\"}]}");
	assert_true(d->devices_given);
	spec_resources_free(d);
	d = ok("{\"pids\": {\"limit\": 5}}");
	assert_false(d->devices_given);
	spec_resources_free(d);
	rejected("{\"devices\": [{\"allow\": \"x\"}]}", "devices[0].allow");
	rejected("{\"devices\": [{\"allow\": true, \"type\": \"z\"}]}", "devices[0].type");
	rejected("[]", "expected an object");

	r = ok("{}");
	assert_true(spec_resources_empty(r));
	spec_resources_free(r);
}

/* The formulas runc and crun use: ends of the ranges map onto ends. */
static void test_conversions(void **state)
{
	(void)state;
	assert_int_equal(cg_cpu_shares_to_weight(2), 1);
	assert_int_equal(cg_cpu_shares_to_weight(262144), 10000);
	assert_int_equal(cg_cpu_shares_to_weight(1024), 39);
	assert_int_equal(cg_cpu_shares_to_weight(512), 20);
	assert_int_equal(cg_cpu_shares_to_weight(0), 1);
	assert_int_equal(cg_blkio_weight_to_io_weight(10), 1);
	assert_int_equal(cg_blkio_weight_to_io_weight(1000), 10000);
	assert_int_equal(cg_blkio_weight_to_io_weight(500), 4950);
	assert_int_equal(cg_blkio_weight_to_io_weight(100), 910);
}

static void test_keyed(void **state)
{
	(void)state;
	uint64_t v = 0;
	const char *text = "nr_periods 3\nnr_throttled 2\nthrottled_time 100\nmax max\n";
	assert_true(cg_keyed_u64(text, "nr_throttled", &v));
	assert_int_equal(v, 2);
	assert_true(cg_keyed_u64(text, "throttled_time", &v));
	assert_int_equal(v, 100);
	assert_true(cg_keyed_u64(text, "max", &v));
	assert_true(v == UINT64_MAX);
	assert_false(cg_keyed_u64(text, "nr", &v));
	assert_false(cg_keyed_u64(text, "throttled", &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),      cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_pids_blkio),  cmocka_unit_test(test_other_controllers),
		cmocka_unit_test(test_conversions), cmocka_unit_test(test_keyed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
