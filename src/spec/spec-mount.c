/* A mount's options, decoded with the spec (so that one husk does not do
 * fails before anything is made): which become mount attributes, which
 * set propagation, which are husk's own (bind, tmpcopyup, idmap), and the
 * rest, passed to the filesystem. */
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/err.h"
#include "common/xalloc.h"
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

const char *const *spec_mount_option_names(size_t *n)
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

int spec_mount_opts_parse(char **options, size_t n, struct hk_mount_opts *out, struct hk_err *err)
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
				spec_mount_opts_free(out);
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

void spec_mount_opts_free(struct hk_mount_opts *o)
{
	for (size_t i = 0; i < o->n_data; i++)
		free(o->data[i]);
	free(o->data);
	o->data = NULL;
	o->n_data = 0;
}
