/* process.rlimits */
#ifndef HUSK_LINUX_RLIMIT_H
#define HUSK_LINUX_RLIMIT_H

struct hk_process;
struct hk_err;

int rlimit_apply(const struct hk_process *proc, struct hk_err *err);

#endif
