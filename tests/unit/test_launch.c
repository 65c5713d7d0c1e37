/* image/ and launch/: digests, entry names, whiteouts, index and config
 * decoding, and the values of husk launch's options (no root needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/image.h"
#include "image/unpack.h"
#include "launch/launch.h"
#include "launch/pasta.h"
#include "launch/userns.h"
#include "spec/spec.h"

#define HEX_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_digest(void **state)
{
	struct hk_err err = {0};
	char hex[IMG_HEX_LEN + 1];

	(void)state;
	img_sha256_buf("abc", 3, hex);
	assert_string_equal(hex, HEX_ABC);
	assert_int_equal(img_digest_parse("sha256:" HEX_ABC, "d", hex, &err), 0);
	assert_string_equal(hex, HEX_ABC);
	assert_int_equal(img_verify_buf("abc", 3, HEX_ABC, "blob", &err), 0);
	assert_int_equal(img_verify_buf("abd", 3, HEX_ABC, "blob", &err), -1);
	assert_non_null(strstr(err.msg, "does not match its digest sha256:" HEX_ABC));
	assert_int_equal(img_digest_parse("sha512:" HEX_ABC, "d", hex, &err), -1);
	assert_non_null(strstr(err.msg, "not supported"));
	assert_int_equal(img_digest_parse("sha256:../../etc/passwd", "d", hex, &err), -1);
	assert_int_equal(img_digest_parse("sha256:" HEX_ABC "0", "d", hex, &err), -1);
	assert_int_equal(
		img_digest_parse(
			"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
			"d", hex, &err),
		-1);
	assert_int_equal(img_digest_parse(HEX_ABC, "d", hex, &err), -1);
}

static void clean(const char *in, const char *want)
{
	char buf[256];
	strcpy(buf, in);
	int r = img_clean_name(buf);
	if (!want) {
		if (r == 0)
			fail_msg("\"%s\" accepted as \"%s\"", in, buf);
		return;
	}
	if (r < 0 || strcmp(buf, want) != 0)
		fail_msg("\"%s\" -> \"%s\" (%d), want \"%s\"", in, buf, r, want);
}

static void test_clean_name(void **state)
{
	(void)state;
	clean("a/b", "a/b");
	clean("./a/b/", "a/b");
	clean("/etc/passwd", "etc/passwd");
	clean("//./x", "x");
	clean("a/..b", "a/..b");
	clean("..", NULL);
	clean("a/../../b", NULL);
	clean("../x", NULL);
	clean("a/..", NULL);
	clean("./", NULL);
	clean("", NULL);
	/* no component is "." or empty afterwards: nothing acts on "." */
	clean("a/.", "a");
	clean("a/./b//c", "a/b/c");
	clean("./.", NULL);
	clean("a/./..", NULL);
	clean(".wh..", ".wh..");
}

static void test_whiteouts(void **state)
{
	const char *t = NULL;

	(void)state;
	assert_int_equal(img_whiteout_of(".wh..wh..opq", &t), IMG_WH_OPAQUE);
	assert_int_equal(img_whiteout_of(".wh.passwd", &t), IMG_WH_FILE);
	assert_string_equal(t, "passwd");
	assert_int_equal(img_whiteout_of(".wh..hidden", &t), IMG_WH_FILE);
	assert_string_equal(t, ".hidden");
	assert_int_equal(img_whiteout_of("passwd", &t), IMG_WH_NONE);
	assert_int_equal(img_whiteout_of(".whx", &t), IMG_WH_NONE);
	/* names that would whiteout the directory itself or its parent */
	assert_int_equal(img_whiteout_of(".wh..", &t), IMG_WH_BAD);
	assert_int_equal(img_whiteout_of(".wh...", &t), IMG_WH_BAD);
	assert_int_equal(img_whiteout_of(".wh.", &t), IMG_WH_BAD);
	/* aufs metadata (.wh..wh.plnk, .wh..wh.aufs): not ours, ignored */
	assert_int_equal(img_whiteout_of(".wh..wh.plnk", &t), IMG_WH_META);
	assert_int_equal(img_whiteout_of(".wh..wh.", &t), IMG_WH_META);
}

static const char index_two[] =
	"{\"schemaVersion\": 2, \"manifests\": ["
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:1\","
	" \"platform\": {\"architecture\": \"s390x\", \"os\": \"linux\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.index.v1+json\", \"digest\": \"sha256:" HEX_ABC
	"\", \"size\": 20, \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}}]}";

static void test_index_pick(void **state)
{
	struct hk_err err = {0};
	char *digest = NULL;
	int64_t size = 0;
	bool nested = false;

	(void)state;
#if defined(__x86_64__)
	assert_int_equal(img_index_pick(index_two, strlen(index_two), "index.json", &digest, &size,
					&nested, &err),
			 0);
	assert_string_equal(digest, "sha256:" HEX_ABC);
	assert_int_equal(size, 20);
	assert_true(nested);
	free(digest);
#endif
	const char *one = "{\"manifests\": [{\"digest\": \"sha256:" HEX_ABC "\", \"size\": 7}]}";
	assert_int_equal(
		img_index_pick(one, strlen(one), "index.json", &digest, &size, &nested, &err), 0);
	assert_string_equal(digest, "sha256:" HEX_ABC);
	assert_int_equal(size, 7);
	assert_false(nested);
	free(digest);
	const char *bad[][2] = {
		{"{\"manifests\": 5}", "index.json.manifests: expected an array"},
		{"{\"manifests\": []}", "index.json: manifests: empty"},
		{"{}", "index.json: manifests: missing"},
		{"[1]", "index.json: expected an object"},
		{"{\"manifests\": [{}]}", "digest: missing"},
		{"{\"manifests\": [{\"digest\": 3}]}", "expected a string"},
		{"{\"manifests\": [", "index.json"},
		{"{\"manifests\": [{\"digest\": \"sha256:9\", \"size\": 1}]}",
		 "not a sha256 digest"},
		{"{\"manifests\": [{\"digest\": \"sha256:" HEX_ABC "\"}]}",
		 "manifests[0].size: missing"},
		{"{\"manifests\": [{\"digest\": \"sha256:" HEX_ABC "\", \"size\": -1}]}", "size"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		digest = NULL;
		if (img_index_pick(bad[i][0], strlen(bad[i][0]), "index.json", &digest, &size,
				   &nested, &err) == 0)
			fail_msg("%s accepted", bad[i][0]);
		if (!strstr(err.msg, bad[i][1]))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i][0], err.msg, bad[i][1]);
		free(digest);
	}
}

static void test_config_parse(void **state)
{
	struct img_config c;
	struct hk_err err = {0};
	const char *json = "{\"config\": {\"Entrypoint\": [\"/bin/sh\", \"-c\"], \"Cmd\": null,"
			   " \"Env\": [\"A=1\"], \"WorkingDir\": \"/srv\", \"User\": \"www:www\","
			   " \"ExposedPorts\": {\"80/tcp\": {}, \"53/udp\": {}}}}";

	(void)state;
	assert_int_equal(img_config_parse(json, strlen(json), &c, &err), 0);
	assert_int_equal(c.n_entrypoint, 2);
	assert_string_equal(c.entrypoint[1], "-c");
	assert_int_equal(c.n_cmd, 0);
	assert_string_equal(c.env[0], "A=1");
	assert_string_equal(c.workdir, "/srv");
	assert_string_equal(c.user, "www:www");
	assert_int_equal(c.n_exposed, 2);
	img_config_clear(&c);
	const char *bad = "{\"config\": {\"Env\": \"A=1\"}}";
	assert_int_equal(img_config_parse(bad, strlen(bad), &c, &err), -1);
	assert_non_null(strstr(err.msg, "config.Env"));
	assert_int_equal(img_config_parse("{}", 2, &c, &err), 0);
	assert_null(c.entrypoint);
}

static void test_option_values(void **state)
{
	struct hk_err err = {0};
	int64_t v = 0;
	unsigned mask = 0;
	uint32_t uid = 9, gid = 9;
	bool has_gid;

	(void)state;
	assert_int_equal(launch_parse_size("512m", &v, &err), 0);
	assert_int_equal(v, 512LL << 20);
	assert_int_equal(launch_parse_size("2G", &v, &err), 0);
	assert_int_equal(v, 2LL << 30);
	assert_int_equal(launch_parse_size("100kb", &v, &err), 0);
	assert_int_equal(v, 100 << 10);
	assert_int_equal(launch_parse_size("4096", &v, &err), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(launch_parse_size("12abc", &v, &err), -1);
	assert_int_equal(launch_parse_size("-1m", &v, &err), -1);
	assert_int_equal(launch_parse_size("0", &v, &err), -1);
	assert_int_equal(launch_parse_size("99999999999t", &v, &err), -1);
	assert_int_equal(launch_parse_cpus("1.5", &v, &err), 0);
	assert_int_equal(v, 150000);
	assert_int_equal(launch_parse_cpus("0", &v, &err), -1);
	assert_int_equal(launch_parse_cpus("x", &v, &err), -1);
	assert_int_equal(launch_parse_share("pid,net,uts", &mask, &err), 0);
	assert_int_equal(mask, (1u << HK_NS_PID) | (1u << HK_NS_NET) | (1u << HK_NS_UTS));
	assert_int_equal(launch_parse_share("mnt", &mask, &err), -1);
	assert_int_equal(launch_parse_share("pid,bogus", &mask, &err), -1);
	assert_non_null(strstr(err.msg, "bogus"));
	assert_int_equal(launch_parse_user("1000:100", &uid, &gid, &has_gid, &err), 0);
	assert_true(uid == 1000 && gid == 100 && has_gid);
	assert_int_equal(launch_parse_user("7", &uid, &gid, &has_gid, &err), 0);
	assert_true(uid == 7 && !has_gid);
	assert_int_equal(launch_parse_user("nobody", &uid, &gid, &has_gid, &err), 1);
	assert_int_equal(launch_parse_user("1:x", &uid, &gid, &has_gid, &err), -1);
	assert_int_equal(launch_parse_user("99999999999", &uid, &gid, &has_gid, &err), -1);
}

static void test_log_opts(void **state)
{
	struct hk_err err = {0};
	struct launch_log_opts lo = {LAUNCH_LOG_MAX_SIZE, LAUNCH_LOG_MAX_FILES};

	(void)state;
	assert_int_equal(launch_parse_log_opt("max-size=64k", &lo, &err), 0);
	assert_int_equal(launch_parse_log_opt("max-file=5", &lo, &err), 0);
	assert_true(lo.max_size == 64 << 10 && lo.max_files == 5);
	/* no "unlimited" (-1): the log must not be able to fill the disk */
	assert_int_equal(launch_parse_log_opt("max-size=-1", &lo, &err), -1);
	assert_non_null(strstr(err.msg, "--log-opt max-size"));
	assert_int_equal(launch_parse_log_opt("max-size=0", &lo, &err), -1);
	assert_int_equal(launch_parse_log_opt("max-file=0", &lo, &err), -1);
	assert_int_equal(launch_parse_log_opt("max-file=101", &lo, &err), -1);
	assert_int_equal(launch_parse_log_opt("max-file=2x", &lo, &err), -1);
	assert_int_equal(launch_parse_log_opt("compress=true", &lo, &err), -1);
	assert_true(lo.max_size == 64 << 10 && lo.max_files == 5);
}

static void test_volumes_and_net(void **state)
{
	struct launch_volume vol;
	struct launch_opts o = {0};
	struct hk_err err = {0};

	(void)state;
	assert_int_equal(launch_parse_volume("/tmp:/data:ro", &vol, &err), 0);
	assert_string_equal(vol.ctr, "/data");
	assert_true(vol.ro);
	launch_volume_clear(&vol);
	assert_int_equal(launch_parse_volume("/nonexistent-husk:/data", &vol, &err), -1);
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(launch_parse_volume("/tmp:data", &vol, &err), -1);
	assert_int_equal(launch_parse_volume("/tmp:/d:rx", &vol, &err), -1);
	assert_int_equal(launch_parse_volume("/tmp", &vol, &err), -1);
	assert_int_equal(launch_parse_net("container:web", &o, &err), 0);
	assert_int_equal(o.net, LAUNCH_NET_CONTAINER);
	assert_string_equal(o.net_container, "web");
	assert_int_equal(launch_parse_net("none", &o, &err), 0);
	assert_int_equal(o.net, LAUNCH_NET_NONE);
	assert_int_equal(launch_parse_net("container:", &o, &err), -1);
	assert_int_equal(launch_parse_net("macvlan", &o, &err), -1);
}

/* --userns auto's slots: "containers" ranges (else root's), cut in 65536,
 * none that overlaps another owner's range or holds a used id. */
static void test_userns_slots(void **state)
{
	uint32_t *slots = NULL;
	const uint32_t used[] = {1000, 65534, 2000070000};

	(void)state;
	const char *none = "alice:100000:65536\nbob:165536:65536\n";
	assert_int_equal(userns_slots(none, used, 3, &slots), 0);
	free(slots);
	/* root's range when there is no "containers" one */
	const char *root = "alice:100000:65536\nroot:3000000000:131072\n";
	assert_int_equal(userns_slots(root, used, 3, &slots), 2);
	assert_int_equal(slots[0], 3000000000u);
	assert_int_equal(slots[1], 3000065536u);
	free(slots);
	/* slot 0: alice's range (and root's, another owner's once there is a
	 * "containers" one) overlaps it; slot 1 holds /etc/passwd's
	 * 2000070000 */
	const char *text = "root:2000000000:65536\n"
			   "containers:2000000000:327680\n"
			   "alice:2000065535:1\n"
			   "# a comment\n"
			   "garbage\n"
			   "bob:x:y\n"
			   "carol:-1:10\n"
			   "dave: 2000131072:1\n"
			   "erin:2000131072:+1\n";
	/* dave's and erin's lines are ranges to newuidmap (shadow reads
	 * numbers with strtoull in base 0: blanks and a sign pass), so slot 2
	 * is theirs too; carol's -1 is 2^64 - 1, past every slot */
	size_t n = userns_slots(text, used, 3, &slots);
	assert_int_equal(n, 2);
	assert_int_equal(slots[0], 2000196608u);
	assert_int_equal(slots[1], 2000262144u);
	free(slots);
	/* the outside attack's lines: hex, octal and a range to 2^32 */
	const char *forms[] = {"mallory:0x77359400:65536\n", "mallory:016715312000:1\n",
			       "mallory:2000000000:2294967296\n"};
	for (size_t i = 0; i < 3; i++) {
		_cleanup_free_ char *t = xasprintf("containers:2000000000:131072\n%s", forms[i]);
		n = userns_slots(t, used, 0, &slots);
		assert_int_equal(n, i == 2 ? 0 : 1);
		assert_true(n == 0 || slots[0] == 2000065536u);
		free(slots);
	}
	/* README's example line: every slot but the one holding 2^32 - 1 */
	n = userns_slots("containers:2147483648:2147483648\n", used, 0, &slots);
	assert_int_equal(n, 32767);
	assert_int_equal(slots[n - 1], 4294836224u);
	free(slots);
	/* nothing past 2^32 - 2 (-1 is no id), nor a range too short */
	const char *top = "containers:4294901760:65536\ncontainers:10:65535\n"
			  "containers:4294901759:65536\n";
	assert_int_equal(userns_slots(top, used, 0, &slots), 1);
	assert_int_equal(slots[0], 4294901759u);
	free(slots);
}

/* An ordinary user's ranges, by name or by uid as a number, in order;
 * lines that do not parse or are another's are skipped. */
static void test_user_ranges(void **state)
{
	const char *text = "alice:100000:65536\n"
			   "bob:165536:65536\n"
			   "alice:-1:5\n"
			   "1001:300000:1000\n"
			   "alice:400000:10 \n"
			   "alice:500000:7\n";
	struct userns_range r[4];

	(void)state;
	assert_int_equal(userns_user_ranges(text, "alice", 1001, r, 4), 3);
	assert_int_equal(r[0].start, 100000);
	assert_int_equal(r[0].count, 65536);
	assert_int_equal(r[1].start, 300000);
	assert_int_equal(r[2].start, 500000);
	assert_int_equal(userns_user_ranges(text, NULL, 1001, r, 4), 1);
	assert_int_equal(userns_user_ranges(text, "carol", 7, r, 4), 0);
	assert_int_equal(userns_user_ranges(text, "alice", 1001, r, 1), 1);
}

/* -p as pasta's -t/-u take it */
static void test_pasta_ports(void **state)
{
	struct hk_err err = {0};
	char out[64];
	bool udp;

	(void)state;
	assert_int_equal(launch_pasta_port("8080:80", out, sizeof(out), &udp, &err), 0);
	assert_string_equal(out, "8080:80");
	assert_false(udp);
	assert_int_equal(launch_pasta_port("127.0.0.1:53:5353/udp", out, sizeof(out), &udp, &err),
			 0);
	assert_string_equal(out, "127.0.0.1/53:5353");
	assert_true(udp);
	const char *bad[] = {"80",         "0:80",      "80:65536", "1.2.3:80:80", "a:80",
			     "80:80/sctp", "::1:80:80", ":80",      "80:",         "1.2.3.4.5:1:1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hk_err_clear(&err);
		assert_int_equal(launch_pasta_port(bad[i], out, sizeof(out), &udp, &err), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest),          cmocka_unit_test(test_clean_name),
		cmocka_unit_test(test_whiteouts),       cmocka_unit_test(test_index_pick),
		cmocka_unit_test(test_config_parse),    cmocka_unit_test(test_option_values),
		cmocka_unit_test(test_volumes_and_net), cmocka_unit_test(test_log_opts),
		cmocka_unit_test(test_userns_slots),    cmocka_unit_test(test_user_ranges),
		cmocka_unit_test(test_pasta_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
