/* The /proc parsers of common/: /proc/<pid>/stat (a comm with spaces and
 * parentheses, a zombie, fields 48 and 49) and mountinfo lines as the
 * cgroup manager reads them (escaped spaces in a mount point). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/mountinfo.h"
#include "common/procstat.h"

/* fields 3 to 49 of a real line, comm left out */
#define REST                                                                                  \
	"S 1 1234 1234 0 -1 4194560 2048 0 0 0 5 3 0 0 20 0 1 0 987654 12345678 300 "         \
	"18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 100 200 300 400 500 " \
	"600"

static void test_stat_comm(void **state)
{
	struct hk_proc_stat st;

	(void)state;
	assert_int_equal(hk_proc_stat_parse("42 (sleep) " REST "\n", &st), 0);
	assert_int_equal(st.state, 'S');
	assert_true(st.start_time == 987654);
	assert_true(st.arg_start == 400 && st.arg_end == 500);
	/* a comm of the process's choosing: spaces, ") S 1", parentheses */
	assert_int_equal(hk_proc_stat_parse("42 (a) Z 9 (b) c) " REST "\n", &st), 0);
	assert_int_equal(st.state, 'S');
	assert_true(st.start_time == 987654);
}

static void test_stat_short(void **state)
{
	struct hk_proc_stat st;

	(void)state;
	/* up to field 22 only (an old kernel): no argument addresses */
	assert_int_equal(
		hk_proc_stat_parse("7 (x) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55\n", &st), 0);
	assert_int_equal(st.state, 'Z');
	assert_true(st.start_time == 55);
	assert_true(st.arg_start == 0 && st.arg_end == 0);
	assert_int_equal(hk_proc_stat_parse("7 (x) S 1 2", &st), -1);
	assert_int_equal(hk_proc_stat_parse("7 (x)", &st), -1);
	assert_int_equal(hk_proc_stat_parse("no parenthesis", &st), -1);
	assert_int_equal(hk_proc_stat_parse("", &st), -1);
}

static void test_start_time(void **state)
{
	struct hk_proc_stat st;

	(void)state;
	assert_true(hk_proc_start_time(getpid()) > 0);
	assert_int_equal(hk_proc_stat_read(0, &st), 0);
	assert_true(st.start_time == hk_proc_start_time(getpid()));
	assert_true(st.arg_start > 0 && st.arg_end > st.arg_start);
	assert_true(hk_proc_start_time(0) == 0);
	assert_true(hk_proc_start_time(-1) == 0);
	assert_true(hk_proc_start_time(INT32_MAX) == 0);
}

/* A cgroup hierarchy mounted where the path has a space: the manager must
 * see "/sys/fs/cgroup/my cg", not "/sys/fs/cgroup/my\040cg". */
static void test_mountinfo_cgroup(void **state)
{
	struct hk_mountinfo m;

	(void)state;
	assert_int_equal(mountinfo_parse_line("30 25 0:26 / /sys/fs/cgroup/my\\040cg "
					      "rw,nosuid,nodev,noexec,relatime shared:9 - cgroup "
					      "cgroup rw,memory",
					      &m),
			 0);
	assert_string_equal(m.target, "/sys/fs/cgroup/my cg");
	assert_string_equal(m.root, "/");
	assert_string_equal(m.fstype, "cgroup");
	assert_string_equal(m.super_opts, "rw,memory");
	mountinfo_clear(&m);
	assert_int_equal(mountinfo_parse_line("31 25 0:27 /a\\040b /x rw - cgroup2 cgroup2 rw", &m),
			 0);
	assert_string_equal(m.root, "/a b");
	mountinfo_clear(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_comm),
		cmocka_unit_test(test_stat_short),
		cmocka_unit_test(test_start_time),
		cmocka_unit_test(test_mountinfo_cgroup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
