/* common/file: the writers of files that may sit in a directory others can
 * write (--pid-file, launch's output.log): nothing planted there may be
 * written through or opened in their stead. common/rmtree: a tree of any
 * depth removed within a few fds, never through a link. Runs in a temp
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"
#include "common/rmtree.h"

static char dir[64];
static int dfd = -1;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/hk-unit-file-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	(void)state;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dfd, e->d_name, 0);
	if (d)
		closedir(d);
	close(dfd);
	rmdir(dir);
	return 0;
}

/* A file outside dir that a planted link points at. */
static void target(char *path, size_t size)
{
	snprintf(path, size, "%s.target", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("precious", f);
	fclose(f);
}

static void assert_target_intact(const char *path)
{
	char buf[32] = {0};
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "precious");
	unlink(path);
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_atomic_not_through_planted_temps(void **state)
{
	struct hk_err err = {0};
	char t[128], buf[16] = {0};

	(void)state;
	target(t, sizeof(t));
	/* every name an older husk or runc would have used */
	assert_int_equal(symlinkat(t, dfd, ".pid.tmp"), 0);
	assert_int_equal(symlinkat(t, dfd, ".pid"), 0);
	assert_int_equal(hk_write_atomic(dfd, "pid", "42", 2, &err), 0);
	assert_target_intact(t);
	int fd = openat(dfd, "pid", O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2);
	close(fd);
	assert_string_equal(buf, "42");
	assert_int_equal(count_entries(), 3); /* the two links and pid: no temp left */
}

static void test_atomic_replaces_a_link_at_the_name(void **state)
{
	struct hk_err err = {0};
	char t[128];
	struct stat st;

	(void)state;
	target(t, sizeof(t));
	assert_int_equal(symlinkat(t, dfd, "pid"), 0);
	assert_int_equal(hk_write_atomic(dfd, "pid", "7", 1, &err), 0);
	assert_target_intact(t);
	assert_int_equal(fstatat(dfd, "pid", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(count_entries(), 1);
}

static void read_back(const char *name, char *buf, size_t size)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

/* hk_rewrite_atomic (state.json): the old file exchanged out and removed;
 * the first write, a link or a directory at the name as a rename would. */
static void test_rewrite_exchanges_the_old_file_out(void **state)
{
	struct hk_err err = {0};
	char buf[32];
	struct stat st;

	(void)state;
	assert_int_equal(hk_rewrite_atomic(dfd, "state.json", "first", 5, &err), 0);
	read_back("state.json", buf, sizeof(buf));
	assert_string_equal(buf, "first");
	int old = openat(dfd, "state.json", O_RDONLY);
	assert_true(old >= 0);
	assert_int_equal(hk_rewrite_atomic(dfd, "state.json", "second", 6, &err), 0);
	read_back("state.json", buf, sizeof(buf));
	assert_string_equal(buf, "second");
	/* a reader of the old file still reads it whole; it has no name left */
	assert_int_equal(pread(old, buf, sizeof(buf) - 1, 0), 5);
	assert_int_equal(fstat(old, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	close(old);
	assert_int_equal(count_entries(), 1);
}

static void test_rewrite_replaces_a_link_at_the_name(void **state)
{
	struct hk_err err = {0};
	char t[128];
	struct stat st;

	(void)state;
	target(t, sizeof(t));
	assert_int_equal(symlinkat(t, dfd, "state.json"), 0);
	assert_int_equal(hk_rewrite_atomic(dfd, "state.json", "7", 1, &err), 0);
	assert_target_intact(t);
	assert_int_equal(fstatat(dfd, "state.json", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(count_entries(), 1);
}

static void test_rewrite_refuses_a_directory_at_the_name(void **state)
{
	struct hk_err err = {0};
	struct stat st;

	(void)state;
	assert_int_equal(mkdirat(dfd, "state.json", 0700), 0);
	assert_int_equal(hk_rewrite_atomic(dfd, "state.json", "7", 1, &err), -1);
	assert_int_equal(err.errnum, EISDIR);
	assert_int_equal(fstatat(dfd, "state.json", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_entries(), 1); /* no temp left */
	assert_int_equal(unlinkat(dfd, "state.json", AT_REMOVEDIR), 0);
}

static void test_create_excl_refuses_a_link(void **state)
{
	struct hk_err err = {0};
	char t[128];

	(void)state;
	target(t, sizeof(t));
	assert_int_equal(symlinkat(t, dfd, "log"), 0);
	assert_int_equal(hk_create_excl(dfd, "log", O_WRONLY, 0600, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_target_intact(t);
	unlinkat(dfd, "log", 0);
	int fd = hk_create_excl(dfd, "log", O_WRONLY, 0600, &err);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static void test_open_append(void **state)
{
	struct hk_err err = {0};
	char t[128];

	(void)state;
	/* made when missing, appended to when there */
	int fd = hk_open_append(dfd, "log", 0600, &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a", 1), 1);
	close(fd);
	fd = hk_open_append(dfd, "log", 0600, &err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "b", 1), 1);
	close(fd);
	struct stat st;
	assert_int_equal(fstatat(dfd, "log", &st, 0), 0);
	assert_int_equal(st.st_size, 2);
	unlinkat(dfd, "log", 0);

	/* a link, a hard link to another file, a fifo: refused, at once */
	target(t, sizeof(t));
	assert_int_equal(symlinkat(t, dfd, "log"), 0);
	assert_int_equal(hk_open_append(dfd, "log", 0600, &err), -1);
	assert_non_null(strstr(err.msg, "symbolic link"));
	unlinkat(dfd, "log", 0);
	assert_int_equal(linkat(AT_FDCWD, t, dfd, "log", 0), 0);
	assert_int_equal(hk_open_append(dfd, "log", 0600, &err), -1);
	assert_non_null(strstr(err.msg, "hard links"));
	unlinkat(dfd, "log", 0);
	assert_target_intact(t);
	assert_int_equal(mkfifoat(dfd, "log", 0600), 0);
	assert_int_equal(hk_open_append(dfd, "log", 0600, &err), -1);
	unlinkat(dfd, "log", 0);
}

/* A container made its writable layer 3000 directories deep (a file and
 * a link out at each level): removed under a limit of 16 open files (one
 * fd per level failed with EMFILE), the link's target untouched. */
static void test_rmtree_deep(void **state)
{
	struct hk_err err = {0};
	struct rlimit old, low = {16, 16};
	char t[128];
	int fd = dup(dfd);

	(void)state;
	target(t, sizeof(t));
	assert_int_equal(mkdirat(fd, "deep", 0755), 0);
	for (int i = 0; i < 3000; i++) {
		int next = openat(fd, i ? "d" : "deep", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(next >= 0);
		close(fd);
		fd = next;
		assert_int_equal(mkdirat(fd, "d", 0755), 0);
		close(openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
		assert_int_equal(symlinkat(t, fd, "out"), 0);
		if (i % 500 == 0)
			assert_int_equal(symlinkat(dir, fd, "outdir"), 0);
	}
	close(fd);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* the soft limit only: raising a hard one again needs root */
	low.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int r = hk_rmtree_at(dfd, "deep", &err);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (r != 0)
		fail_msg("hk_rmtree_at: %s", err.msg);
	assert_int_equal(faccessat(dfd, "deep", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_target_intact(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_atomic_not_through_planted_temps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_atomic_replaces_a_link_at_the_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_exchanges_the_old_file_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_replaces_a_link_at_the_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_refuses_a_directory_at_the_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create_excl_refuses_a_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rmtree_deep, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
