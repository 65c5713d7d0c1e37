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

/* Options that become mount attributes; the r* forms apply recursively
 * (runc's extension, for bind mounts of whole trees). */
static const struct {
	const char *name;
	unsigned int set, clr;
} attr_opts[] = {
	{"ro", MOUNT_ATTR_RDONLY, 0},
	{"rw", 0, MOUNT_ATTR_RDONLY},
	{"nosuid", MOUNT_ATTR_NOSUID, 0},
	{"suid", 0, MOUNT_ATTR_NOSUID},
	{"nodev", MOUNT_ATTR_NODEV, 0},
	{"dev", 0, MOUNT_ATTR_NODEV},
	{"noexec", MOUNT_ATTR_NOEXEC, 0},
	{"exec", 0, MOUNT_ATTR_NOEXEC},
	{"noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
	{"atime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
	{"relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
	{"norelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
	{"strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
	{"nostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
	{"nodiratime", MOUNT_ATTR_NODIRATIME, 0},
	{"diratime", 0, MOUNT_ATTR_NODIRATIME},
	{"nosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
	{"symfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
};

static const struct {
	const char *name;
	unsigned long flags;
} prop_opts[] = {
	{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
	{"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
	{"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
	{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* Options husk knows of and does not do yet. */
static const char *const later_opts[] = {"copy-symlink", "remount", "mand", "nomand"};

/* One a line, sorted, as `husk features` lists them. */
/* clang-format off */
static const char *const option_names[] = {
	"async",
	"atime",
	"bind",
	"defaults",
	"dev",
	"diratime",
	"exec",
	"idmap",
	"noatime",
	"nodev",
	"nodiratime",
	"noexec",
	"norelatime",
	"nostrictatime",
	"nosuid",
	"nosymfollow",
	"private",
	"ratime",
	"rbind",
	"rdev",
	"rdiratime",
	"relatime",
	"rexec",
	"ridmap",
	"rnoatime",
	"rnodev",
	"rnodiratime",
	"rnoexec",
	"rnorelatime",
	"rnostrictatime",
	"rnosuid",
	"rnosymfollow",
	"ro",
	"rprivate",
	"rro",
	"rrw",
	"rshared",
	"rslave",
	"rstrictatime",
	"rsuid",
	"rsymfollow",
	"runbindable",
	"rw",
	"shared",
	"slave",
	"strictatime",
	"suid",
	"symfollow",
	"tmpcopyup",
	"unbindable",
};
/* clang-format on */

const char *const *mount_option_names(size_t *n)
{
	*n = sizeof(option_names) / sizeof(option_names[0]);
	return option_names;
}

static int find_attr(const char *name)
{
	for (size_t i = 0; i < sizeof(attr_opts) / sizeof(attr_opts[0]); i++)
		if (strcmp(attr_opts[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* An attribute option, or its recursive form "r<name>" (runc's extension:
 * "rro", "rnosuid", ...). "ro", "rw" and "relatime" are names of their own. */
static int parse_attr(const char *o, struct hk_mount_opts *out)
{
	bool rec = false;
	int i = find_attr(o);

	if (i < 0 && o[0] == 'r') {
		i = find_attr(o + 1);
		rec = true;
	}
	if (i < 0)
		return 0;
	/* The atime field is one value: its whole mask must be cleared when one
	 * is set (mount_setattr(2)), so keep 0x70 in attr_clr. */
	if (attr_opts[i].clr & MOUNT_ATTR__ATIME)
		out->attr_set &= ~(unsigned)MOUNT_ATTR__ATIME;
	out->attr_set = (out->attr_set & ~attr_opts[i].clr) | attr_opts[i].set;
	out->attr_clr = (out->attr_clr | attr_opts[i].clr) &
			~(attr_opts[i].set & ~(unsigned)MOUNT_ATTR__ATIME);
	out->recursive_attr |= rec;
	return 1;
}

int mount_parse_options(char **options, size_t n, struct hk_mount_opts *out, struct hk_err *err)
{
	memset(out, 0, sizeof(*out));
	out->data = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const char *o = options[i];
		bool done = false;

		if (strcmp(o, "tmpcopyup") == 0) {
			out->tmpcopyup = true;
			continue;
		}
		/* The idmap is the mount's (struct hk_mount), made with its source. */
		if (strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0)
			continue;
		if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
			out->bind = true;
			out->rbind |= o[0] == 'r';
			continue;
		}
		for (size_t k = 0; k < sizeof(prop_opts) / sizeof(prop_opts[0]); k++) {
			if (strcmp(prop_opts[k].name, o) == 0) {
				out->propagation = prop_opts[k].flags;
				done = true;
			}
		}
		for (size_t k = 0; k < sizeof(later_opts) / sizeof(later_opts[0]); k++)
			if (strcmp(later_opts[k], o) == 0) {
				mount_opts_free(out);
				return hk_fail(err, 0,
					       "mount option \"%s\": not supported yet by husk", o);
			}
		if (done || parse_attr(o, out))
			continue;
		if (strcmp(o, "defaults") == 0 || strcmp(o, "async") == 0)
			continue;
		out->data[out->n_data++] = xstrdup(o);
	}
	return 0;
}

void mount_opts_free(struct hk_mount_opts *o)
{
	for (size_t i = 0; i < o->n_data; i++)
		free(o->data[i]);
	free(o->data);
	o->data = NULL;
	o->n_data = 0;
}

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
	struct hk_mount_opts o;

	if (mount_parse_options(m->options, m->n_options, &o, err) < 0)
		return -1;
	int r = bind_tree(tree, m->source, destfd, &o, err);
	mount_opts_free(&o);
	return r;
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
	struct hk_mount_opts o;
	int r;

	if (mount_parse_options(m->options, m->n_options, &o, err) < 0)
		return -1;
	if (!mount_is_bind(m)) {
		o.data = xrealloc(o.data, (o.n_data + n_extra + 1) * sizeof(char *));
		for (size_t i = 0; i < n_extra; i++)
			o.data[o.n_data++] = xstrdup(extra[i]);
	}
	if (mount_is_bind(m)) {
		if (!m->source)
			r = hk_fail(err, 0, "bind mount without a source");
		else
			r = mount_bind_at(m->source, destfd, &o, err);
	} else {
		r = mount_fs_at(m->type, m->source, destfd, &o, err);
	}
	mount_opts_free(&o);
	return r;
}
