#include "runtime/features.h"

#include "cgroup/cgroup.h"
#include "common/version.h"
#include "linux/mount.h"
#include "spec/json.h"
#include "spec/spec.h"

static hk_json *str_array(const char *const *v, size_t n)
{
	hk_json *a = hk_json_new_arr();
	for (size_t i = 0; i < n; i++)
		hk_json_append(a, hk_json_new_str(v[i]));
	return a;
}

static hk_json *enabled(bool on)
{
	hk_json *o = hk_json_new_obj();
	hk_json_set_bool(o, "enabled", on);
	return o;
}

static hk_json *seccomp_features(void)
{
	static const char *const actions[] = {
		"SCMP_ACT_ALLOW",        "SCMP_ACT_ERRNO",       "SCMP_ACT_KILL",
		"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
		"SCMP_ACT_NOTIFY",       "SCMP_ACT_TRACE",       "SCMP_ACT_TRAP"};
	static const char *const operators[] = {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
						"SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
						"SCMP_CMP_NE"};
	static const char *const archs[] = {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"};
	static const char *const flags[] = {"SECCOMP_FILTER_FLAG_LOG",
					    "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
	hk_json *s = enabled(true);
	hk_json_set(s, "actions", str_array(actions, sizeof(actions) / sizeof(*actions)));
	hk_json_set(s, "operators", str_array(operators, sizeof(operators) / sizeof(*operators)));
	hk_json_set(s, "archs", str_array(archs, sizeof(archs) / sizeof(*archs)));
	hk_json_set(s, "knownFlags", str_array(flags, 2));
	hk_json_set(s, "supportedFlags", str_array(flags, 2));
	return s;
}

/* runtime-spec features-linux.md, "memoryPolicy" (as runc >= 1.3 lists
 * it). process.scheduler, ioPriority and execCPUAffinity have no entry in
 * the features document (runc 1.2 lists none either). */
static hk_json *mempolicy_features(void)
{
	hk_json *m = hk_json_new_obj();
	size_t n;
	const char *const *modes = spec_mempolicy_modes(&n);
	hk_json_set(m, "modes", str_array(modes, n));
	const char *const *flags = spec_mempolicy_flags(&n);
	hk_json_set(m, "flags", str_array(flags, n));
	return m;
}

static hk_json *linux_features(void)
{
	static const char *const namespaces[] = {"cgroup", "ipc",  "mount", "network",
						 "pid",    "time", "user",  "uts"};
	hk_json *lx = hk_json_new_obj();
	hk_json *caps = hk_json_new_arr();
	hk_json *cg = hk_json_new_obj();

	hk_json_set(lx, "namespaces",
		    str_array(namespaces, sizeof(namespaces) / sizeof(*namespaces)));
	for (int c = 0; c <= spec_cap_last(); c++)
		hk_json_append(caps, hk_json_new_str(spec_cap_name(c)));
	hk_json_set(lx, "capabilities", caps);
	hk_json_set_bool(cg, "v1", true);
	hk_json_set_bool(cg, "v2", true);
	hk_json_set_bool(cg, "systemd", cg_systemd_available());
	hk_json_set_bool(cg, "systemdUser", false);
	hk_json_set(lx, "cgroup", cg);
	hk_json_set(lx, "seccomp", seccomp_features());
	hk_json_set(lx, "memoryPolicy", mempolicy_features());
	/* Not yet: said so rather than left out. */
	hk_json_set(lx, "apparmor", enabled(false));
	hk_json_set(lx, "selinux", enabled(false));
	hk_json_set(lx, "intelRdt", enabled(false));
	/* idmap/ridmap and a mount's uidMappings/gidMappings (bind mounts),
	 * as runc 1.2; linux.netDevices, as runc 1.3. */
	hk_json *ext = hk_json_new_obj();
	hk_json_set(ext, "idmap", enabled(true));
	hk_json_set(lx, "mountExtensions", ext);
	hk_json_set(lx, "netDevices", enabled(true));
	return lx;
}

char *features_json(const char *husk_version)
{
	hk_json *j = hk_json_new_obj();
	hk_json *ann = hk_json_new_obj();
	size_t n;

	hk_json_set_str(j, "ociVersionMin", "1.0.0");
	hk_json_set_str(j, "ociVersionMax", HK_OCI_VERSION);
	hk_json *hooks = hk_json_new_arr();
	for (int k = 0; k < HK_HOOK_KINDS; k++)
		hk_json_append(hooks, hk_json_new_str(spec_hook_kind_name((enum hk_hook_kind)k)));
	hk_json_set(j, "hooks", hooks);
	const char *const *opts = spec_mount_option_names(&n);
	hk_json_set(j, "mountOptions", str_array(opts, n));
	hk_json_set(j, "linux", linux_features());
	hk_json_set_str(ann, "org.opencontainers.husk.version", husk_version);
	hk_json_set(j, "annotations", ann);
	hk_json_set(j, "potentiallyUnsafeConfigAnnotations", hk_json_new_arr());
	char *text = hk_json_dump(j, 1);
	hk_json_put(j);
	return text;
}
