/* /proc/<pid>/mountinfo as the host sees it: the mounts of a process's mount
 * namespace, with paths relative to that process's root (proc(5)). */
#ifndef HUSK_COMMON_MOUNTINFO_H
#define HUSK_COMMON_MOUNTINFO_H

#include <stddef.h>
#include <sys/types.h>

struct hk_err;

struct hk_mountinfo {
	int id, parent;
	char *root;       /* the directory of the filesystem mounted there */
	char *target;     /* the mount point */
	char *mount_opts; /* per-mount: "rw,nosuid" */
	char *fstype;
	char *source;
	char *super_opts; /* per-filesystem: overlay's lowerdir=..., size=... */
	char *super_raw;  /* the same, escapes kept: a ',' in it separates options */
};

/* One line; the \ooo escapes of the kernel (space, tab, newline, \) are
 * undone. -1 when the line is malformed. */
int mountinfo_parse_line(const char *line, struct hk_mountinfo *out);
void mountinfo_clear(struct hk_mountinfo *m);
void mountinfo_free_all(struct hk_mountinfo *v, size_t n);
/* Every mount of /proc/<pid>/mountinfo (pid 0: /proc/self/mountinfo), in
 * the kernel's order. */
int mountinfo_read(pid_t pid, struct hk_mountinfo **v, size_t *n, struct hk_err *err);
/* The value of key in a comma-separated option list ("lowerdir=/a:/b"),
 * NULL when absent; allocated. */
char *mountinfo_opt(const char *opts, const char *key);

/* overlayfs's lowerdir as its layers, top first: ':' between them, and a
 * backslash escaping the next character ("\\:" in a path). */
char **mountinfo_split_layers(const char *lowerdir, size_t *n);

/* The value of key in a super option field as the kernel printed it
 * (super_raw), its escapes undone; NULL when absent. */
char *mountinfo_raw_opt(const char *raw, const char *key);
/* An overlay's lower layers, top first, from its super_raw: one lowerdir=
 * option with the whole stack, or a lowerdir+= option per layer (how a
 * stack built one layer at a time, Linux 6.8's fsconfig "lowerdir+",
 * shows); NULL (and *n 0) when there is neither. */
char **mountinfo_overlay_lowers(const char *raw, size_t *n);

#endif
