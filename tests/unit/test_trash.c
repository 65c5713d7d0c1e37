/* launch/overlay.c's DATA/.trash, as launch's after-care empties it
 * (overlay_trash_empty): it never waits for another emptier, takes no name
 * but its own entries', and gets past an entry that cannot go. The last
 * needs root (a mount point in the trash); skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "launch/overlay.h"

static char data[64];

static void path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", data, rel);
}

static void make(const char *rel)
{
	char p[256], cmd[320];

	path(p, sizeof(p), rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
}

static bool exists(const char *rel)
{
	char p[256];
	struct stat st;

	path(p, sizeof(p), rel);
	return lstat(p, &st) == 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(data, sizeof(data), "/tmp/hk-unit-trash-XXXXXX");
	return mkdtemp(data) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data);
	return system(cmd) == 0 ? 0 : -1;
}

static struct overlay_trash entry(const char *name)
{
	struct overlay_trash t = {.parent = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
				  .entry = -1};

	assert_true(t.parent >= 0);
	snprintf(t.name, sizeof(t.name), "%s", name);
	return t;
}

/* name handed over as launch's cleanup does: open and locked. */
static struct overlay_trash held_entry(const char *name)
{
	char p[256];
	struct overlay_trash t = entry(name);

	path(p, sizeof(p), name);
	t.entry = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t.entry >= 0);
	assert_int_equal(flock(t.entry, LOCK_EX), 0);
	return t;
}

/* Another emptier at work (here: the test holding the lock of .trash): the
 * after-care removes its own entry and leaves the rest to it, at once; it
 * used to wait, and a caller reading launch's stderr with it, for another
 * container's tree (outside attack, eleventh round, F1). */
static void test_never_waits_for_another_emptier(void **state)
{
	struct hk_err err = {0};
	char p[256];

	(void)state;
	make(".trash/aaaa/x/y");
	make(".trash/bbbb/z");
	path(p, sizeof(p), ".trash");
	int lock = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(lock >= 0);
	assert_int_equal(flock(lock, LOCK_EX), 0);
	struct overlay_trash t = entry(".trash/aaaa");
	alarm(20); /* a wait for the lock: killed, failed */
	assert_int_equal(overlay_trash_empty(&t, &err), 0);
	alarm(0);
	assert_int_equal(t.parent, -1);
	assert_false(exists(".trash/aaaa"));
	assert_true(exists(".trash/bbbb/z")); /* the other emptier's */
	close(lock);
	/* free: the next empties all, and .trash goes */
	make(".trash/cccc");
	t = entry(".trash/cccc");
	assert_int_equal(overlay_trash_empty(&t, &err), 0);
	assert_false(exists(".trash"));
}

/* The name comes over a socket: only TRASH/hex is an entry (outside
 * attack, eleventh round, F3). */
static void test_takes_only_its_own_names(void **state)
{
	static const char *const bad[] = {".trash/../keep", ".trash/",    ".trash/aa/../../keep",
					  "keep",           ".trashx/aa", ".trash/AA"};
	struct hk_err err = {0};

	(void)state;
	make("keep/x");
	make(".trash/AA");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct overlay_trash t = entry(bad[i]);
		assert_int_equal(overlay_trash_empty(&t, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
		assert_int_equal(t.parent, -1);
		assert_true(exists("keep/x"));
		assert_true(exists(".trash/AA"));
	}
}

/* An entry handed over locked (overlay_trash.entry, as launch's cleanup
 * hands it to the after-care) is left alone by another cleanup's sweep,
 * however long its after-care takes to come to it, and its holder removes
 * it without waiting for anyone. Before, the entry lay unlocked in .trash
 * until the after-care took it, and a small container's after-care swept
 * a big one's tree while its caller waited (outside attack, twelfth
 * round, F1). */
static void test_a_held_entry_is_left_to_its_holder(void **state)
{
	struct hk_err err = {0};

	(void)state;
	make(".trash/aaaa/big/tree");
	make(".trash/bbbb");
	struct overlay_trash held = held_entry(".trash/aaaa");
	/* another's after-care, free to sweep: its own goes, the held stays */
	struct overlay_trash other = entry(".trash/bbbb");
	alarm(20);
	assert_int_equal(overlay_trash_empty(&other, &err), 0);
	assert_false(exists(".trash/bbbb"));
	assert_true(exists(".trash/aaaa/big/tree"));
	/* the holder: no wait for its own lock, and .trash goes with it */
	assert_int_equal(overlay_trash_empty(&held, &err), 0);
	alarm(0);
	assert_int_equal(held.entry, -1);
	assert_int_equal(held.parent, -1);
	assert_false(exists(".trash"));
}

/* What is at the name is not the directory handed over (replaced since):
 * left alone, and said so. */
static void test_a_held_entry_replaced_is_left(void **state)
{
	struct hk_err err = {0};
	char p[256], q[256];

	(void)state;
	make(".trash/aaaa");
	make(".trash/other/keep");
	struct overlay_trash held = held_entry(".trash/aaaa");
	path(p, sizeof(p), ".trash/aaaa");
	assert_int_equal(rmdir(p), 0);
	path(q, sizeof(q), ".trash/other");
	assert_int_equal(rename(q, p), 0);
	assert_int_equal(overlay_trash_empty(&held, &err), -1);
	assert_non_null(strstr(err.msg, "not the directory handed over"));
	assert_true(exists(".trash/aaaa/keep"));
	assert_int_equal(held.entry, -1);
}

/* An entry that cannot go (a mount point in it) stops neither the removal
 * of the others nor the report of it (outside attack, eleventh round,
 * F2: the walk stopped at the first failure, and the entries after it in
 * readdir order stayed for good). */
static void test_gets_past_an_entry_that_cannot_go(void **state)
{
	struct hk_err err = {0};
	char m[256];

	(void)state;
	if (geteuid() != 0)
		skip();
	make(".trash/0000/m");
	make(".trash/1111/a");
	make(".trash/2222/b");
	make(".trash/ffff/c");
	path(m, sizeof(m), ".trash/0000/m");
	assert_int_equal(mount("none", m, "tmpfs", 0, "size=4k"), 0);
	struct overlay_trash t = entry(".trash/1111");
	int r = overlay_trash_empty(&t, &err);
	umount2(m, MNT_DETACH);
	assert_int_equal(r, -1);
	assert_non_null(strstr(err.msg, "0000"));
	assert_false(exists(".trash/1111"));
	assert_false(exists(".trash/2222"));
	assert_false(exists(".trash/ffff"));
	assert_true(exists(".trash/0000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_never_waits_for_another_emptier, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_takes_only_its_own_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_held_entry_is_left_to_its_holder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_held_entry_replaced_is_left, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gets_past_an_entry_that_cannot_go, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
