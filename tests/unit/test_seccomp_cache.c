/* linux/seccomp-cache: the key changes with every field that decides the
 * program, and a hit needs the whole key and a file husk would have
 * written; anything else in the cache directory is a miss. Runs in a temp
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux/seccomp-cache.h"
#include "spec/spec.h"

static char dir[64];
static int dfd = -1;

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/hk-unit-scc-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	dfd = seccomp_cache_open_at(dir);
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

/* A profile: default ERRNO, mkdir and (with arg) an argument rule. */
static char *names_a[] = {"mkdir", "mkdirat"};
static char *archs[] = {"SCMP_ARCH_X86_64"};

static void profile(struct hk_seccomp *s, struct hk_seccomp_rule *r, struct hk_seccomp_arg *a)
{
	*a = (struct hk_seccomp_arg){.index = 1, .value = 2, .value_two = 0, .op = HK_SCMP_EQ};
	*r = (struct hk_seccomp_rule){
		.names = names_a, .n_names = 2, .action = HK_SCMP_ALLOW, .args = a, .n_args = 1};
	*s = (struct hk_seccomp){.present = true,
				 .default_action = HK_SCMP_ERRNO,
				 .archs = archs,
				 .n_archs = 1,
				 .rules = r,
				 .n_rules = 1};
}

static unsigned char *key_of(const struct hk_seccomp *s, size_t *len)
{
	unsigned char *k = seccomp_cache_key(s, len);
	assert_non_null(k);
	assert_true(*len > 0);
	return k;
}

static bool same_key(const struct hk_seccomp *a, const struct hk_seccomp *b)
{
	size_t la, lb;
	unsigned char *ka = key_of(a, &la), *kb = key_of(b, &lb);
	bool same = la == lb && memcmp(ka, kb, la) == 0;
	free(ka);
	free(kb);
	return same;
}

static void test_key_follows_every_field(void **state)
{
	struct hk_seccomp a, b;
	struct hk_seccomp_rule ra, rb;
	struct hk_seccomp_arg aa, ab;
	char *one_name[] = {"mkdirmkdirat"};

	(void)state;
	profile(&a, &ra, &aa);
	profile(&b, &rb, &ab);
	assert_true(same_key(&a, &b));
	b.default_errno = 1, b.has_default_errno = true;
	assert_false(same_key(&a, &b));
	profile(&b, &rb, &ab);
	b.flags = HK_SCMP_FLAG_LOG;
	assert_false(same_key(&a, &b));
	profile(&b, &rb, &ab);
	rb.action = HK_SCMP_KILL_PROCESS;
	assert_false(same_key(&a, &b));
	profile(&b, &rb, &ab);
	ab.value = 3;
	assert_false(same_key(&a, &b));
	profile(&b, &rb, &ab);
	ab.op = HK_SCMP_NE;
	assert_false(same_key(&a, &b));
	profile(&b, &rb, &ab);
	b.n_archs = 0;
	assert_false(same_key(&a, &b));
	/* two names are not their concatenation */
	profile(&b, &rb, &ab);
	rb.names = one_name;
	rb.n_names = 1;
	assert_false(same_key(&a, &b));
}

static struct hk_seccomp_bpf program(unsigned short n, unsigned int k)
{
	struct hk_seccomp_bpf p = {.insns = calloc(n, sizeof(struct sock_filter)), .len = n};
	for (unsigned short i = 0; i < n; i++)
		p.insns[i] = (struct sock_filter){.code = 0x06, .k = k + i};
	return p;
}

static void test_round_trip(void **state)
{
	struct hk_seccomp s;
	struct hk_seccomp_rule r;
	struct hk_seccomp_arg a;
	struct hk_seccomp_bpf p = program(7, 100), got = {0};
	size_t len;

	(void)state;
	profile(&s, &r, &a);
	unsigned char *key = key_of(&s, &len);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 0);
	seccomp_cache_put(dfd, key, len, &p);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 1);
	assert_int_equal(got.len, 7);
	assert_memory_equal(got.insns, p.insns, 7 * sizeof(struct sock_filter));
	free(got.insns);
	free(p.insns);
	free(key);
}

/* The file of key a put where key b's name points: b misses. */
static void test_other_key_misses(void **state)
{
	struct hk_seccomp s, t;
	struct hk_seccomp_rule r, rt;
	struct hk_seccomp_arg a, at;
	struct hk_seccomp_bpf p = program(3, 0), got = {0};
	size_t la, lb;
	char na[24], nb[24];

	(void)state;
	profile(&s, &r, &a);
	profile(&t, &rt, &at);
	at.value = 99;
	unsigned char *ka = key_of(&s, &la), *kb = key_of(&t, &lb);
	seccomp_cache_put(dfd, ka, la, &p);
	seccomp_cache_name(ka, la, na);
	seccomp_cache_name(kb, lb, nb);
	assert_string_not_equal(na, nb);
	assert_int_equal(renameat(dfd, na, dfd, nb), 0);
	assert_int_equal(seccomp_cache_get(dfd, kb, lb, &got), 0);
	free(p.insns);
	free(ka);
	free(kb);
}

/* What husk would not have written: a miss, whatever it holds. */
static void test_untrusted_files_miss(void **state)
{
	struct hk_seccomp s;
	struct hk_seccomp_rule r;
	struct hk_seccomp_arg a;
	struct hk_seccomp_bpf p = program(5, 0), got = {0};
	size_t len;
	char name[24], path[128], other[128];

	(void)state;
	profile(&s, &r, &a);
	unsigned char *key = key_of(&s, &len);
	seccomp_cache_name(key, len, name);
	seccomp_cache_put(dfd, key, len, &p);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* writable by others */
	assert_int_equal(chmod(path, 0622), 0);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 1);
	free(got.insns);
	/* a second link (a file of someone else's linked in) */
	snprintf(other, sizeof(other), "%s/x", dir);
	assert_int_equal(link(path, other), 0);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 0);
	unlink(other);
	/* cut short by a byte */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 1), 0);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 0);
	/* a link to a good file */
	unlink(path);
	seccomp_cache_put(dfd, key, len, &p);
	assert_int_equal(rename(path, other), 0);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 0);
	unlink(path);
	unlink(other);
	/* a fifo: no wait, a miss */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(seccomp_cache_get(dfd, key, len, &got), 0);
	unlink(path);
	free(p.insns);
	free(key);
}

/* A cache directory others can write, or a link to one, is not used. */
static void test_directory_must_be_own(void **state)
{
	char sub[96], lnk[96];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/d", dir);
	assert_int_equal(mkdir(sub, 0777), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	assert_int_equal(seccomp_cache_open_at(sub), -1);
	assert_int_equal(chmod(sub, 0700), 0);
	int fd = seccomp_cache_open_at(sub);
	assert_true(fd >= 0);
	close(fd);
	snprintf(lnk, sizeof(lnk), "%s/l", dir);
	assert_int_equal(symlink(sub, lnk), 0);
	assert_int_equal(seccomp_cache_open_at(lnk), -1);
	unlink(lnk);
	rmdir(sub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_follows_every_field),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_key_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted_files_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_must_be_own, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
