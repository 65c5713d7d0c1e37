#include "runtime/mountsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"
#include "linux/ns.h"
#include "linux/userns.h"
#include "runtime/sync.h"
#include "spec/spec.h"

/* Mount i of a container whose sources husk opens (mountsrc_check). */
static bool wanted(const struct hk_spec *s, const struct hk_derived *d, size_t i)
{
	const struct hk_mount *m = &d->mounts[i];

	return spec_mount_is_bind(m) && m->source &&
	       (spec_ns(s, HK_NS_USER) || m->idmap != HK_IDMAP_NONE);
}

int mountsrc_check(const struct hk_spec *s, const struct hk_derived *d, bool *host,
		   struct hk_err *err)
{
	*host = false;
	for (size_t i = 0; i < d->n_mounts; i++) {
		if (!wanted(s, d, i))
			continue;
		/* Rootless, the process opens them itself as before: husk has
		 * no more rights than its mapped root. */
		if (geteuid() != 0 && d->mounts[i].idmap != HK_IDMAP_NONE)
			return hk_fail(err, 0,
				       "mounts[%zu]: an idmapped mount needs husk to run as root",
				       i);
		*host |= geteuid() == 0;
	}
	return 0;
}

int mountsrc_request(int sock, const struct hk_spec *s, const struct hk_derived *d, int *fds,
		     struct hk_err *err)
{
	if (sync_send(sock, HK_SYNC_MOUNTS, NULL) < 0)
		return hk_fail(err, errno, "ask husk for the mount sources");
	for (size_t i = 0; i < d->n_mounts; i++) {
		struct hk_sync_in in;
		if (!wanted(s, d, i))
			continue;
		if (sync_read(sock, &in, err) < 0)
			return -1;
		if (in.type != HK_SYNC_MNTFD || in.fd < 0) {
			if (in.fd >= 0)
				close(in.fd);
			return hk_fail(err, 0, "mount %s: husk sent no source (message %u)",
				       d->mounts[i].destination, in.type);
		}
		fds[i] = in.fd;
	}
	return 0;
}

static bool has_option(const struct hk_mount *m, const char *opt)
{
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], opt) == 0)
			return true;
	return false;
}

/* The user namespace the mount is idmapped to: one made with its own
 * ranges, or the container's (*cuser, opened once). */
static int idmap_userns(const struct hk_mount *m, int pidfd, pid_t pid, int *cuser,
			struct hk_err *err)
{
	if (m->n_uid_mappings)
		return userns_with_maps(m->uid_mappings, m->n_uid_mappings, m->gid_mappings,
					m->n_gid_mappings, err);
	if (*cuser < 0)
		*cuser = ns_open_proc(pidfd, pid, "ns/user", O_RDONLY, err);
	return *cuser < 0 ? -1 : dup(*cuser);
}

/* mount_setattr(2) MOUNT_ATTR_IDMAP, on the tree before it was ever
 * attached (the kernel's rule), recursively for ridmap. */
static int idmap_tree(int tree, const struct hk_mount *m, int pidfd, pid_t pid, int *cuser,
		      struct hk_err *err)
{
	_cleanup_close_ int uns = idmap_userns(m, pidfd, pid, cuser, err);
	if (uns < 0)
		return -1;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)uns};
	unsigned int at = AT_EMPTY_PATH | (m->idmap == HK_IDMAP_RECURSIVE ? AT_RECURSIVE : 0);
	if (hk_mount_setattr(tree, "", at, &attr) < 0)
		return hk_fail(err, errno, "idmap %s", m->source);
	return 0;
}

static int send_trees(int sock, int pidfd, pid_t pid, const struct hk_spec *s,
		      const struct hk_derived *d, struct hk_err *err)
{
	_cleanup_close_ int cuser = -1;

	for (size_t i = 0; i < d->n_mounts; i++) {
		const struct hk_mount *m = &d->mounts[i];
		if (!wanted(s, d, i))
			continue;
		unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
				     (has_option(m, "rbind") ? AT_RECURSIVE : 0);
		_cleanup_close_ int tree = hk_open_tree(AT_FDCWD, m->source, flags);
		if (tree < 0)
			return hk_fail(err, errno, "mount bind on %s: open_tree %s", m->destination,
				       m->source);
		if (m->idmap != HK_IDMAP_NONE && idmap_tree(tree, m, pidfd, pid, &cuser, err) < 0)
			return hk_err_prefix(err, "mount bind on %s", m->destination);
		if (sync_send_fd(sock, HK_SYNC_MNTFD, tree) < 0)
			return hk_fail(err, errno, "send the source of %s", m->destination);
	}
	return 0;
}

int mountsrc_serve(int sock, int pidfd, pid_t pid, const struct hk_spec *s,
		   const struct hk_derived *d, struct hk_err *err)
{
	_cleanup_close_ int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (own < 0 || cwd < 0)
		return hk_fail(err, errno, "open husk's mount namespace and working directory");
	/* setns(2) on a pidfd (Linux >= 5.8): the namespace of that very
	 * process, which no pid reuse can swap. */
	if (setns(pidfd, CLONE_NEWNS) < 0)
		return hk_fail(err, errno, "enter the container's mount namespace");
	int r = send_trees(sock, pidfd, pid, s, d, err);
	/* setns(CLONE_NEWNS) moves root and cwd to the namespace's root. */
	if (setns(own, CLONE_NEWNS) < 0 || fchdir(cwd) < 0)
		return hk_fail(err, errno, "back to husk's mount namespace");
	return r;
}
