/* CVE-2019-5736: husk's own binary must never be writable through a
 * process of husk's that a container can see.
 *
 * Every process husk puts into a container runs husk's binary until it
 * execs the container's program, and a program can be a script whose
 * interpreter is `/proc/self/exe`: the kernel then runs husk's binary
 * *again*, inside the container, dumpable, and the container may open
 * /proc/<pid>/exe and write to it once nothing runs it any more.
 * PR_SET_DUMPABLE cannot help (execve resets it), nor can a check (it can
 * be raced). So the commands that put processes into containers (create,
 * run, exec, launch) first re-execute husk from a view of its binary that
 * cannot be written whatever the writer's capabilities or user namespace:
 *
 * - a read-only overlayfs over the binary's directory, made detached
 *   (fsopen/fsmount, never attached anywhere): an overlay with only lower
 *   layers has a read-only superblock, which no mount_setattr(2) can make
 *   writable, and it shares the page cache of the real file (no copy);
 *   ("lowerdir+" on Linux 6.8 and later, the "lowerdir" string before);
 * - else (no overlayfs, a path "lowerdir" cannot carry, an unprivileged
 *   caller) a sealed memfd copy of the binary (F_SEAL_WRITE and friends).
 *
 * A binary that already lives on a read-only mount, or in a sealed memfd, or
 * that the caller cannot write (an unprivileged user running root's husk),
 * is left alone: nothing is re-executed. A read-only bind mount of the file
 * is not enough: a container root that makes itself a user namespace can
 * clear MOUNT_ATTR_RDONLY of a detached mount it reaches through
 * /proc/<pid>/exe (tested here). */
#ifndef HUSK_LINUX_SELFEXE_H
#define HUSK_LINUX_SELFEXE_H

struct hk_err;

/* First thing in main: remember (and take out of the environment) the
 * path husk was started from, which a re-executed husk learns from its
 * predecessor. */
void selfexe_init(void);
/* The path of the binary husk was started from (not the view's): where
 * its companions (husk-net, husk-launch, husk-init) sit. NULL when
 * /proc/self/exe cannot be read. */
const char *selfexe_path(void);
/* Re-execute husk with argv from a view of its binary that cannot be
 * written, unless it runs from one already. Returns 0 when nothing had to
 * be done; on success does not return; -1 with err on failure. */
int selfexe_protect(char **argv, struct hk_err *err);

/* husk running a companion (husk-launch) whose command re-executes itself
 * as above: exec it from the read-only overlay view of its directory
 * straight away, so that it finds itself protected and need not exec
 * again (one exec less on each launch). Returns only when that could not
 * be done (not root, no overlayfs: the companion then protects itself),
 * having changed nothing. */
void selfexe_exec_companion(const char *path, char **argv);

#endif
