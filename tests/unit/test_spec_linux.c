/* spec/: config.json decoding and validation of linux.*: namespaces, user
 * and time namespaces (id mappings, time offsets), hostname, sysctl and
 * propagation. The harness: spec-harness.h. */
#include "spec-harness.h"

/* ---- linux.namespaces ---- */

static void test_namespaces(void **state)
{
	(void)state;
	assert_rejected("linux.namespaces[2].type: unknown namespace type \"pidd\"",
			"linux.namespaces",
			"[{\"type\": \"mount\"}, {\"type\": \"pid\"}, {\"type\": \"pidd\"}]");
	assert_rejected("linux.namespaces[1].type: duplicate namespace \"mount\"",
			"linux.namespaces", "[{\"type\": \"mount\"}, {\"type\": \"mount\"}]");
	/* No mount namespace: husk's is shared, with nothing mounted in it. */
	assert_accepted("linux.namespaces", "[{\"type\": \"pid\"}]");
	assert_rejected("mounts: needs a mount namespace of the container's own", "mounts",
			"[{\"destination\": \"/proc\", \"type\": \"proc\"}]", "linux.namespaces",
			"[]");
	assert_rejected("root.readonly: needs a mount namespace", "root.readonly", "true",
			"linux.namespaces", "[]");
	/* A new user namespace is nothing without its maps; a new time
	 * namespace needs no offsets. */
	assert_rejected("linux.uidMappings: a new user namespace needs uid and gid mappings",
			"linux.namespaces[1]", "{\"type\": \"user\"}");
	assert_accepted("linux.namespaces[1]", "{\"type\": \"time\"}");
	assert_rejected("linux.namespaces[2].type: duplicate namespace \"time\"",
			"linux.namespaces",
			"[{\"type\": \"mount\"}, {\"type\": \"time\"}, {\"type\": \"time\"}]");
	assert_rejected("linux.namespaces[1].path: \"ns/user\" is not an absolute path",
			"linux.namespaces[1]", "{\"type\": \"user\", \"path\": \"ns/user\"}");
	assert_rejected("linux.namespaces[0].type: missing", "linux.namespaces[0]", "{}");
	assert_rejected("linux.namespaces[1].path: \"ns/net\" is not an absolute path",
			"linux.namespaces[1]", "{\"type\": \"network\", \"path\": \"ns/net\"}");
	/* Joined by path: checked when opened, at create. */
	assert_accepted("linux.namespaces[0].path", "\"/proc/1/ns/mnt\"");
}

/* Without linux.namespaces every namespace is husk's: accepted, read from
 * an initialised length. */
static void test_namespaces_absent(void **state)
{
	(void)state;
	/* In a child: with the bug, xcalloc of a garbage count aborts. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hk_err err;
		struct hk_spec *s = parse_edited(&err, "linux.namespaces", DEL, NULL);
		_exit(s && s->n_namespaces == 0 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("parse without linux.namespaces: %s %d",
			 WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static void test_linux_absent(void **state)
{
	(void)state;
	assert_rejected("linux: missing", "linux", DEL);
}

/* ---- user namespace: linux.uidMappings, linux.gidMappings ---- */

#define NEW_USERNS "linux.namespaces[1]", "{\"type\": \"user\"}"
#define JOIN_USERNS "linux.namespaces[1]", "{\"type\": \"user\", \"path\": \"/proc/1/ns/user\"}"
#define MAP_64K "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]"
#define UIDS(v) "linux.uidMappings", v
#define GIDS(v) "linux.gidMappings", v

static void test_id_mappings(void **state)
{
	(void)state;
	struct hk_spec *s =
		parse_ok(NEW_USERNS,
			 UIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 1000},"
			      " {\"containerID\": 1000, \"hostID\": 1000, \"size\": 1},"
			      " {\"containerID\": 1001, \"hostID\": 101001, \"size\": 64535}]"),
			 GIDS("[{\"containerID\": 0, \"hostID\": 4294967293, \"size\": 2}]"), NULL);
	assert_non_null(spec_ns(s, HK_NS_USER));
	assert_null(spec_ns(s, HK_NS_USER)->path);
	assert_int_equal(s->n_uid_mappings, 3);
	assert_int_equal(s->uid_mappings[0].container_id, 0);
	assert_int_equal(s->uid_mappings[0].host_id, 100000);
	assert_int_equal(s->uid_mappings[0].size, 1000);
	assert_int_equal(s->uid_mappings[1].container_id, 1000);
	assert_int_equal(s->uid_mappings[1].host_id, 1000);
	assert_int_equal(s->uid_mappings[1].size, 1);
	assert_int_equal(s->uid_mappings[2].size, 64535);
	/* The last valid id is 4294967294: (uid_t)-1 is never mapped. */
	assert_int_equal(s->n_gid_mappings, 1);
	assert_int_equal(s->gid_mappings[0].host_id, 4294967293U);
	assert_int_equal(s->gid_mappings[0].size, 2);
	spec_free(s);

	/* Joining a user namespace by path: its maps are already written. */
	s = parse_ok(JOIN_USERNS, NULL);
	assert_string_equal(spec_ns(s, HK_NS_USER)->path, "/proc/1/ns/user");
	assert_int_equal(s->n_uid_mappings, 0);
	assert_int_equal(s->n_gid_mappings, 0);
	spec_free(s);

	/* Empty arrays are no mappings (so fine without a user namespace). */
	assert_accepted(UIDS("[]"), GIDS("[]"));
	assert_accepted(JOIN_USERNS, UIDS("[]"), GIDS("[]"));
}

static void test_id_mappings_need_user_ns(void **state)
{
	(void)state;
	assert_rejected("linux.uidMappings: needs a user namespace in linux.namespaces",
			UIDS(MAP_64K), GIDS(MAP_64K));
	assert_rejected("linux.uidMappings: needs a user namespace", UIDS(MAP_64K));
	assert_rejected("linux.gidMappings: needs a user namespace", GIDS(MAP_64K));
	assert_rejected("linux.uidMappings: not allowed when joining a user namespace by path",
			JOIN_USERNS, UIDS(MAP_64K), GIDS(MAP_64K));
	assert_rejected("linux.gidMappings: not allowed when joining", JOIN_USERNS, GIDS(MAP_64K));
	assert_rejected("linux.uidMappings: a new user namespace needs uid and gid mappings",
			NEW_USERNS);
	assert_rejected("linux.uidMappings: a new user namespace needs", NEW_USERNS, UIDS("[]"),
			GIDS("[]"));
	assert_rejected("linux.gidMappings: a new user namespace needs", NEW_USERNS, UIDS(MAP_64K));
	assert_rejected("linux.uidMappings: a new user namespace needs", NEW_USERNS, GIDS(MAP_64K));
	assert_rejected("linux.gidMappings: a new user namespace needs", NEW_USERNS, UIDS(MAP_64K),
			GIDS("[]"));
}

static void test_id_mapping_ranges(void **state)
{
	(void)state;
	/* types */
	assert_rejected("linux.uidMappings: expected an array", NEW_USERNS, GIDS(MAP_64K),
			UIDS("{\"containerID\": 0}"));
	assert_rejected("linux.uidMappings[0]: expected an object", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[0]"));
	assert_rejected("linux.gidMappings[0].hostID: expected an integer", NEW_USERNS,
			UIDS(MAP_64K),
			GIDS("[{\"containerID\": 0, \"hostID\": \"100000\", \"size\": 1}]"));
	/* missing members */
	assert_rejected("linux.uidMappings[0].containerID: missing", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"hostID\": 100000, \"size\": 1}]"));
	assert_rejected("linux.uidMappings[0].hostID: missing", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"size\": 1}]"));
	assert_rejected("linux.uidMappings[1].size: missing", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 1},"
			     " {\"containerID\": 1, \"hostID\": 100001}]"));
	/* size and bounds */
	assert_rejected("linux.uidMappings[0].size: must be at least 1", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 0}]"));
	assert_rejected("linux.gidMappings[1].size: must be at least 1", NEW_USERNS, UIDS(MAP_64K),
			GIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 1},"
			     " {\"containerID\": 1, \"hostID\": 100001, \"size\": 0}]"));
	assert_rejected("linux.uidMappings[0].size: -1 out of range", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": -1}]"));
	assert_rejected("linux.uidMappings[0].hostID: -1 out of range", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": -1, \"size\": 1}]"));
	assert_rejected("linux.uidMappings[0].containerID: 4294967296 out of range", NEW_USERNS,
			GIDS(MAP_64K),
			UIDS("[{\"containerID\": 4294967296, \"hostID\": 0, \"size\": 1}]"));
	assert_rejected("linux.uidMappings[0]: range ends past 4294967294", NEW_USERNS,
			GIDS(MAP_64K),
			UIDS("[{\"containerID\": 4294967295, \"hostID\": 100000, \"size\": 1}]"));
	assert_rejected("linux.uidMappings[0]: range ends past 4294967294", NEW_USERNS,
			GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 4294901760, \"size\": 65536}]"));
	assert_rejected("linux.gidMappings[0]: range ends past 4294967294", NEW_USERNS,
			UIDS(MAP_64K),
			GIDS("[{\"containerID\": 1, \"hostID\": 0, \"size\": 4294967295}]"));
	/* 0..4294967294: every valid id */
	assert_accepted(NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 0, \"size\": 4294967295}]"));
	assert_accepted(
		NEW_USERNS, GIDS(MAP_64K),
		UIDS("[{\"containerID\": 4294967294, \"hostID\": 4294967294, \"size\": 1}]"));
}

static void test_id_mapping_overlaps(void **state)
{
	(void)state;
	assert_rejected("linux.uidMappings[1].containerID: overlaps range 0", NEW_USERNS,
			GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 10},"
			     " {\"containerID\": 9, \"hostID\": 200000, \"size\": 1}]"));
	assert_rejected("linux.uidMappings[1].hostID: overlaps range 0", NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 10},"
			     " {\"containerID\": 10, \"hostID\": 99995, \"size\": 6}]"));
	/* the range overlapped is named, not just the one before */
	assert_rejected("linux.gidMappings[2].containerID: overlaps range 0", NEW_USERNS,
			UIDS(MAP_64K),
			GIDS("[{\"containerID\": 100, \"hostID\": 100000, \"size\": 10},"
			     " {\"containerID\": 0, \"hostID\": 200000, \"size\": 10},"
			     " {\"containerID\": 50, \"hostID\": 300000, \"size\": 100}]"));
	assert_rejected("linux.gidMappings[2].hostID: overlaps range 1", NEW_USERNS, UIDS(MAP_64K),
			GIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 10},"
			     " {\"containerID\": 10, \"hostID\": 200000, \"size\": 10},"
			     " {\"containerID\": 20, \"hostID\": 200009, \"size\": 1}]"));
	/* a range inside another */
	assert_rejected("linux.uidMappings[1].containerID: overlaps range 0", NEW_USERNS,
			GIDS(MAP_64K),
			UIDS("[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536},"
			     " {\"containerID\": 1000, \"hostID\": 1000, \"size\": 1}]"));
	/* adjacent ranges, in any order, do not overlap */
	assert_accepted(NEW_USERNS, GIDS(MAP_64K),
			UIDS("[{\"containerID\": 10, \"hostID\": 100010, \"size\": 10},"
			     " {\"containerID\": 0, \"hostID\": 100000, \"size\": 10},"
			     " {\"containerID\": 20, \"hostID\": 100020, \"size\": 1}]"));
}

/* user_namespaces(7): at most 340 lines per map. */
static void test_id_mapping_count(void **state)
{
	(void)state;
	char *maps = NULL;
	size_t len = 0;

	for (int n = 340; n <= 341; n++) {
		FILE *f = open_memstream(&maps, &len);
		assert_non_null(f);
		fputc('[', f);
		for (int i = 0; i < n; i++)
			fprintf(f, "%s{\"containerID\": %d, \"hostID\": %d, \"size\": 1}",
				i ? ", " : "", i, 100000 + i);
		fputc(']', f);
		assert_int_equal(fclose(f), 0);
		if (n == 340)
			assert_accepted(NEW_USERNS, GIDS(MAP_64K), UIDS(maps));
		else
			assert_rejected("linux.uidMappings[340]: more than 340 ranges", NEW_USERNS,
					GIDS(MAP_64K), UIDS(maps));
		free(maps);
		maps = NULL;
	}
}

/* ---- time namespace: linux.timeOffsets ---- */

#define NEW_TIMENS "linux.namespaces[1]", "{\"type\": \"time\"}"
#define OFFSETS(v) "linux.timeOffsets", v

static void test_time_offsets(void **state)
{
	(void)state;
	struct hk_spec *s =
		parse_ok(NEW_TIMENS,
			 OFFSETS("{\"monotonic\": {\"secs\": 3600, \"nanosecs\": 999999999},"
				 " \"boottime\": {\"secs\": -31536000}}"),
			 NULL);
	assert_non_null(spec_ns(s, HK_NS_TIME));
	assert_true(s->monotonic.set);
	assert_int_equal(s->monotonic.secs, 3600);
	assert_int_equal(s->monotonic.nanosecs, 999999999);
	assert_true(s->boottime.set);
	assert_int_equal(s->boottime.secs, -31536000);
	assert_int_equal(s->boottime.nanosecs, 0);
	spec_free(s);

	s = parse_ok(NEW_TIMENS, OFFSETS("{\"boottime\": {\"nanosecs\": 5}}"), NULL);
	assert_false(s->monotonic.set);
	assert_true(s->boottime.set);
	assert_int_equal(s->boottime.secs, 0);
	assert_int_equal(s->boottime.nanosecs, 5);
	spec_free(s);

	/* A new time namespace without offsets; one joined by path. */
	s = parse_ok(NEW_TIMENS, NULL);
	assert_false(s->monotonic.set);
	assert_false(s->boottime.set);
	spec_free(s);
	s = parse_ok("linux.namespaces[1]", "{\"type\": \"time\", \"path\": \"/proc/1/ns/time\"}",
		     NULL);
	assert_string_equal(spec_ns(s, HK_NS_TIME)->path, "/proc/1/ns/time");
	spec_free(s);
	assert_accepted(NEW_TIMENS, OFFSETS("{}"));
}

static void test_time_offsets_rejected(void **state)
{
	(void)state;
	assert_rejected("linux.timeOffsets: needs a new time namespace",
			OFFSETS("{\"monotonic\": {\"secs\": 1}}"));
	assert_rejected("linux.timeOffsets: needs a new time namespace", "linux.namespaces[1]",
			"{\"type\": \"time\", \"path\": \"/proc/1/ns/time\"}",
			OFFSETS("{\"boottime\": {\"secs\": 1}}"));
	assert_rejected("linux.timeOffsets.realtime: only monotonic and boottime", NEW_TIMENS,
			OFFSETS("{\"realtime\": {\"secs\": 1}}"));
	assert_rejected(
		"linux.timeOffsets.monotonic_raw: only monotonic and boottime", NEW_TIMENS,
		OFFSETS("{\"monotonic\": {\"secs\": 1}, \"monotonic_raw\": {\"secs\": 1}}"));
	assert_rejected("linux.timeOffsets.monotonic.nanosecs: 1000000000 out of range", NEW_TIMENS,
			OFFSETS("{\"monotonic\": {\"secs\": 1, \"nanosecs\": 1000000000}}"));
	assert_rejected("linux.timeOffsets.boottime.nanosecs: -1 out of range", NEW_TIMENS,
			OFFSETS("{\"boottime\": {\"nanosecs\": -1}}"));
	assert_rejected("linux.timeOffsets.boottime.secs: expected an integer", NEW_TIMENS,
			OFFSETS("{\"boottime\": {\"secs\": \"1\"}}"));
	assert_rejected("linux.timeOffsets.monotonic: expected an object", NEW_TIMENS,
			OFFSETS("{\"monotonic\": 5}"));
	assert_rejected("linux.timeOffsets: expected an object", NEW_TIMENS, OFFSETS("[]"));
}

/* ---- hostname, sysctl, propagation ---- */

static void test_hostname(void **state)
{
	(void)state;
	assert_rejected("hostname: needs a uts namespace", "hostname", "\"box\"");
	assert_rejected("domainname: needs a uts namespace", "domainname", "\"example.org\"");
	/* One joined by path takes it (as with runc), unless it is the host's:
	 * checked when opened, at create. */
	assert_accepted("hostname", "\"box\"", "linux.namespaces[1]",
			"{\"type\": \"uts\", \"path\": \"/proc/1/ns/uts\"}");
	char longname[80];
	memset(longname, 'h', sizeof(longname));
	longname[0] = '"';
	longname[66] = '"'; /* 65 characters */
	longname[67] = '\0';
	assert_rejected("hostname: longer than 64 characters", "hostname", longname,
			"linux.namespaces[1]", "{\"type\": \"uts\"}");
	longname[65] = '"';
	longname[66] = '\0';
	assert_accepted("hostname", longname, "linux.namespaces[1]", "{\"type\": \"uts\"}");
}

static void test_sysctl(void **state)
{
	(void)state;
	assert_rejected("linux.sysctl.kernel.panic: not a namespaced sysctl", "linux.sysctl",
			"{\"kernel.panic\": \"1\"}");
	assert_rejected("linux.sysctl.net.ipv4.ip_forward: needs a new network namespace or one "
			"joined by path",
			"linux.sysctl", "{\"net.ipv4.ip_forward\": \"1\"}");
	/* joined by path, as podman does: whether it is the host's is known
	 * only at create (linux/sysctl.c) */
	assert_accepted("linux.sysctl", "{\"net.ipv4.ip_forward\": \"1\"}", "linux.namespaces[1]",
			"{\"type\": \"network\", \"path\": \"/run/netns/x\"}");
	assert_rejected("not a namespaced sysctl", "linux.sysctl", "{\"net..x\": \"1\"}",
			"linux.namespaces[1]", "{\"type\": \"network\"}");
	assert_rejected("not a namespaced sysctl", "linux.sysctl", "{\"net/ipv4/x\": \"1\"}",
			"linux.namespaces[1]", "{\"type\": \"network\"}");
	assert_rejected(
		"linux.sysctl.kernel.shmmax: needs a new ipc namespace or one joined by path",
		"linux.sysctl", "{\"kernel.shmmax\": \"1\"}");
	/* the hostname field says the name, as in runc and crun (issue 16 A13);
	 * kernel.domainname has no field in spec 1.0 */
	assert_rejected("linux.sysctl.kernel.hostname: not allowed: it conflicts with the hostname "
			"field",
			"linux.sysctl", "{\"kernel.hostname\": \"x\"}", "linux.namespaces[1]",
			"{\"type\": \"uts\"}");
	assert_accepted("linux.sysctl", "{\"kernel.domainname\": \"x\"}", "linux.namespaces[1]",
			"{\"type\": \"uts\"}");
	assert_rejected("linux.sysctl.net.core.somaxconn: expected a string", "linux.sysctl",
			"{\"net.core.somaxconn\": 1}");

	struct hk_spec *s = parse_ok("linux.sysctl",
				     "{\"net.ipv4.ip_forward\": \"1\", \"kernel.shmmax\": \"4096\","
				     " \"fs.mqueue.msg_max\": \"20\"}",
				     "linux.namespaces[1]", "{\"type\": \"network\"}",
				     "linux.namespaces[2]", "{\"type\": \"ipc\"}", NULL);
	assert_int_equal(s->n_sysctl, 3);
	bool seen = false;
	for (size_t i = 0; i < s->n_sysctl; i++) {
		if (strcmp(s->sysctl[i].key, "net.ipv4.ip_forward") == 0) {
			assert_string_equal(s->sysctl[i].value, "1");
			seen = true;
		}
	}
	assert_true(seen);
	spec_free(s);
}

static void test_rootfs_propagation(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		unsigned long flags;
	} cases[] = {
		{"\"shared\"", MS_SHARED},
		{"\"slave\"", MS_SLAVE},
		{"\"private\"", MS_PRIVATE},
		{"\"unbindable\"", MS_UNBINDABLE},
		{"\"rshared\"", MS_SHARED | MS_REC},
		{"\"rslave\"", MS_SLAVE | MS_REC},
		{"\"rprivate\"", MS_PRIVATE | MS_REC},
		{"\"runbindable\"", MS_UNBINDABLE | MS_REC},
		{"\"\"", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hk_spec *s = parse_ok("linux.rootfsPropagation", cases[i].json, NULL);
		assert_int_equal(s->rootfs_propagation, cases[i].flags);
		spec_free(s);
	}
	assert_rejected("linux.rootfsPropagation: unknown propagation \"recursive\"",
			"linux.rootfsPropagation", "\"recursive\"");
	assert_rejected("linux.rootfsPropagation: expected a string", "linux.rootfsPropagation",
			"1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_namespaces_absent),
		cmocka_unit_test(test_linux_absent),
		cmocka_unit_test(test_id_mappings),
		cmocka_unit_test(test_id_mappings_need_user_ns),
		cmocka_unit_test(test_id_mapping_ranges),
		cmocka_unit_test(test_id_mapping_overlaps),
		cmocka_unit_test(test_id_mapping_count),
		cmocka_unit_test(test_time_offsets),
		cmocka_unit_test(test_time_offsets_rejected),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_sysctl),
		cmocka_unit_test(test_rootfs_propagation),
	};
	return cmocka_run_group_tests(tests, bundle_setup, bundle_teardown);
}
