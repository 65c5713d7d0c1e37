/* linux.sysctl: only namespaced keys reach here (spec/ checked them). */
#ifndef HUSK_LINUX_SYSCTL_H
#define HUSK_LINUX_SYSCTL_H

struct hk_spec;
struct hk_err;

/* Write each key under the container's /proc/sys, after pivot_root. */
int sysctl_apply(const struct hk_spec *spec, struct hk_err *err);

#endif
