/* The state root must be husk's alone: whoever else can change it, or a
 * directory on the way to it, can make husk act on a container of their
 * making (a forged state.json: its pid, its bundle's config for exec). */
#ifndef HUSK_COMMON_TRUSTED_H
#define HUSK_COMMON_TRUSTED_H

#include <stdbool.h>
#include <sys/types.h>

struct hk_err;

/* Open the directory path (relative to the cwd when not absolute) for
 * reading, walking it one component at a time without trusting anyone but
 * root and husk's user:
 *  - every directory looked up in is owned by root or husk's euid and not
 *    writable by group or others, unless sticky (/tmp);
 *  - links on the way are followed by hand and checked the same way (and
 *    a link itself must be root's or husk's euid's: in a sticky directory
 *    anyone's may stand), but the last component must not be one
 *    ("--root is a symbolic link");
 *  - the directory itself is owned by husk's euid and not writable by
 *    group or others.
 * In a user namespace of its own, an owner husk cannot map (shown as the
 * overflow uid) counts as root for the directories on the way. With
 * create, missing components are made with mode (as mkdir -p). Errors
 * start with "what path:" and name the directory and the reason; a
 * missing component fails with errnum ENOENT. */
int hk_open_trusted_dir(const char *what, const char *path, bool create, mode_t mode,
			struct hk_err *err);

/* The same walk for a directory of configuration (/etc/husk, a certs.d
 * directory): the directory itself may be root's as well as husk's
 * user's, and still writable by nobody else. Never made. */
int hk_open_config_dir(const char *what, const char *path, struct hk_err *err);

/* A file of such a directory, opened for reading: looked up with O_PATH
 * and checked before anything opens it (a fifo's open blocks, a device's
 * has effects), then reopened through /proc/self/fd. Always a regular
 * file; with trusted, also not a symbolic link, and root's or husk's
 * user's, writable by nobody else (a file named by its user, trusted
 * false, is followed and taken as it is). what names dirfd in errors;
 * errnum ENOENT when missing. */
int hk_open_config_file(int dirfd, const char *what, const char *name, bool trusted,
			struct hk_err *err);

/* husk launch run by an ordinary user: walk its directories on the host
 * after hk_trusted_record_roots() (the directories and links found root's
 * are remembered), then, in the user namespace it makes, walk them again
 * after hk_trusted_pin_roots(): an owner shown as the overflow uid counts
 * as root only for what was remembered, not for any user the namespace
 * cannot map. */
void hk_trusted_record_roots(void);
void hk_trusted_pin_roots(void);

#endif
