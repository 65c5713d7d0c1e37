/* The parsers behind husk inspect: /proc/<pid>/uid_map, the capability
 * masks and other lines of /proc/<pid>/status, mountinfo lines (escapes,
 * optional fields) and overlayfs's lowerdir, netmask prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "linux/caps.h"
#include "common/mountinfo.h"
#include "linux/procfs.h"
#include "linux/userns.h"
#include "netinfo/ifaddr.h"
#include "spec/spec.h"

static void test_uid_map(void **state)
{
	struct hk_idmap *m = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(userns_parse_map("         0     100000      65536\n"
					  "     65536          0          1\n",
					  &m, &n),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].container_id, 0);
	assert_int_equal(m[0].host_id, 100000);
	assert_int_equal(m[0].size, 65536);
	assert_int_equal(m[1].container_id, 65536);
	assert_int_equal(m[1].host_id, 0);
	assert_int_equal(m[1].size, 1);
	free(m);
	/* the host's own map: the whole 32-bit range */
	assert_int_equal(userns_parse_map("0 0 4294967295\n", &m, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].size, 4294967295u);
	free(m);
	/* not mapped yet: empty */
	assert_int_equal(userns_parse_map("", &m, &n), 0);
	assert_int_equal(n, 0);
	free(m);
}

static void test_uid_map_malformed(void **state)
{
	struct hk_idmap *m = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(userns_parse_map("0 100000\n", &m, &n), -1);
	assert_int_equal(userns_parse_map("0 100000 65536 7\n", &m, &n), -1);
	assert_int_equal(userns_parse_map("0 4294967296 1\n", &m, &n), -1);
	assert_int_equal(userns_parse_map("a b c\n", &m, &n), -1);
}

static const char status_text[] = "Name:\tsleep\n"
				  "Umask:\t0022\n"
				  "NoNewPrivs:\t1\n"
				  "Seccomp:\t2\n"
				  "Seccomp_filters:\t3\n"
				  "CapInh:\t0000000000000000\n"
				  "CapPrm:\t00000000a80425fb\n"
				  "CapEff:\t00000000a80425fb\n"
				  "CapBnd:\t000001ffffffffff\n"
				  "CapAmb:\t0000000000000400\n";

static void test_status_caps(void **state)
{
	struct hk_capsets c;

	(void)state;
	assert_int_equal(caps_from_status(status_text, &c), 0);
	assert_true(c.inheritable == 0);
	assert_true(c.permitted == 0xa80425fbULL);
	assert_true(c.effective == 0xa80425fbULL);
	assert_true(c.bounding == 0x1ffffffffffULL);
	assert_true(c.ambient == 1u << 10); /* CAP_NET_BIND_SERVICE */
	assert_string_equal(spec_cap_name(10), "CAP_NET_BIND_SERVICE");
	/* a set missing or garbled: refused, not read as 0 */
	assert_int_equal(caps_from_status("CapInh:\t0\nCapPrm:\t0\n", &c), -1);
	assert_int_equal(caps_from_status("CapInh:\tzz\nCapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\n"
					  "CapAmb:\t0\n",
					  &c),
			 -1);
}

static void test_status_fields(void **state)
{
	uint64_t v = 99;

	(void)state;
	assert_true(procfs_status_u64(status_text, "NoNewPrivs", 10, &v));
	assert_true(v == 1);
	assert_true(procfs_status_u64(status_text, "Seccomp", 10, &v));
	assert_true(v == 2);
	/* "Seccomp" must not match "Seccomp_filters" nor the other way round */
	assert_true(procfs_status_u64(status_text, "Seccomp_filters", 10, &v));
	assert_true(v == 3);
	assert_false(procfs_status_u64(status_text, "Seccomp_f", 10, &v));
	assert_false(procfs_status_u64(status_text, "Missing", 10, &v));
	assert_false(procfs_status_u64(status_text, "Name", 10, &v)); /* not a number */
}

static void test_mountinfo_line(void **state)
{
	struct hk_mountinfo m;

	(void)state;
	assert_int_equal(mountinfo_parse_line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 "
					      "shared:7 - ext3 /dev/root rw,errors=continue",
					      &m),
			 0);
	assert_int_equal(m.id, 36);
	assert_int_equal(m.parent, 35);
	assert_string_equal(m.root, "/mnt1");
	assert_string_equal(m.target, "/mnt2");
	assert_string_equal(m.mount_opts, "rw,noatime");
	assert_string_equal(m.fstype, "ext3");
	assert_string_equal(m.source, "/dev/root");
	assert_string_equal(m.super_opts, "rw,errors=continue");
	mountinfo_clear(&m);
	/* no optional fields; a space, a tab and a backslash escaped */
	assert_int_equal(mountinfo_parse_line("1 0 0:5 /a\\040b /my\\011dir\\134x rw - tmpfs "
					      "none rw",
					      &m),
			 0);
	assert_string_equal(m.root, "/a b");
	assert_string_equal(m.target, "/my\tdir\\x");
	mountinfo_clear(&m);
}

static void test_mountinfo_malformed(void **state)
{
	struct hk_mountinfo m;

	(void)state;
	assert_int_equal(mountinfo_parse_line("", &m), -1);
	assert_int_equal(mountinfo_parse_line("36 35 98:0 / / rw shared:1", &m), -1);
	assert_int_equal(mountinfo_parse_line("36 35 98:0 / / rw - ext4", &m), -1);
	assert_int_equal(mountinfo_parse_line("x 35 98:0 / / rw - ext4 /dev/a rw", &m), -1);
}

static void test_overlay_options(void **state)
{
	const char *opts = "rw,lowerdir=/l/3:/l/2:/l/1,upperdir=/up,workdir=/w,"
			   "redirect_dir=on";
	size_t n;

	(void)state;
	char *lower = mountinfo_opt(opts, "lowerdir");
	char *upper = mountinfo_opt(opts, "upperdir");
	char *work = mountinfo_opt(opts, "workdir");
	assert_string_equal(lower, "/l/3:/l/2:/l/1");
	assert_string_equal(upper, "/up");
	assert_string_equal(work, "/w");
	assert_null(mountinfo_opt(opts, "lower"));
	assert_null(mountinfo_opt("rw,size=10k", "lowerdir"));
	char **layers = mountinfo_split_layers(lower, &n);
	assert_int_equal(n, 3);
	assert_string_equal(layers[0], "/l/3");
	assert_string_equal(layers[2], "/l/1");
	for (size_t i = 0; i < n; i++)
		free(layers[i]);
	free(layers);
	free(lower);
	free(upper);
	free(work);
	/* overlayfs escapes ':' and ',' in a path with a backslash */
	lower = mountinfo_opt("lowerdir=/a\\,b:/c\\:d,upperdir=/u", "lowerdir");
	assert_string_equal(lower, "/a\\,b:/c\\:d");
	layers = mountinfo_split_layers(lower, &n);
	assert_int_equal(n, 2);
	assert_string_equal(layers[0], "/a,b");
	assert_string_equal(layers[1], "/c:d");
	for (size_t i = 0; i < n; i++)
		free(layers[i]);
	free(layers);
	free(lower);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The layers as the kernel shows them, escapes and all (issue 16 A13): a
 * stack built with fsconfig's "lowerdir+" shows one option per layer, its
 * ',', ' ' and '\' as octal escapes; a legacy lowerdir= keeps the
 * caller's backslashes, octal-escaped in turn. */
static void test_overlay_lowers(void **state)
{
	size_t n;

	(void)state;
	char **v =
		mountinfo_overlay_lowers("rw,lowerdir+=/l/top,lowerdir+=/r\\040a\\054b:c=d\\134e,"
					 "upperdir=/u\\054p,workdir=/w,uuid=on",
					 &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "/l/top");
	assert_string_equal(v[1], "/r a,b:c=d\\e");
	free_strv(v, n);
	char *upper = mountinfo_raw_opt("rw,lowerdir+=/l,upperdir=/u\\054p,workdir=/w", "upperdir");
	assert_string_equal(upper, "/u,p");
	free(upper);
	v = mountinfo_overlay_lowers("rw,lowerdir=/l\\040a\\134\\054b\\134:c:/lb,upperdir=/u", &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "/l a,b:c");
	assert_string_equal(v[1], "/lb");
	free_strv(v, n);
	v = mountinfo_overlay_lowers("rw,size=10k,mode=755", &n);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_null(mountinfo_raw_opt("rw,lowerdir+=/l", "lowerdir"));
}

static void test_mask_prefix(void **state)
{
	const unsigned char m16[4] = {255, 255, 0, 0}, m0[4] = {0}, m32[4] = {255, 255, 255, 255};
	const unsigned char m20[4] = {255, 255, 240, 0};
	unsigned char m64[16] = {255, 255, 255, 255, 255, 255, 255, 255};

	(void)state;
	assert_int_equal(net_mask_prefix(m16, 4), 16);
	assert_int_equal(net_mask_prefix(m0, 4), 0);
	assert_int_equal(net_mask_prefix(m32, 4), 32);
	assert_int_equal(net_mask_prefix(m20, 4), 20);
	assert_int_equal(net_mask_prefix(m64, 16), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uid_map),         cmocka_unit_test(test_uid_map_malformed),
		cmocka_unit_test(test_status_caps),     cmocka_unit_test(test_status_fields),
		cmocka_unit_test(test_mountinfo_line),  cmocka_unit_test(test_mountinfo_malformed),
		cmocka_unit_test(test_overlay_options), cmocka_unit_test(test_overlay_lowers),
		cmocka_unit_test(test_mask_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
