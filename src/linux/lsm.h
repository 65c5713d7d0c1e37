/* Linux security modules: process.apparmorProfile, process.selinuxLabel and
 * linux.mountLabel are applied when that LSM is active, and refused with a
 * clear error when it is not (never silently dropped). */
#ifndef HUSK_LINUX_LSM_H
#define HUSK_LINUX_LSM_H

#include <stdbool.h>

struct hk_err;
struct hk_process;
struct hk_spec;

bool lsm_apparmor_enabled(void);
bool lsm_selinux_enabled(void);
/* Before anything changes: is every requested label's LSM there? */
int lsm_check(const struct hk_spec *spec, const struct hk_process *p, struct hk_err *err);
/* Right before execve: the labels the program is to run under. */
int lsm_apply_exec(const struct hk_process *p, struct hk_err *err);

#endif
