/* Capabilities: the five sets of process.capabilities. */
#ifndef HUSK_LINUX_CAPS_H
#define HUSK_LINUX_CAPS_H

struct hk_caps;
struct hk_err;

/* Drop from the bounding set what it does not list. Needs CAP_SETPCAP, so
 * it runs while still root, before the uid change. */
int caps_drop_bounding(const struct hk_caps *caps, struct hk_err *err);
/* Set effective, permitted, inheritable, then raise ambient. Runs after the
 * uid change (with PR_SET_KEEPCAPS so permitted survives setuid). */
int caps_apply(const struct hk_caps *caps, struct hk_err *err);

#endif
