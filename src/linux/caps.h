/* Capabilities: the five sets of process.capabilities. */
#ifndef HUSK_LINUX_CAPS_H
#define HUSK_LINUX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

struct hk_caps;
struct hk_err;

/* A process's five capability sets as bit masks (bit N: capability N). */
struct hk_capsets {
	uint64_t inheritable, permitted, effective, bounding, ambient;
};

/* Drop from the bounding set what it does not list. Needs CAP_SETPCAP, so
 * it runs while still root, before the uid change. */
int caps_drop_bounding(const struct hk_caps *caps, struct hk_err *err);
/* What caps_apply keeps until caps_release: CAP_SYS_ADMIN, held in the
 * effective and permitted sets on top of the final ones when a seccomp
 * filter is to be loaded without no_new_privs (the kernel then requires
 * it: seccomp(2)), with the final sets to return to. */
struct hk_caps_hold {
	bool held;
	uint32_t effective[2], permitted[2], inheritable[2];
};
/* Set effective, permitted, inheritable, then raise ambient. Runs after the
 * uid change (with PR_SET_KEEPCAPS so permitted survives setuid). With
 * hold_admin, CAP_SYS_ADMIN stays effective and permitted (h records it)
 * unless the final sets have it anyway. */
int caps_apply(const struct hk_caps *caps, bool hold_admin, struct hk_caps_hold *h,
	       struct hk_err *err);
/* Drop what caps_apply held: one capset, the last step before execve. */
int caps_release(const struct hk_caps_hold *h, struct hk_err *err);

/* The highest capability the running kernel knows (capabilities(7)). */
int caps_kernel_last(void);
/* The CapInh..CapAmb lines of /proc/<pid>/status; -1 when one is missing
 * or malformed. */
int caps_from_status(const char *status, struct hk_capsets *out);

#endif
