/* linux.sysctl: only namespaced keys reach here (spec/ checked them). */
#ifndef HUSK_LINUX_SYSCTL_H
#define HUSK_LINUX_SYSCTL_H

struct hk_spec;
struct hk_err;

/* Before create changes anything: a sysctl whose namespace is joined by
 * path (ns_fds from ns_open_paths) must not be husk's own namespace, the
 * host's: writing it would change the host. */
int sysctl_check_joined(const struct hk_spec *spec, const int *ns_fds, struct hk_err *err);
/* Write each key under the container's /proc/sys, after pivot_root. */
int sysctl_apply(const struct hk_spec *spec, struct hk_err *err);

#endif
