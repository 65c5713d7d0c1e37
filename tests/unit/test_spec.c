/* spec/: config.json decoding and validation: valid configs, JSON syntax,
 * types, root, process, spec_load and names. Each case edits a small valid
 * config (base_json, spec-harness.h) with json-c and checks the decoded
 * struct, or that the error names the JSON path. linux.*: test_spec_linux.c
 * and test_spec_mounts.c. */
#include "spec-harness.h"

/* ---- valid configs ---- */

static void test_minimal(void **state)
{
	(void)state;
	struct hk_err err;
	struct hk_spec *s = spec_parse(base_json, strlen(base_json), bundle, &err);

	assert_non_null(s);
	assert_string_equal(s->oci_version, "1.0.0");
	assert_string_equal(s->bundle, bundle);
	assert_string_equal(s->root_path, bundle_path("rootfs"));
	assert_false(s->root_readonly);
	assert_null(s->hostname);
	assert_null(s->domainname);
	assert_false(s->process.terminal);
	assert_int_equal(s->process.n_args, 3);
	assert_string_equal(s->process.args[0], "/bin/sh");
	assert_string_equal(s->process.args[1], "-c");
	assert_string_equal(s->process.args[2], "true");
	assert_null(s->process.args[3]); /* NULL-terminated for execve */
	assert_int_equal(s->process.n_env, 0);
	assert_string_equal(s->process.cwd, "/work");
	assert_int_equal(s->process.uid, 0);
	assert_int_equal(s->process.gid, 0);
	assert_false(s->process.has_umask);
	/* no process.capabilities: none at all, as runc */
	assert_true(s->process.caps.present);
	assert_true(s->process.caps.bounding == 0 && s->process.caps.effective == 0 &&
		    s->process.caps.permitted == 0 && s->process.caps.ambient == 0);
	assert_int_equal(s->process.n_rlimits, 0);
	assert_false(s->process.no_new_privileges);
	assert_false(s->process.has_oom_score_adj);
	assert_int_equal(s->n_mounts, 0);
	assert_int_equal(s->n_namespaces, 1);
	assert_int_equal(s->namespaces[0].type, HK_NS_MNT);
	assert_null(s->namespaces[0].path);
	assert_ptr_equal(spec_ns(s, HK_NS_MNT), &s->namespaces[0]);
	assert_null(spec_ns(s, HK_NS_PID));
	assert_int_equal(s->n_devices, 0);
	assert_int_equal(s->n_dev_rules, 0);
	assert_int_equal(s->n_masked_paths, 0);
	assert_int_equal(s->n_readonly_paths, 0);
	assert_int_equal(s->rootfs_propagation, 0);
	assert_int_equal(s->n_sysctl, 0);
	assert_int_equal(s->n_annotations, 0);
	assert_null(s->cgroups_path);
	spec_free(s);
}

static void test_full_fields(void **state)
{
	(void)state;
	struct hk_spec *s =
		parse_ok("root", "{\"path\": \"rootfs\", \"readonly\": true}", "hostname",
			 "\"box\"", "domainname", "\"example.org\"", "process.env",
			 "[\"PATH=/bin\", \"EMPTY=\"]", "process.user",
			 "{\"uid\": 1000, \"gid\": 100, \"umask\": 18, \"additionalGids\": [5, 6]}",
			 "process.noNewPrivileges", "true", "process.oomScoreAdj", "-500",
			 "linux.namespaces",
			 "[{\"type\": \"mount\"}, {\"type\": \"uts\"}, {\"type\": \"pid\"},"
			 " {\"type\": \"network\", \"path\": \"/proc/1/ns/net\"},"
			 " {\"type\": \"ipc\", \"path\": \"\"}, {\"type\": \"cgroup\"}]",
			 "linux.cgroupsPath", "\"/husk/box\"", "annotations",
			 "{\"org.example.a\": \"1\", \"b\": \"two\"}", NULL);

	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "box");
	assert_string_equal(s->domainname, "example.org");
	assert_int_equal(s->process.n_env, 2);
	assert_string_equal(s->process.env[1], "EMPTY=");
	assert_null(s->process.env[2]);
	assert_int_equal(s->process.uid, 1000);
	assert_int_equal(s->process.gid, 100);
	assert_true(s->process.has_umask);
	assert_int_equal(s->process.umask, 022);
	assert_int_equal(s->process.n_additional_gids, 2);
	assert_int_equal(s->process.additional_gids[0], 5);
	assert_int_equal(s->process.additional_gids[1], 6);
	assert_true(s->process.no_new_privileges);
	assert_true(s->process.has_oom_score_adj);
	assert_int_equal(s->process.oom_score_adj, -500);
	assert_int_equal(s->n_namespaces, 6);
	assert_int_equal(s->namespaces[3].type, HK_NS_NET);
	assert_string_equal(spec_ns(s, HK_NS_NET)->path, "/proc/1/ns/net");
	assert_null(spec_ns(s, HK_NS_IPC)->path); /* "" means a new one */
	assert_null(spec_ns(s, HK_NS_CGROUP)->path);
	assert_string_equal(s->cgroups_path, "/husk/box");
	assert_int_equal(s->n_annotations, 2);
	for (size_t i = 0; i < s->n_annotations; i++) {
		if (strcmp(s->annotations[i].key, "b") == 0)
			assert_string_equal(s->annotations[i].value, "two");
		else
			assert_string_equal(s->annotations[i].key, "org.example.a");
	}
	spec_free(s);
}

static void test_absolute_root(void **state)
{
	(void)state;
	char val[PATH_MAX + 8];
	snprintf(val, sizeof(val), "\"%s\"", bundle_path("rootfs"));
	struct hk_spec *s = parse_ok("root.path", val, NULL);
	assert_string_equal(s->root_path, bundle_path("rootfs"));
	spec_free(s);
}

static char *default_config(bool rootless)
{
	char *json = spec_default_json(rootless);
	char *t = strstr(json, "\"terminal\": true");
	assert_non_null(t);
	/* husk has no terminal support yet; same length, so overwrite in place. */
	memcpy(t, "\"terminal\":false", strlen("\"terminal\":false"));
	return json;
}

static void test_default_config(void **state)
{
	(void)state;
	struct hk_err err;
	char *json = default_config(false);
	struct hk_spec *s = spec_parse(json, strlen(json), bundle, &err);
	if (!s)
		fail_msg("default config rejected: %s", err.msg);
	free(json);

	assert_string_equal(s->root_path, bundle_path("rootfs"));
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "husk");
	assert_string_equal(s->process.args[0], "sh");
	assert_int_equal(s->process.n_env, 2);
	assert_string_equal(s->process.cwd, "/");
	assert_true(s->process.no_new_privileges);

	static const enum hk_ns_type ns[] = {HK_NS_PID, HK_NS_NET, HK_NS_IPC,
					     HK_NS_UTS, HK_NS_MNT, HK_NS_CGROUP};
	assert_int_equal(s->n_namespaces, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(s->namespaces[i].type, ns[i]);
		assert_null(s->namespaces[i].path);
	}
	assert_null(spec_ns(s, HK_NS_USER));

	static const char *const dests[] = {"/proc",       "/dev", "/dev/pts",      "/dev/shm",
					    "/dev/mqueue", "/sys", "/sys/fs/cgroup"};
	assert_int_equal(s->n_mounts, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(s->mounts[i].destination, dests[i]);
	assert_string_equal(s->mounts[0].type, "proc");
	assert_string_equal(s->mounts[0].source, "proc");
	assert_int_equal(s->mounts[0].n_options, 0);
	assert_int_equal(s->mounts[1].n_options, 4);
	assert_string_equal(s->mounts[1].options[2], "mode=755");
	assert_int_equal(s->mounts[2].n_options, 6);
	assert_string_equal(s->mounts[2].options[5], "gid=5");
	assert_string_equal(s->mounts[5].type, "sysfs");

	uint64_t caps = 1ULL << 29 /* AUDIT_WRITE */ | 1ULL << 5 /* KILL */ |
			1ULL << 10 /* NET_BIND_SERVICE */;
	assert_true(s->process.caps.present);
	assert_int_equal(s->process.caps.bounding, caps);
	assert_int_equal(s->process.caps.effective, caps);
	assert_int_equal(s->process.caps.permitted, caps);
	assert_int_equal(s->process.caps.ambient, caps);
	assert_int_equal(s->process.caps.inheritable, 0);

	assert_int_equal(s->process.n_rlimits, 1);
	assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process.rlimits[0].soft, 1024);
	assert_int_equal(s->process.rlimits[0].hard, 1024);

	assert_int_equal(s->n_dev_rules, 1);
	assert_false(s->dev_rules[0].allow);
	assert_int_equal(s->dev_rules[0].type, 'a');
	assert_int_equal(s->dev_rules[0].major, -1);
	assert_int_equal(s->dev_rules[0].minor, -1);
	assert_string_equal(s->dev_rules[0].access, "rwm");

	assert_int_equal(s->n_masked_paths, 10);
	assert_string_equal(s->masked_paths[0], "/proc/acpi");
	assert_string_equal(s->masked_paths[9], "/proc/scsi");
	assert_int_equal(s->n_readonly_paths, 5);
	assert_string_equal(s->readonly_paths[0], "/proc/bus");
	assert_string_equal(s->readonly_paths[4], "/proc/sysrq-trigger");
	spec_free(s);
}

/* `husk spec --rootless`: a new user namespace mapping root to the caller's
 * own uid and gid, /sys bound from the host, no gid=5 for devpts. */
static void test_default_rootless(void **state)
{
	(void)state;
	struct hk_err err;
	char *json = default_config(true);
	struct hk_spec *s = spec_parse(json, strlen(json), bundle, &err);
	if (!s)
		fail_msg("rootless default config rejected: %s", err.msg);
	free(json);

	static const enum hk_ns_type ns[] = {HK_NS_PID, HK_NS_NET,    HK_NS_IPC, HK_NS_UTS,
					     HK_NS_MNT, HK_NS_CGROUP, HK_NS_USER};
	assert_int_equal(s->n_namespaces, sizeof(ns) / sizeof(ns[0]));
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		const struct hk_namespace *n = spec_ns(s, ns[i]);
		if (!n)
			fail_msg("no %s namespace", spec_ns_name(ns[i]));
		assert_null(n->path);
	}
	assert_null(spec_ns(s, HK_NS_TIME));

	assert_int_equal(s->n_uid_mappings, 1);
	assert_int_equal(s->uid_mappings[0].container_id, 0);
	assert_int_equal(s->uid_mappings[0].host_id, geteuid());
	assert_int_equal(s->uid_mappings[0].size, 1);
	assert_int_equal(s->n_gid_mappings, 1);
	assert_int_equal(s->gid_mappings[0].container_id, 0);
	assert_int_equal(s->gid_mappings[0].host_id, getegid());
	assert_int_equal(s->gid_mappings[0].size, 1);

	assert_int_equal(s->n_mounts, 7);
	assert_string_equal(s->mounts[2].destination, "/dev/pts");
	for (size_t i = 0; i < s->mounts[2].n_options; i++)
		if (strcmp(s->mounts[2].options[i], "gid=5") == 0)
			fail_msg("devpts has gid=5: no group 5 is mapped");
	assert_string_equal(s->mounts[5].destination, "/sys");
	assert_string_equal(s->mounts[5].source, "/sys");
	assert_string_not_equal(s->mounts[5].type ? s->mounts[5].type : "", "sysfs");
	bool rbind = false, ro = false;
	for (size_t i = 0; i < s->mounts[5].n_options; i++) {
		rbind |= strcmp(s->mounts[5].options[i], "rbind") == 0;
		ro |= strcmp(s->mounts[5].options[i], "ro") == 0;
	}
	assert_true(rbind);
	assert_true(ro);
	spec_free(s);
}

static void test_unknown_keys_ignored(void **state)
{
	(void)state;
	assert_accepted("futureTopLevel", "{\"a\": [1, 2]}", "process.futureKey", "7",
			"linux.futureKey", "\"x\"", "root.futureKey", "true",
			"linux.namespaces[0].futureKey", "[]");
}

/* ---- JSON syntax ---- */

static void test_json_syntax(void **state)
{
	(void)state;
	static const char trailing[] = "{\"ociVersion\": \"1.0.0\"} x";
	static const char bad_utf8[] = "{\"ociVersion\": \"1.0.0\", \"hostname\": \"\xff\xfe\"}";
	static const char nul[] =
		"{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"root\\u0000fs\"}}";

	assert_text_rejected("{\"ociVersion\": ", 15, "config.json: invalid JSON");
	assert_text_rejected("{\"ociVersion\" \"1.0.0\"}", 22, "config.json: invalid JSON");
	assert_text_rejected("", 0, "config.json: invalid JSON");
	assert_text_rejected(trailing, strlen(trailing), "config.json: invalid JSON");
	assert_text_rejected("{} {}", 5, "config.json: invalid JSON");
	assert_text_rejected(bad_utf8, strlen(bad_utf8), "config.json: invalid JSON");
	/* Strict mode: no comments, no single-quoted values (json-c 0.16 still
	 * takes a single-quoted key, and NaN: neither reaches a decoded field). */
	assert_text_rejected("{/* c */}", 9, "config.json: invalid JSON");
	assert_text_rejected("{\"a\": 'x'}", 10, "config.json: invalid JSON");
	assert_text_rejected("{\"a\": 1,}", 9, "config.json: invalid JSON");
	assert_text_rejected(nul, strlen(nul), "root.path: string contains a NUL byte");
	assert_text_rejected("[]", 2, "config.json: expected an object");

	/* Trailing white space is fine. */
	char *text = NULL;
	if (asprintf(&text, "%s \n\t\r\n", base_json) < 0)
		fail();
	struct hk_err err;
	struct hk_spec *s = spec_parse(text, strlen(text), bundle, &err);
	free(text);
	assert_non_null(s);
	spec_free(s);
}

/* ---- types ---- */

static void test_wrong_types(void **state)
{
	(void)state;
	assert_rejected("hostname: expected a string, got an integer", "hostname", "5");
	assert_rejected("process.args: expected an array, got a string", "process.args", "\"sh\"");
	assert_rejected("process.args[1]: expected a string", "process.args[1]", "1");
	assert_rejected("linux.namespaces[0].type: expected a string, got an integer",
			"linux.namespaces[0].type", "7");
	assert_rejected("linux.namespaces[0]: expected an object", "linux.namespaces[0]",
			"\"mount\"");
	assert_rejected("root.readonly: expected a boolean", "root.readonly", "\"yes\"");
	assert_rejected("process: expected an object", "process", "[]");
	assert_rejected("process.terminal: expected a boolean", "process.terminal", "0");
	assert_rejected("process.user.uid: expected an integer, got a number", "process.user.uid",
			"1.5");
	assert_rejected("process.user.uid: expected an integer, got a string", "process.user.uid",
			"\"12\"");
	assert_rejected("linux: expected an object", "linux", "true");
	assert_rejected("mounts: expected an array", "mounts", "{}");
	assert_rejected("annotations.k: expected a string", "annotations", "{\"k\": 1}");
	/* null counts as absent. */
	assert_accepted("hostname", "null", "process.env", "null");
}

/* ---- ociVersion, root ---- */

static void test_version(void **state)
{
	(void)state;
	assert_rejected("ociVersion", "ociVersion", "\"2.0.0\"");
	assert_rejected("ociVersion: missing", "ociVersion", DEL);
	assert_rejected("ociVersion: \"abc\" is not a version", "ociVersion", "\"abc\"");
	assert_rejected("ociVersion", "ociVersion", "\"\"");
	assert_rejected("ociVersion", "ociVersion", "\"0.9\"");
	assert_accepted("ociVersion", "\"1.2.0\"");
	assert_accepted("ociVersion", "\"1.0.2-dev\"");
}

static void test_root(void **state)
{
	(void)state;
	assert_rejected("root: missing", "root", DEL);
	assert_rejected("root.path: missing", "root.path", DEL);
	assert_rejected("root.path: missing", "root.path", "\"\"");
	assert_rejected("root.path: ", "root.path", "\"nope\"");
	assert_rejected("No such file or directory", "root.path", "\"nope\"");
	assert_rejected("is not a directory", "root.path", "\"afile\"");
}

/* ---- process ---- */

static void test_process(void **state)
{
	(void)state;
	assert_rejected("process: missing", "process", DEL);
	assert_rejected("process.cwd: \"work\" is not an absolute path", "process.cwd", "\"work\"");
	assert_rejected("process.cwd: missing", "process.cwd", DEL);
	assert_rejected("process.args: must name a program", "process.args", "[]");
	assert_rejected("process.args: must name a program", "process.args", DEL);
	assert_rejected("executable file not found in $PATH", "process.args", "[\"\"]");
	assert_rejected("process.env[1]", "process.env", "[\"A=1\", \"NOEQUALS\"]");
	assert_rejected("process.env[0]", "process.env", "[\"=x\"]");
	assert_rejected("process.user.username: not supported yet", "process.user.username",
			"\"root\"");
}

static void test_user(void **state)
{
	(void)state;
	assert_rejected("process.user.uid: -1 out of range", "process.user.uid", "-1");
	assert_rejected("process.user.uid: 4294967296 out of range", "process.user.uid",
			"4294967296");
	/* (uid_t)-1 means "unchanged" to setresuid(2): not a valid id. */
	assert_rejected("process.user.uid", "process.user.uid", "4294967295");
	assert_rejected("process.user.uid", "process.user.uid", "18446744073709551615");
	assert_rejected("process.user.gid: -5 out of range", "process.user.gid", "-5");
	assert_rejected("process.user.umask", "process.user.umask", "4096");
	assert_rejected("process.user.additionalGids[1]", "process.user.additionalGids", "[1, -1]");
	assert_rejected("process.user.additionalGids: expected an array",
			"process.user.additionalGids", "5");

	struct hk_spec *s = parse_ok("process.user.uid", "4294967294", NULL);
	assert_int_equal(s->process.uid, 4294967294U);
	spec_free(s);
}

static void test_oom_score_adj(void **state)
{
	(void)state;
	assert_rejected("process.oomScoreAdj: 1001 out of range", "process.oomScoreAdj", "1001");
	assert_rejected("process.oomScoreAdj: -1001 out of range", "process.oomScoreAdj", "-1001");
	struct hk_spec *s = parse_ok("process.oomScoreAdj", "-1000", NULL);
	assert_true(s->process.has_oom_score_adj);
	assert_int_equal(s->process.oom_score_adj, -1000);
	spec_free(s);
}

static void test_capabilities(void **state)
{
	(void)state;
	assert_rejected("process.capabilities.bounding[0]: unknown capability \"CAP_FLY\"",
			"process.capabilities.bounding", "[\"CAP_FLY\"]");
	assert_rejected("process.capabilities.ambient[1]", "process.capabilities.ambient",
			"[\"CAP_KILL\", \"kill\"]");
	assert_rejected("process.capabilities.effective[0]: expected a string",
			"process.capabilities.effective", "[1]");

	struct hk_spec *s = parse_ok("process.capabilities",
				     "{\"bounding\": [\"CAP_CHOWN\", \"CAP_SYS_ADMIN\","
				     " \"CAP_CHECKPOINT_RESTORE\"], \"inheritable\": []}",
				     NULL);
	assert_true(s->process.caps.present);
	assert_int_equal(s->process.caps.bounding, 1ULL << 0 | 1ULL << 21 | 1ULL << 40);
	assert_int_equal(s->process.caps.inheritable, 0);
	assert_int_equal(s->process.caps.effective, 0);
	spec_free(s);
}

static void test_rlimits(void **state)
{
	(void)state;
	assert_rejected("process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"", "process.rlimits",
			"[{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]");
	assert_rejected("process.rlimits[0]: soft limit 2048 above hard limit 1024",
			"process.rlimits",
			"[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 2048, \"hard\": 1024}]");
	assert_rejected("process.rlimits[1].type: duplicate rlimit", "process.rlimits",
			"[{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 1},"
			" {\"type\": \"RLIMIT_NOFILE\", \"soft\": 2, \"hard\": 2}]");
	assert_rejected("process.rlimits[0].soft: must not be negative", "process.rlimits",
			"[{\"type\": \"RLIMIT_CORE\", \"soft\": -1, \"hard\": 1}]");
	assert_rejected("process.rlimits[0]: soft and hard are required", "process.rlimits",
			"[{\"type\": \"RLIMIT_CORE\", \"soft\": 1}]");
	assert_rejected("process.rlimits[0].type: missing", "process.rlimits",
			"[{\"soft\": 1, \"hard\": 1}]");
	assert_rejected("process.rlimits[0].hard: expected an integer", "process.rlimits",
			"[{\"type\": \"RLIMIT_CORE\", \"soft\": 1, \"hard\": \"unlimited\"}]");

	struct hk_spec *s = parse_ok("process.rlimits",
				     "[{\"type\": \"RLIMIT_CORE\", \"soft\": 0,"
				     " \"hard\": 18446744073709551615},"
				     " {\"type\": \"RLIMIT_STACK\", \"soft\": 9223372036854775808,"
				     " \"hard\": 18446744073709551615}]",
				     NULL);
	assert_int_equal(s->process.n_rlimits, 2);
	assert_int_equal(s->process.rlimits[0].resource, RLIMIT_CORE);
	assert_int_equal(s->process.rlimits[0].soft, 0);
	assert_true(s->process.rlimits[0].hard == UINT64_MAX);
	assert_int_equal(s->process.rlimits[1].resource, RLIMIT_STACK);
	assert_true(s->process.rlimits[1].soft == 1ULL << 63);
	assert_true(s->process.rlimits[1].hard == UINT64_MAX);
	spec_free(s);
}

/* ---- spec_load, names, spec_clean_path ---- */

static void write_config(const char *text)
{
	FILE *f = fopen(bundle_path("config.json"), "we");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_spec_load(void **state)
{
	(void)state;
	struct hk_err err;

	write_config(base_json);
	struct hk_spec *s = spec_load(bundle, &err);
	if (!s)
		fail_msg("spec_load: %s", err.msg);
	assert_string_equal(s->root_path, bundle_path("rootfs"));
	spec_free(s);

	/* A relative bundle is made absolute. */
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(bundle_path("rootfs")), 0);
	s = spec_load("..", &err);
	assert_int_equal(chdir(cwd), 0);
	if (!s)
		fail_msg("spec_load(\"..\"): %s", err.msg);
	char *real = realpath(bundle, NULL);
	assert_string_equal(s->bundle, real);
	free(real);
	spec_free(s);

	s = spec_load(bundle_path("rootfs"), &err); /* no config.json there */
	assert_null(s);
	assert_int_equal(err.errnum, ENOENT);

	s = spec_load(bundle_path("nope"), &err);
	assert_null(s);
	assert_int_equal(err.errnum, ENOENT);
	check_msg(&err, "bundle ");
	assert_int_equal(unlink(bundle_path("config.json")), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(spec_cap_name(0), "CAP_CHOWN");
	assert_string_equal(spec_cap_name(21), "CAP_SYS_ADMIN");
	assert_int_equal(spec_cap_last(), 40);
	assert_string_equal(spec_cap_name(spec_cap_last()), "CAP_CHECKPOINT_RESTORE");
	assert_null(spec_cap_name(spec_cap_last() + 1));
	assert_null(spec_cap_name(-1));
	assert_int_equal(spec_cap_from_name("CAP_NET_ADMIN"), 12);
	assert_int_equal(spec_cap_from_name("NET_ADMIN"), -1);
	assert_int_equal(spec_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(spec_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(spec_rlimit_from_name("NOFILE"), -1);
	assert_string_equal(spec_ns_name(HK_NS_NET), "network");
	assert_string_equal(spec_ns_name(HK_NS_MNT), "mount");
	assert_string_equal(spec_ns_name(HK_NS_COUNT), "?");
}

static void check_clean(const char *in, const char *want)
{
	char *out = spec_clean_path(in);
	if (strcmp(out, want) != 0)
		fail_msg("spec_clean_path(\"%s\") = \"%s\", want \"%s\"", in, out, want);
	free(out);
}

static void test_clean_path(void **state)
{
	(void)state;
	check_clean("/a//b/../c", "/a/c");
	check_clean("../../x", "/x");
	check_clean("/", "/");
	check_clean("a/./b/", "/a/b");
	check_clean("", "/");
	check_clean("//", "/");
	check_clean("/..", "/");
	check_clean("/a/b/../../..", "/");
	check_clean("/a/../../b/./c//", "/b/c");
	check_clean("/./.", "/");
	check_clean("/...", "/...");
	check_clean("/..a/b..", "/..a/b..");
	check_clean("/proc/self/../1", "/proc/1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full_fields),
		cmocka_unit_test(test_absolute_root),
		cmocka_unit_test(test_default_config),
		cmocka_unit_test(test_default_rootless),
		cmocka_unit_test(test_unknown_keys_ignored),
		cmocka_unit_test(test_json_syntax),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_oom_score_adj),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_rlimits),
		cmocka_unit_test(test_spec_load),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_clean_path),
	};
	return cmocka_run_group_tests(tests, bundle_setup, bundle_teardown);
}
