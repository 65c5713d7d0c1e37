/* Capabilities: the five sets of process.capabilities. */
#ifndef HUSK_LINUX_CAPS_H
#define HUSK_LINUX_CAPS_H

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
/* Set effective, permitted, inheritable, then raise ambient. Runs after the
 * uid change (with PR_SET_KEEPCAPS so permitted survives setuid). */
int caps_apply(const struct hk_caps *caps, struct hk_err *err);

/* The highest capability the running kernel knows (capabilities(7)). */
int caps_kernel_last(void);
/* The CapInh..CapAmb lines of /proc/<pid>/status; -1 when one is missing
 * or malformed. */
int caps_from_status(const char *status, struct hk_capsets *out);

#endif
