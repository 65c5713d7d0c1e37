#include "linux/lsm.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "linux/procfs.h"
#include "spec/spec.h"

bool lsm_apparmor_enabled(void)
{
	char c = 0;
	_cleanup_close_ int fd =
		open("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, &c, 1) == 1 && c == 'Y' &&
	       access("/sys/kernel/security/apparmor", F_OK) == 0;
}

bool lsm_selinux_enabled(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

int lsm_check(const struct hk_spec *s, const struct hk_process *p, struct hk_err *err)
{
	if (p->apparmor_profile && !lsm_apparmor_enabled())
		return hk_fail(err, 0,
			       "process.apparmorProfile: AppArmor is not enabled on this host");
	if (p->selinux_label && !lsm_selinux_enabled())
		return hk_fail(err, 0, "process.selinuxLabel: SELinux is not enabled on this host");
	if (s && s->mount_label && !lsm_selinux_enabled())
		return hk_fail(err, 0, "linux.mountLabel: SELinux is not enabled on this host");
	return 0;
}

int lsm_apply_exec(const struct hk_process *p, struct hk_err *err)
{
	char rel[64];

	if (!p->apparmor_profile && !p->selinux_label)
		return 0;
	/* attr files through a private procfs: see linux/procfs.h. */
	_cleanup_close_ int proc = procfs_open(err);
	if (proc < 0)
		return -1;
	if (p->apparmor_profile) {
		_cleanup_free_ char *cmd = xasprintf("exec %s", p->apparmor_profile);
		snprintf(rel, sizeof(rel), "%d/attr/apparmor/exec", (int)getpid());
		if (procfs_write(proc, rel, cmd, err) < 0)
			return hk_err_prefix(err, "process.apparmorProfile");
	}
	if (p->selinux_label) {
		snprintf(rel, sizeof(rel), "%d/attr/exec", (int)getpid());
		if (procfs_write(proc, rel, p->selinux_label, err) < 0)
			return hk_err_prefix(err, "process.selinuxLabel");
	}
	return 0;
}
