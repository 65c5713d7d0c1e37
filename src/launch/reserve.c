/* The container's state before anything of it exists on the machine.
 *
 * A launch makes DATA/<id>, claims an id range, mounts layers and an
 * overlay, and only then hands the spec to create, which writes the state
 * that `husk delete` works from. Killed in between, a launch used to leave
 * all that where no husk command could see it. So the state comes first:
 * a "creating" state.json whose poststop hook is launch's cleanup of
 * DATA/<id>, written before DATA/<id> is made, and handed over to create
 * (hk_create_opts.reserved), which replaces it with the container's own.
 * Whenever a launch dies, `husk delete --force ID` finds a state and runs
 * the hook, which removes what there is of DATA/<id>. The hook names the
 * launch by a random token, which DATA/<id>/.owner holds: a launch that
 * found DATA/<id> taken (by a container of another --root sharing DATA)
 * and was killed before it gave up its state leaves a hook that removes
 * nothing of the other's.
 *
 * The mounts themselves are made in a mount namespace of launch's own
 * (launch_mountns_enter), which the container's is copied from: they die
 * with the last process using them, never outlive a killed launch, and no
 * other user of the host can reach them. */
#include "launch/reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rootless.h"
#include "common/xalloc.h"
#include "runtime/state.h"
#include "spec/spec.h"

#define HOOK_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void launch_new_owner(char owner[LAUNCH_OWNER_LEN + 1])
{
	unsigned char b[LAUNCH_OWNER_LEN / 2] = {0};

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		snprintf((char *)b, sizeof(b), "%ld.%ld", (long)getpid(), (long)time(NULL));
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(owner + 2 * i, 3, "%02x", b[i]);
}

/* The poststop hook of the reservation: the spec's cleanup, without --keep
 * (a launch that never ran has nothing worth keeping, and a kept directory
 * would hold the name). */
static int write_reservation(struct hk_state_dir *sd, const char *self, const char *dir,
			     const char *owner, struct hk_err *err)
{
	char *args[] = {"husk-launch",          "cleanup", "--owner", (char *)(uintptr_t)owner,
			(char *)(uintptr_t)dir, NULL};
	/* an ordinary user's husk finds its state root there (spec-build.c) */
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *xdg_env =
		hk_rootless() && xdg && *xdg ? xasprintf("XDG_RUNTIME_DIR=%s", xdg) : NULL;
	char *env[] = {HOOK_PATH, xdg_env, NULL};
	struct hk_hook hook = {.path = (char *)(uintptr_t)self,
			       .args = args,
			       .n_args = 5,
			       .env = env,
			       .n_env = xdg_env ? 2 : 1};
	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
	_cleanup_free_ char *created = hk_now_rfc3339();
	struct hk_state st = {
		.id = sd->id,
		.status = HK_CREATING,
		.bundle = (char *)(uintptr_t)dir,
		.rootfs = rootfs,
		.created = created,
		.poststop = {.v = &hook, .n = 1},
	};
	return state_write(sd, &st, err);
}

int launch_reserve(const char *root, const char *id, const char *self, const char *dir,
		   const char *owner, struct hk_state_dir *sd, struct hk_err *err)
{
	*sd = (struct hk_state_dir){.fd = -1, .rootfd = -1};
	if (state_dir_create(root, id, sd, err) < 0 ||
	    write_reservation(sd, self, dir, owner, err) < 0) {
		if (sd->fd >= 0)
			state_dir_remove(sd, NULL);
		state_dir_close(sd);
		return -1;
	}
	hk_debug("launch: state of %s reserved", id);
	return 0;
}

void launch_unreserve(struct hk_state_dir *sd)
{
	if (sd->fd >= 0)
		state_dir_remove(sd, NULL);
	state_dir_close(sd);
}

int launch_mountns_enter(int *host, struct hk_err *err)
{
	*host = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (*host < 0)
		return hk_fail(err, errno, "open /proc/self/ns/mnt");
	if (unshare(CLONE_NEWNS) < 0)
		return hk_fail(err, errno, "unshare a mount namespace for the container's layers");
	/* Nothing mounted here may propagate back to the host's mounts (a
	 * shared "/", as systemd makes it, would); the host's own changes
	 * still reach us. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return hk_fail(err, errno, "make the launch's mounts slaves of the host's");
	return 0;
}

void launch_mountns_leave(int *host)
{
	if (*host < 0)
		return;
	/* setns resets the working directory to the namespace's root. */
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (setns(*host, CLONE_NEWNS) < 0)
		hk_debug("launch: back to the host's mount namespace: %s", strerror(errno));
	else if (cwd >= 0 && fchdir(cwd) < 0)
		hk_debug("launch: back to the working directory: %s", strerror(errno));
	close(*host);
	*host = -1;
}
