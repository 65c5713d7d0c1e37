#include "linux/mount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/syscalls.h"
#include "common/xalloc.h"
#include "linux/copyup.h"
#include "spec/spec.h"

bool mount_is_bind(const struct hk_mount *m)
{
	return spec_mount_is_bind(m);
}

int mount_propagation(int destfd, unsigned long flags, struct hk_err *err)
{
	struct mount_attr attr = {.propagation = flags & ~(unsigned long)MS_REC};

	if (!flags)
		return 0;
	if (hk_mount_setattr(destfd, "", AT_EMPTY_PATH | ((flags & MS_REC) ? AT_RECURSIVE : 0),
			     &attr) < 0)
		return hk_fail(err, errno, "set mount propagation");
	return 0;
}

static int attach(int mntfd, int destfd, const struct hk_mount_opts *o, struct hk_err *err)
{
	if (hk_move_mount(mntfd, "", destfd, "",
			  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hk_fail(err, errno, "move_mount");
	return mount_propagation(mntfd, o->propagation, err);
}

static int bind_tree(int tree, const char *what, int destfd, const struct hk_mount_opts *o,
		     struct hk_err *err)
{
	if (o->attr_set || o->attr_clr) {
		struct mount_attr attr = {.attr_set = o->attr_set, .attr_clr = o->attr_clr};
		unsigned int at = AT_EMPTY_PATH | (o->recursive_attr ? AT_RECURSIVE : 0);
		if (hk_mount_setattr(tree, "", at, &attr) < 0)
			return hk_fail(err, errno, "mount_setattr on bind of %s", what);
	}
	if (attach(tree, destfd, o, err) < 0)
		return hk_err_prefix(err, "bind %s", what);
	return 0;
}

int mount_bind_at(const char *src, int destfd, const struct hk_mount_opts *o, struct hk_err *err)
{
	unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o->rbind ? AT_RECURSIVE : 0);
	_cleanup_close_ int tree = hk_open_tree(AT_FDCWD, src, flags);

	if (tree < 0)
		return hk_fail(err, errno, "open_tree %s", src);
	if (bind_tree(tree, src, destfd, o, err) < 0)
		return -1;
	return TAKE_FD(tree);
}

int mount_tree_at(int tree, const struct hk_mount *m, int destfd, struct hk_err *err)
{
	return bind_tree(tree, m->source, destfd, &m->opts, err);
}

int mount_bind_fd(int srcfd, const char *what, int destfd, const struct hk_mount_opts *o,
		  struct hk_err *err)
{
	unsigned int flags =
		OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (o->rbind ? AT_RECURSIVE : 0);
	_cleanup_close_ int tree = hk_open_tree(srcfd, "", flags);

	if (tree < 0)
		return hk_fail(err, errno, "open_tree %s", what);
	if (bind_tree(tree, what, destfd, o, err) < 0)
		return -1;
	return TAKE_FD(tree);
}

static int fs_configure(int fsfd, const char *fstype, const char *source,
			const struct hk_mount_opts *o, struct hk_err *err)
{
	if (source && *source && hk_fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return hk_fail(err, errno, "%s: source \"%s\"", fstype, source);
	for (size_t i = 0; i < o->n_data; i++) {
		_cleanup_free_ char *key = xstrdup(o->data[i]);
		char *val = strchr(key, '=');
		int r;
		if (val) {
			*val++ = '\0';
			r = hk_fsconfig(fsfd, FSCONFIG_SET_STRING, key, val, 0);
		} else {
			r = hk_fsconfig(fsfd, FSCONFIG_SET_FLAG, key, NULL, 0);
		}
		if (r < 0)
			return hk_fail(err, errno, "%s: option \"%s\"", fstype, o->data[i]);
	}
	if (hk_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hk_fail(err, errno, "create %s filesystem", fstype);
	return 0;
}

/* tmpcopyup: the new tmpfs (mntfd, not attached yet) gets a copy of the
 * directory it will cover (destfd). */
static int fill_tmpfs(int destfd, int mntfd, const struct hk_mount_opts *o, struct hk_err *err)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};

	if (copyup_tree(destfd, mntfd, err) < 0)
		return -1;
	if ((o->attr_set & MOUNT_ATTR_RDONLY) &&
	    hk_mount_setattr(mntfd, "", AT_EMPTY_PATH, &ro) < 0)
		return hk_fail(err, errno, "tmpcopyup: make the tmpfs read-only");
	return 0;
}

int mount_fs_at(const char *fstype, const char *source, int destfd, const struct hk_mount_opts *o,
		struct hk_err *err)
{
	_cleanup_close_ int fsfd = hk_fsopen(fstype, FSOPEN_CLOEXEC);
	_cleanup_close_ int mntfd = -1;

	if (fsfd < 0)
		return hk_fail(err, errno, "fsopen %s", fstype);
	bool copyup = o->tmpcopyup && strcmp(fstype, "tmpfs") == 0;
	if (fs_configure(fsfd, fstype, source, o, err) < 0)
		return -1;
	/* Filled (while still detached) before it is made read-only. */
	mntfd = hk_fsmount(fsfd, FSMOUNT_CLOEXEC,
			   copyup ? o->attr_set & ~(unsigned)MOUNT_ATTR_RDONLY : o->attr_set);
	if (mntfd < 0)
		return hk_fail(err, errno, "fsmount %s", fstype);
	if (copyup && fill_tmpfs(destfd, mntfd, o, err) < 0)
		return -1;
	if (attach(mntfd, destfd, o, err) < 0)
		return -1;
	return TAKE_FD(mntfd);
}

int mount_at(const struct hk_mount *m, int destfd, struct hk_err *err)
{
	return mount_at_data(m, destfd, NULL, 0, err);
}

int mount_at_data(const struct hk_mount *m, int destfd, const char *const *extra, size_t n_extra,
		  struct hk_err *err)
{
	/* The options were decoded with the spec (spec_mount_opts_parse);
	 * the extra filesystem options go after them, in a copy. */
	struct hk_mount_opts o = m->opts;
	_cleanup_free_ char **data = NULL;

	if (!mount_is_bind(m) && n_extra > 0) {
		data = xcalloc(o.n_data + n_extra + 1, sizeof(char *));
		memcpy(data, o.data, o.n_data * sizeof(char *));
		memcpy(data + o.n_data, extra, n_extra * sizeof(char *));
		o.data = data;
		o.n_data += n_extra;
	}
	if (mount_is_bind(m)) {
		if (!m->source)
			return hk_fail(err, 0, "bind mount without a source");
		return mount_bind_at(m->source, destfd, &o, err);
	}
	return mount_fs_at(m->type, m->source, destfd, &o, err);
}
