/* Whether husk runs rootless, as runc decides it: not as root, or as root
 * only inside a user namespace (its uid_map is not the identity), which is
 * how rootless engines (podman, rootlesskit) run their runtime: uid 0 of a
 * namespace whose ids are one user's and its subordinate range. There, as
 * for an ordinary user, the host's cgroups, device numbers, procfs mounts
 * of the host's pid namespace and host-wide limits are out of reach. */
#ifndef HUSK_COMMON_ROOTLESS_H
#define HUSK_COMMON_ROOTLESS_H

#include <stdbool.h>

/* Is uid_map one line mapping every id onto itself (the initial user
 * namespace)? Read once and remembered: call it before husk joins or
 * makes any namespace (main does), so that it is always husk's own. An
 * unreadable uid_map counts as the initial namespace, as runc counts it. */
bool hk_initial_userns(void);

/* husk has made a user namespace of its own and is in it now (husk
 * launch run by an ordinary user): rootless from here on. */
void hk_entered_userns(void);

/* Not root, or root in a user namespace that is not the initial one. */
bool hk_rootless(void);

/* runc's global --rootless (true, false, auto): whether cgroups are best
 * effort (a hierarchy that cannot be made or joined is skipped). auto,
 * the default, is hk_rootless(). */
enum hk_rootless_cgroups { HK_CG_AUTO, HK_CG_STRICT, HK_CG_BEST_EFFORT };
void hk_set_rootless_cgroups(enum hk_rootless_cgroups mode);
bool hk_cgroups_best_effort(void);

#endif
