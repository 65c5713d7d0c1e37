/* spec/: config.json decoding and validation of mounts, devices, device
 * rules, masked and read-only paths, linux.netDevices, and the fields husk
 * knows of but does not do yet. The harness: spec-harness.h. */
#include "spec-harness.h"

/* ---- devices, device rules, paths ---- */

static void test_devices(void **state)
{
	(void)state;
	assert_rejected("linux.devices[0].path: must be an absolute path", "linux.devices",
			"[{\"type\": \"c\", \"path\": \"dev/null\", \"major\": 1, \"minor\": 3}]");
	/* Anywhere in the container (config-linux.md): made inside the root. */
	assert_accepted("linux.devices",
			"[{\"type\": \"c\", \"path\": \"/tmp/null\", \"major\": 1, \"minor\": 3}]");
	assert_rejected("linux.devices[0].path: \"/\" is a directory, not a device",
			"linux.devices",
			"[{\"type\": \"c\", \"path\": \"/dev/../..\", \"major\": 1, "
			"\"minor\": 3}]");
	assert_rejected("\"/dev\" is a directory", "linux.devices",
			"[{\"type\": \"c\", \"path\": \"/dev\", \"major\": 1, \"minor\": 3}]");
	assert_rejected("linux.devices[0].type: must be one of c, b, u, p", "linux.devices",
			"[{\"type\": \"x\", \"path\": \"/dev/x\", \"major\": 1, \"minor\": 3}]");
	assert_rejected("linux.devices[0]: major and minor are required", "linux.devices",
			"[{\"type\": \"c\", \"path\": \"/dev/x\", \"minor\": 3}]");
	assert_rejected("linux.devices[1].fileMode", "linux.devices",
			"[{\"type\": \"p\", \"path\": \"/dev/fifo\"},"
			" {\"type\": \"c\", \"path\": \"/dev/x\", \"major\": 1, \"minor\": 3,"
			" \"fileMode\": 65536}]");

	struct hk_spec *s = parse_ok("linux.devices",
				     "[{\"type\": \"c\", \"path\": \"/dev//fuse\", \"major\": 10,"
				     " \"minor\": 229, \"fileMode\": 438, \"uid\": 0, \"gid\": 5},"
				     " {\"type\": \"p\", \"path\": \"/dev/fifo\"}]",
				     NULL);
	assert_int_equal(s->n_devices, 2);
	assert_int_equal(s->devices[0].type, 'c');
	assert_string_equal(s->devices[0].path, "/dev/fuse");
	assert_int_equal(s->devices[0].major, 10);
	assert_int_equal(s->devices[0].minor, 229);
	assert_true(s->devices[0].has_mode);
	assert_int_equal(s->devices[0].mode, 0666);
	assert_true(s->devices[0].has_uid);
	assert_true(s->devices[0].has_gid);
	assert_int_equal(s->devices[0].gid, 5);
	assert_int_equal(s->devices[1].type, 'p');
	assert_false(s->devices[1].has_mode);
	assert_false(s->devices[1].has_uid);
	spec_free(s);

	/* podman's fileMode carries the type bits: S_IFCHR | 0666 */
	s = parse_ok("linux.devices",
		     "[{\"type\": \"c\", \"path\": \"/dev/null\", \"major\": 1,"
		     " \"minor\": 3, \"fileMode\": 8630}]",
		     NULL);
	assert_int_equal(s->devices[0].mode, 0666);
	spec_free(s);
	/* but not the type bits of another kind of file (S_IFIFO on a char) */
	assert_rejected("linux.devices[0].fileMode: 4096 out of range", "linux.devices",
			"[{\"type\": \"c\", \"path\": \"/dev/x\", \"major\": 1,"
			" \"minor\": 3, \"fileMode\": 4096}]");
}

static void test_device_rules(void **state)
{
	(void)state;
	assert_rejected("linux.resources.devices[0].access: \"rwx\" is not a subset of rwm",
			"linux.resources.devices", "[{\"allow\": true, \"access\": \"rwx\"}]");
	assert_rejected("linux.resources.devices[0].type: must be one of a, c, b",
			"linux.resources.devices", "[{\"allow\": true, \"type\": \"p\"}]");
	assert_rejected("linux.resources.devices[0].allow: missing", "linux.resources.devices",
			"[{\"access\": \"r\"}]");
	assert_rejected("linux.resources.devices[0].major", "linux.resources.devices",
			"[{\"allow\": true, \"major\": -2}]");

	struct hk_spec *s =
		parse_ok("linux.resources.devices",
			 "[{\"allow\": false},"
			 " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": -1,"
			 " \"access\": \"rw\"}]",
			 NULL);
	assert_int_equal(s->n_dev_rules, 2);
	assert_false(s->dev_rules[0].allow);
	assert_int_equal(s->dev_rules[0].type, 'a');
	assert_string_equal(s->dev_rules[0].access, "rwm");
	assert_true(s->dev_rules[1].allow);
	assert_int_equal(s->dev_rules[1].type, 'c');
	assert_int_equal(s->dev_rules[1].major, 1);
	assert_int_equal(s->dev_rules[1].minor, -1);
	assert_string_equal(s->dev_rules[1].access, "rw");
	spec_free(s);
}

static void test_masked_readonly_paths(void **state)
{
	(void)state;
	assert_rejected("linux.maskedPaths[1]: \"proc/kcore\" is not an absolute path",
			"linux.maskedPaths", "[\"/proc/acpi\", \"proc/kcore\"]");
	assert_rejected("linux.readonlyPaths[0]: expected a string", "linux.readonlyPaths", "[1]");
	assert_rejected("linux.cgroupsPath: \"/a/../b\" must not contain \"..\"",
			"linux.cgroupsPath", "\"/a/../b\"");

	struct hk_spec *s = parse_ok("linux.maskedPaths", "[\"/proc//kcore/\"]",
				     "linux.readonlyPaths", "[\"/proc/sys/../bus\"]", NULL);
	assert_string_equal(s->masked_paths[0], "/proc/kcore");
	assert_string_equal(s->readonly_paths[0], "/proc/bus");
	spec_free(s);
}

/* ---- mounts ---- */

static void test_mounts(void **state)
{
	(void)state;
	struct hk_spec *s = parse_ok(
		"mounts",
		"[{\"destination\": \"proc\", \"type\": \"proc\", \"source\": \"proc\"},"
		" {\"destination\": \"/a//b/../c/\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
		"  \"options\": [\"nosuid\", \"mode=755\"]},"
		" {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"data\"},"
		" {\"destination\": \"/data2\", \"type\": \"none\", \"source\": \"sub/dir\","
		"  \"options\": [\"rbind\", \"ro\"]},"
		" {\"destination\": \"/etc/hosts\", \"source\": \"/etc/hosts\", \"options\": "
		"[\"bind\"]},"
		" {\"destination\": \"/x\", \"type\": \"tmpfs\"}]",
		NULL);
	char want[PATH_MAX + 64];

	assert_int_equal(s->n_mounts, 6);
	assert_string_equal(s->mounts[0].destination, "/proc");
	assert_string_equal(s->mounts[0].type, "proc");
	assert_string_equal(s->mounts[0].source, "proc"); /* not a bind: kept as is */
	assert_int_equal(s->mounts[0].n_options, 0);
	assert_string_equal(s->mounts[1].destination, "/a/c");
	assert_int_equal(s->mounts[1].n_options, 2);
	assert_string_equal(s->mounts[1].options[1], "mode=755");
	assert_null(s->mounts[1].options[2]);
	snprintf(want, sizeof(want), "%s/data", bundle);
	assert_string_equal(s->mounts[2].source, want);
	snprintf(want, sizeof(want), "%s/sub/dir", bundle);
	assert_string_equal(s->mounts[3].source, want);
	assert_null(s->mounts[4].type);
	assert_string_equal(s->mounts[4].source, "/etc/hosts");
	assert_null(s->mounts[5].source);
	spec_free(s);

	assert_rejected(
		"mounts[1].destination: missing", "mounts",
		"[{\"destination\": \"/proc\", \"type\": \"proc\"}, {\"type\": \"tmpfs\"}]");
	assert_rejected("mounts[0].destination: missing", "mounts", "[{\"destination\": \"\"}]");
	assert_rejected("mounts[0]: expected an object", "mounts", "[\"/proc\"]");
	assert_rejected("mounts[0].options: expected an array", "mounts",
			"[{\"destination\": \"/x\", \"options\": \"ro\"}]");
	assert_rejected("mounts[0].options[1]: expected a string", "mounts",
			"[{\"destination\": \"/x\", \"options\": [\"ro\", 1]}]");
	/* decoded with the spec: refused before anything is made */
	assert_rejected("mounts[1].options: mount option \"remount\": not supported yet by husk",
			"mounts",
			"[{\"destination\": \"/proc\", \"type\": \"proc\"},"
			" {\"destination\": \"/x\", \"type\": \"tmpfs\", \"options\": [\"ro\", "
			"\"remount\"]}]");
	s = parse_ok("mounts",
		     "[{\"destination\": \"/x\", \"type\": \"tmpfs\", \"options\": [\"rro\", "
		     "\"nosuid\", \"size=1m\", \"rprivate\"]}]",
		     NULL);
	assert_true(s->mounts[0].opts.recursive_attr);
	assert_int_equal(s->mounts[0].opts.n_data, 1);
	assert_string_equal(s->mounts[0].opts.data[0], "size=1m");
	assert_true(s->mounts[0].opts.propagation != 0);
	spec_free(s);
}

/* Idmapped mounts (config.md): bind mounts, with both ranges of their own
 * or the container's user namespace. */
#define BIND_X "{\"destination\": \"/x\", \"source\": \"/srv\", \"options\": [\"rbind\""
#define MAP1 "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]"
static void test_mount_idmap(void **state)
{
	(void)state;
	struct hk_err err;
	struct hk_spec *s = parse_edited(
		&err, "mounts",
		"[" BIND_X ", \"ridmap\"], \"uidMappings\": " MAP1 ", \"gidMappings\": " MAP1
		"}, " BIND_X "], \"uidMappings\": " MAP1 ", \"gidMappings\": " MAP1 "}]",
		NULL);
	assert_non_null(s);
	assert_int_equal(s->mounts[0].idmap, HK_IDMAP_RECURSIVE);
	assert_int_equal(s->mounts[1].idmap, HK_IDMAP_MOUNT);
	assert_int_equal(s->mounts[1].n_uid_mappings, 1);
	assert_int_equal(s->mounts[1].gid_mappings[0].host_id, 100000);
	spec_free(s);

	assert_rejected("mounts[0]: only a bind mount can be idmapped", "mounts",
			"[{\"destination\": \"/x\", \"type\": \"tmpfs\", \"options\": "
			"[\"idmap\"], \"uidMappings\": " MAP1 ", \"gidMappings\": " MAP1 "}]");
	assert_rejected("mounts[0].gidMappings: an idmapped mount needs uid and gid mappings",
			"mounts", "[" BIND_X "], \"uidMappings\": " MAP1 "}]");
	assert_rejected("mounts[0].options: idmap without uidMappings and gidMappings takes the "
			"container's user namespace",
			"mounts", "[" BIND_X ", \"idmap\"]}]");
	assert_rejected("mounts[0].options[1]: \"idmap=uids=0-1-10;gids=0-100-10\": give the "
			"ranges as uidMappings",
			"mounts", "[" BIND_X ", \"idmap=uids=0-1-10;gids=0-100-10\"]}]");
	assert_rejected("mounts[0].uidMappings[0].size: must be at least 1", "mounts",
			"[" BIND_X "], \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, "
			"\"size\": 0}]}]");
}

/* ---- linux.netDevices ---- */

#define NET_NS "[{\"type\": \"mount\"}, {\"type\": \"network\"}]"
static void test_netdevices(void **state)
{
	(void)state;
	struct hk_err err;
	struct hk_spec *s = parse_edited(&err, "linux.namespaces", NET_NS, "linux.netDevices",
					 "{\"eth1\": {\"name\": \"ctr0\"}, \"eth2\": {}}", NULL);
	assert_non_null(s);
	assert_int_equal(s->n_netdevs, 2);
	assert_string_equal(s->netdevs[0].name, "eth1");
	assert_string_equal(spec_netdev_name(&s->netdevs[0]), "ctr0");
	assert_string_equal(spec_netdev_name(&s->netdevs[1]), "eth2");
	spec_free(s);

	assert_rejected("linux.netDevices: needs a network namespace", "linux.netDevices",
			"{\"eth1\": {}}");
	assert_rejected("linux.netDevices.a/b: not a network interface name", "linux.namespaces",
			NET_NS, "linux.netDevices", "{\"a/b\": {}}");
	assert_rejected("linux.netDevices.eth1.name: \"0123456789abcdef\" is not a network "
			"interface name",
			"linux.namespaces", NET_NS, "linux.netDevices",
			"{\"eth1\": {\"name\": \"0123456789abcdef\"}}");
	assert_rejected("linux.netDevices.eth2: its name in the container, \"x\", is eth1's too",
			"linux.namespaces", NET_NS, "linux.netDevices",
			"{\"eth1\": {\"name\": \"x\"}, \"eth2\": {\"name\": \"x\"}}");
	assert_rejected("linux.netDevices.eth1: expected an object", "linux.namespaces", NET_NS,
			"linux.netDevices", "{\"eth1\": 5}");
}

/* ---- fields husk knows of but does not do yet ---- */

static void test_unsupported(void **state)
{
	(void)state;
	assert_rejected("linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\"",
			"linux.seccomp", "{\"defaultAction\": \"SCMP_ACT_NOPE\"}");
	assert_rejected("linux.seccomp.syscalls[0].args[0].op: unknown operator", "linux.seccomp",
			"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
			"[\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, "
			"\"value\": 1, \"op\": \"SCMP_CMP_ALMOST\"}]}]}");
	assert_rejected("linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener",
			"linux.seccomp",
			"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
			"[\"mkdir\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
	assert_rejected(
		"linux.seccomp.architectures[0]: unknown", "linux.seccomp",
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}");
	assert_accepted(
		"linux.seccomp",
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, "
		"\"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"], \"syscalls\": [{\"names\": "
		"[\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": "
		"0, \"value\": 3, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}");
	assert_accepted("hooks.prestart", "[{\"path\": \"/bin/true\", \"args\": [\"true\"], "
					  "\"env\": [\"A=b\"], \"timeout\": 5}]");
	assert_rejected("hooks.poststop[0].path: must be an absolute path", "hooks.poststop",
			"[{\"path\": \"true\"}]");
	assert_rejected("hooks.poststop[0].timeout: 0 out of range", "hooks.poststop",
			"[{\"path\": \"/bin/true\", \"timeout\": 0}]");
	assert_rejected("hooks.prestart[0].env[0]: \"A\" is not NAME=VALUE", "hooks.prestart",
			"[{\"path\": \"/bin/true\", \"env\": [\"A\"]}]");
	assert_rejected("hooks.createRuntime: expected an array", "hooks.createRuntime", "{}");
	assert_accepted("process.terminal", "true", "process.consoleSize",
			"{\"height\": 24, \"width\": 80}");
	assert_rejected("process.consoleSize.height: 70000 out of range", "process.consoleSize",
			"{\"height\": 70000, \"width\": 80}");
	/* linux.resources is decoded in full (test_resources.c); its errors
	 * carry the whole path. */
	assert_accepted("linux.resources.memory", "{\"limit\": 1048576}");
	assert_rejected("linux.resources.pids.limit: -3 out of range", "linux.resources.pids",
			"{\"limit\": -3}");
	assert_rejected("linux.intelRdt: not supported yet", "linux.intelRdt", "{}");
	/* Labels are decoded here; whether their LSM is there is the runtime's
	 * check (linux/lsm.c). */
	assert_accepted("linux.mountLabel", "\"system_u\"", "process.apparmorProfile",
			"\"docker-default\"");
	assert_accepted("linux.personality", "{\"domain\": \"LINUX32\"}");
	assert_rejected("linux.personality.domain: unknown \"PDP11\"", "linux.personality",
			"{\"domain\": \"PDP11\"}");
	assert_rejected("linux.personality.flags: no flags are defined", "linux.personality",
			"{\"domain\": \"LINUX\", \"flags\": [\"X\"]}");
	assert_rejected("process.commandLine: not supported yet", "process.commandLine",
			"\"sh -c true\"");
	/* Empty means not set. */
	assert_accepted("hooks.prestart", "[]", "hooks.poststart", "[]", "linux.uidMappings", "[]",
			"process.apparmorProfile", "\"\"", "process.selinuxLabel", "\"\"",
			"linux.mountLabel", "\"\"", "process.terminal", "false");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_device_rules),
		cmocka_unit_test(test_masked_readonly_paths),
		cmocka_unit_test(test_mounts),
		cmocka_unit_test(test_mount_idmap),
		cmocka_unit_test(test_netdevices),
		cmocka_unit_test(test_unsupported),
	};
	return cmocka_run_group_tests(tests, bundle_setup, bundle_teardown);
}
