#include "runtime/features.h"

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
	hk_json_set_bool(cg, "systemd", false);
	hk_json_set_bool(cg, "systemdUser", false);
	hk_json_set(lx, "cgroup", cg);
	/* Not yet: said so rather than left out. */
	hk_json_set(lx, "seccomp", enabled(false));
	hk_json_set(lx, "apparmor", enabled(false));
	hk_json_set(lx, "selinux", enabled(false));
	hk_json_set(lx, "intelRdt", enabled(false));
	hk_json *ext = hk_json_new_obj();
	hk_json_set(ext, "idmap", enabled(false));
	hk_json_set(lx, "mountExtensions", ext);
	return lx;
}

char *features_json(const char *husk_version)
{
	hk_json *j = hk_json_new_obj();
	hk_json *ann = hk_json_new_obj();
	size_t n;

	hk_json_set_str(j, "ociVersionMin", "1.0.0");
	hk_json_set_str(j, "ociVersionMax", "1.2.0");
	hk_json_set(j, "hooks", hk_json_new_arr());
	const char *const *opts = mount_option_names(&n);
	hk_json_set(j, "mountOptions", str_array(opts, n));
	hk_json_set(j, "linux", linux_features());
	hk_json_set_str(ann, "org.opencontainers.husk.version", husk_version);
	hk_json_set(j, "annotations", ann);
	hk_json_set(j, "potentiallyUnsafeConfigAnnotations", hk_json_new_arr());
	char *text = hk_json_dump(j, 1);
	hk_json_put(j);
	return text;
}
