#include "linux/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "common/err.h"
#include "common/syscalls.h"
#include "linux/procfs.h"
#include "spec/spec.h"

/* The kernel's last capability, asked of the kernel itself
 * (PR_CAPBSET_READ fails with EINVAL past it), never of
 * /proc/sys/kernel/cap_last_cap: read in the container process after its
 * mounts, that is whatever a mount put there (an image's symlink led one
 * onto /proc/sys/kernel, whose "31" kept caps 32 to 40 in the bounding
 * set). */
int caps_kernel_last(void)
{
	static int last = -1;

	if (last >= 0)
		return last;
	for (int cap = 63; cap >= 0; cap--)
		if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) >= 0) {
			last = cap;
			return last;
		}
	last = CAP_LAST_CAP;
	return last;
}

static int check_known(const struct hk_caps *c, struct hk_err *err)
{
	uint64_t all = c->bounding | c->effective | c->permitted | c->inheritable | c->ambient;
	int last = caps_kernel_last();

	for (int cap = last + 1; cap < 64; cap++)
		if (all & (1ULL << cap))
			return hk_fail(err, 0,
				       "process.capabilities: %s is not known to this kernel",
				       spec_cap_name(cap) ? spec_cap_name(cap) : "?");
	return 0;
}

int caps_drop_bounding(const struct hk_caps *c, struct hk_err *err)
{
	if (!c->present)
		return 0;
	if (check_known(c, err) < 0)
		return -1;
	int last = caps_kernel_last();
	for (int cap = 0; cap <= last; cap++) {
		if (c->bounding & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return hk_fail(err, errno, "drop %s from the bounding set",
				       spec_cap_name(cap) ? spec_cap_name(cap) : "capability");
	}
	return 0;
}

static int raise_ambient(const struct hk_caps *c, struct hk_err *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return hk_fail(err, errno, "clear ambient capabilities");
	for (int cap = 0; cap < 64; cap++) {
		if (!(c->ambient & (1ULL << cap)))
			continue;
		/* The kernel refuses an ambient cap that is not both permitted and
		 * inheritable; runc ignores that case, and so do we. */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EPERM)
			return hk_fail(err, errno, "raise ambient %s", spec_cap_name(cap));
	}
	return 0;
}

int caps_apply(const struct hk_caps *c, bool hold_admin, struct hk_caps_hold *h, struct hk_err *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	const uint32_t admin = 1u << CAP_SYS_ADMIN; /* in data[0] */

	h->held = false;
	if (!c->present && !hold_admin)
		return 0;
	for (int i = 0; c->present && i < 2; i++) {
		data[i].effective = (uint32_t)(c->effective >> (32 * i));
		data[i].permitted = (uint32_t)(c->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(c->inheritable >> (32 * i));
	}
	/* Without process.capabilities the final sets are the ones we have. */
	if (!c->present && hk_capget(&hdr, data) < 0)
		return hk_fail(err, errno, "capget");
	if (hold_admin && !(data[0].effective & admin)) {
		h->held = true;
		for (int i = 0; i < 2; i++) {
			h->effective[i] = data[i].effective;
			h->permitted[i] = data[i].permitted;
			h->inheritable[i] = data[i].inheritable;
		}
		data[0].effective |= admin;
		data[0].permitted |= admin;
	}
	if ((c->present || h->held) && hk_capset(&hdr, data) < 0) {
		int e = errno;
		hk_fail(err, 0, "capset: %s%s", strerror(e),
			h->held ? " (a seccomp filter without noNewPrivileges needs CAP_SYS_ADMIN "
				  "to be loaded)"
				: "");
		err->errnum = e;
		return -1;
	}
	return c->present ? raise_ambient(c, err) : 0;
}

int caps_release(const struct hk_caps_hold *h, struct hk_err *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (!h->held)
		return 0;
	for (int i = 0; i < 2; i++) {
		data[i].effective = h->effective[i];
		data[i].permitted = h->permitted[i];
		data[i].inheritable = h->inheritable[i];
	}
	if (hk_capset(&hdr, data) < 0)
		return hk_fail(err, errno,
			       "capset: drop CAP_SYS_ADMIN, held to load the seccomp "
			       "filter");
	return 0;
}

int caps_from_status(const char *status, struct hk_capsets *out)
{
	static const char *const keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
	uint64_t *sets[] = {&out->inheritable, &out->permitted, &out->effective, &out->bounding,
			    &out->ambient};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!procfs_status_u64(status, keys[i], 16, sets[i]))
			return -1;
	return 0;
}
