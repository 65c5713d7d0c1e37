/* The attacker of test_mount_compat.py's locked-mount test, run inside a
 * container whose root has CAP_SYS_ADMIN in its user namespace: tries to
 * lift the read-only, nosuid, nodev and noexec flags of the mount at PATH
 * (a bind of a host directory the host mounted so), with mount_setattr(2)
 * on the mount itself, and on a fresh clone of it attached over it.
 *
 *   mount_unlock PATH
 *	prints one line per try, "<try> ok" or "<try> <error>"; exit 0.
 * Linked statically: it runs in a busybox rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/syscalls.h"

static void say(const char *what, int r)
{
	printf("%s %s\n", what, r == 0 ? "ok" : strerror(errno));
}

int main(int argc, char **argv)
{
	struct mount_attr clr = {.attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					     MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};

	if (argc != 2) {
		fprintf(stderr, "usage: mount_unlock PATH\n");
		return 2;
	}
	say("setattr", hk_mount_setattr(AT_FDCWD, argv[1], 0, &clr));
	int tree = hk_open_tree(AT_FDCWD, argv[1], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		say("clone", -1);
		return 0;
	}
	int r = hk_mount_setattr(tree, "", AT_EMPTY_PATH, &clr);
	say("clone-setattr", r);
	if (r == 0)
		say("clone-attach",
		    hk_move_mount(tree, "", AT_FDCWD, argv[1], MOVE_MOUNT_F_EMPTY_PATH));
	return 0;
}
