/* linux/rootfs-path: where rootfs_resolve looks a path up. Directories of a
 * temp dir stand for the root and for the roots of mounts (any O_PATH fd
 * will do): no mounts are made, no privilege needed. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "linux/rootfs.h"
#include "spec/spec.h"

static char tmp[] = "/tmp/hk-unit-rootfs-XXXXXX";

static const char *at(const char *rel)
{
	static char buf[4][256];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/%s", tmp, rel);
	return b;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmp))
		return -1;
	/* root/ is the container's root, mnt/ the root of a mount at /data */
	if (mkdir(at("root"), 0755) < 0 || mkdir(at("root/data"), 0755) < 0 ||
	    mkdir(at("mnt"), 0755) < 0 || mkdir(at("root/real"), 0755) < 0 ||
	    symlink("real", at("root/proc")) < 0 || symlink("real", at("root/link")) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static int dir_fd(const char *rel)
{
	int fd = open(at(rel), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", rel, strerror(errno));
	return fd;
}

/* A root and one mount made at dest, of the given type ("bind": a bind). */
struct fixture {
	struct hk_spec spec;
	struct hk_mount mount;
	int mnts[1];
	struct hk_rootfs r;
};

static void fixture_init(struct fixture *f, const char *dest, const char *type)
{
	memset(f, 0, sizeof(*f));
	f->mount.destination = (char *)(uintptr_t)dest;
	f->mount.type = (char *)(uintptr_t)type;
	f->spec.mounts = &f->mount;
	f->spec.n_mounts = 1;
	f->mnts[0] = dir_fd("mnt");
	f->r = (struct hk_rootfs){.spec = &f->spec,
				  .mounts = &f->mount,
				  .n_mounts = 1,
				  .root = dir_fd("root"),
				  .mnts = f->mnts,
				  .n_made = 1};
}

static void fixture_done(struct fixture *f)
{
	close(f->mnts[0]);
	close(f->r.root);
}

static void test_holds(void **state)
{
	(void)state;
	assert_true(rootfs_holds("/", "/proc"));
	assert_true(rootfs_holds("/proc", "/proc"));
	assert_true(rootfs_holds("/proc", "/proc/sys"));
	assert_false(rootfs_holds("/proc", "/process"));
	assert_false(rootfs_holds("/proc/sys", "/proc"));
	assert_false(rootfs_holds("/dev", "/devices/x"));
}

/* A path below a mount is made in the mount, not in the directory the
 * mount's destination names in the root. */
static void test_below_a_mount(void **state)
{
	struct hk_err err = {0};
	struct fixture f;
	struct stat st;

	(void)state;
	fixture_init(&f, "/data", "tmpfs");
	int fd = rootfs_resolve(&f.r, "/data/a/b", HK_WANT_DIR, false, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(at("mnt/a/b"), &st), 0);
	assert_int_equal(stat(at("root/data/a"), &st), -1);
	/* the mount's own destination is the mount's root */
	fd = rootfs_resolve(&f.r, "/data", HK_WANT_EXISTING, false, &err);
	struct stat want;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(stat(at("mnt"), &want), 0);
	assert_true(st.st_ino == want.st_ino);
	close(fd);
	/* a path beside it, with the same prefix, is not below it */
	fd = rootfs_resolve(&f.r, "/database", HK_WANT_DIR, false, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(at("root/database"), &st), 0);
	fixture_done(&f);
}

/* /proc, /sys and /dev are never reached through a symlink of the rootfs;
 * elsewhere one is followed inside the root, as before. */
static void test_symlinks(void **state)
{
	struct hk_err err = {0};
	struct fixture f;
	struct stat st;

	(void)state;
	fixture_init(&f, "/data", "tmpfs");
	assert_int_equal(rootfs_resolve(&f.r, "/proc", HK_WANT_DIR, false, &err), -1);
	assert_non_null(strstr(err.msg, "/proc must not be reached through a symlink"));
	assert_int_equal(rootfs_resolve(&f.r, "/proc/kcore", HK_WANT_EXISTING, false, &err), -1);
	/* strict: a proc or sysfs mount wherever it goes */
	assert_int_equal(rootfs_resolve(&f.r, "/link", HK_WANT_DIR, true, &err), -1);
	int fd = rootfs_resolve(&f.r, "/link/x", HK_WANT_DIR, false, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(at("root/real/x"), &st), 0);
	fixture_done(&f);
}

/* Links in a mount husk made itself (not a bind) are followed while they
 * stay beneath it; one that leads out is refused, not followed from the
 * root. In a bind, a link is treated as one in the rootfs. */
static void test_links_in_mounts(void **state)
{
	struct hk_err err = {0};
	struct fixture f;

	(void)state;
	assert_int_equal(mkdir(at("mnt/in"), 0755), 0);
	assert_int_equal(symlink("in", at("mnt/inlink")), 0);
	assert_int_equal(symlink("/real", at("mnt/outlink")), 0);
	fixture_init(&f, "/data", "tmpfs");
	int fd = rootfs_resolve(&f.r, "/data/inlink/f", HK_WANT_FILE, false, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(access(at("mnt/in/f"), F_OK), 0);
	assert_int_equal(rootfs_resolve(&f.r, "/data/outlink/y", HK_WANT_DIR, false, &err), -1);
	assert_int_equal(access(at("root/real/y"), F_OK), -1);
	fixture_done(&f);

	fixture_init(&f, "/data", "bind");
	fd = rootfs_resolve(&f.r, "/data/outlink/y", HK_WANT_DIR, false, &err);
	assert_true(fd >= 0);
	close(fd);
	/* looked up from the root, as before: there (no mount is really made
	 * here) /data/outlink is root/data/outlink, made as a directory */
	assert_int_equal(access(at("root/data/outlink/y"), F_OK), 0);
	fixture_done(&f);
}

/* A file destination that is a dangling symlink: its target is made
 * inside the root (relative, absolute, chained, ".." past the root), as
 * runc does; a loop is an error. */
static void test_dangling_file_destination(void **state)
{
	struct hk_err err = {0};
	struct fixture f;
	struct stat st;

	(void)state;
	fixture_init(&f, "/data", "tmpfs");
	assert_int_equal(mkdir(at("root/etc"), 0755), 0);
	assert_int_equal(symlink("../run/sd/stub.conf", at("root/etc/rel")), 0);
	assert_int_equal(symlink("/etc/chain2", at("root/etc/chain")), 0);
	assert_int_equal(symlink("/var/x.conf", at("root/etc/chain2")), 0);
	assert_int_equal(symlink("../../../../up.conf", at("root/etc/up")), 0);
	assert_int_equal(symlink("/etc/loop", at("root/etc/loop")), 0);
	static const char *const made[][2] = {{"/etc/rel", "root/run/sd/stub.conf"},
					      {"/etc/chain", "root/var/x.conf"},
					      {"/etc/up", "root/up.conf"}};
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		int fd = rootfs_resolve(&f.r, made[i][0], HK_WANT_FILE, false, &err);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(lstat(at(made[i][1]), &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
	assert_int_equal(rootfs_resolve(&f.r, "/etc/loop", HK_WANT_FILE, false, &err), -1);
	assert_int_equal(err.errnum, ELOOP);
	fixture_done(&f);
}

/* A path that is the root of a mount of a file (a masked path on podman's
 * /etc/hostname bind) is that mount, not "." beneath it. */
static void test_file_mount_root(void **state)
{
	struct hk_err err = {0};
	struct fixture f;
	struct stat st, want;

	(void)state;
	fixture_init(&f, "/etc/hostname", "bind");
	close(f.mnts[0]);
	int file = open(at("hostname-src"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(file >= 0);
	close(file);
	f.mnts[0] = open(at("hostname-src"), O_PATH | O_CLOEXEC);
	int fd = rootfs_resolve(&f.r, "/etc/hostname", HK_WANT_EXISTING, false, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(stat(at("hostname-src"), &want), 0);
	assert_true(st.st_ino == want.st_ino);
	close(fd);
	fixture_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_below_a_mount),
		cmocka_unit_test(test_symlinks),
		cmocka_unit_test(test_links_in_mounts),
		cmocka_unit_test(test_dangling_file_destination),
		cmocka_unit_test(test_file_mount_root),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
