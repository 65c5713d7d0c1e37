/* config.json "linux": namespaces, devices, the device cgroup rules, paths
 * to mask or make read-only, rootfs propagation, sysctl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/decode.h"

static int ns_type_from_name(const char *name)
{
	for (int t = 0; t < HK_NS_COUNT; t++)
		if (strcmp(spec_ns_name((enum hk_ns_type)t), name) == 0)
			return t;
	return -1;
}

static int decode_namespace(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			    struct hk_err *err)
{
	struct hk_namespace *ns = (struct hk_namespace *)array + i;
	_cleanup_free_ char *type = NULL;

	(void)ctx;
	int r = hk_json_get_str(v, path, "type", &type, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "%s.type: missing", path);
	int t = ns_type_from_name(type);
	if (t < 0)
		return hk_fail(err, 0, "%s.type: unknown namespace type \"%s\"", path, type);
	ns->type = (enum hk_ns_type)t;
	if (hk_json_get_str(v, path, "path", &ns->path, err) < 0)
		return -1;
	if (ns->path && !*ns->path) {
		free(ns->path);
		ns->path = NULL;
	}
	if (ns->path && ns->path[0] != '/')
		return hk_fail(err, 0, "%s.path: \"%s\" is not an absolute path", path, ns->path);
	for (size_t k = 0; k < i; k++)
		if (((struct hk_namespace *)array)[k].type == ns->type)
			return hk_fail(err, 0, "%s.type: duplicate namespace \"%s\"", path, type);
	return 0;
}

static int decode_namespaces(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	return spec_decode_array(lx, "linux", "namespaces", sizeof(*s->namespaces),
				 decode_namespace, NULL, &s->namespaces, &s->n_namespaces, err);
}

/* Without a "mount" entry the container shares husk's mount namespace
 * (config-linux.md) and is chrooted into its root, as runc does. Whatever
 * would have to be mounted or made for it would be made in the host's
 * mount table or on the rootfs on disk, and stay there after the
 * container: refused, where runc makes its mounts on the host and leaves
 * them. */
static int validate_no_mntns(const struct hk_spec *s, struct hk_err *err)
{
	static const char why[] = "needs a mount namespace of the container's own (\"mount\" in "
				  "linux.namespaces): without one it would change the host's";
	const char *field = NULL;

	if (spec_ns(s, HK_NS_MNT))
		return 0;
	if (s->n_mounts)
		field = "mounts";
	else if (s->n_masked_paths)
		field = "linux.maskedPaths";
	else if (s->n_readonly_paths)
		field = "linux.readonlyPaths";
	else if (s->root_readonly)
		field = "root.readonly";
	else if (s->n_devices)
		field = "linux.devices";
	else if (s->rootfs_propagation)
		field = "linux.rootfsPropagation";
	return field ? hk_fail(err, 0, "%s: %s", field, why) : 0;
}

/* The S_IFMT bits of a device of type c, u, b or p. */
static mode_t device_type_bits(char type)
{
	return type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
}
static int decode_device(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			 struct hk_err *err)
{
	struct hk_device *d = (struct hk_device *)array + i;
	_cleanup_free_ char *type = NULL;
	int64_t x;
	int r;

	(void)ctx;
	if (hk_json_get_str(v, path, "type", &type, err) < 0 ||
	    hk_json_get_str(v, path, "path", &d->path, err) < 0)
		return -1;
	if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
		return hk_fail(err, 0, "%s.type: must be one of c, b, u, p", path);
	d->type = type[0];
	if (!d->path || d->path[0] != '/')
		return hk_fail(err, 0, "%s.path: must be an absolute path", path);
	char *clean = spec_clean_path(d->path);
	free(d->path);
	d->path = clean;
	/* Anywhere in the container (config-linux.md), made inside the root;
	 * but "/" and "/dev" name no file to make. */
	if (strcmp(d->path, "/") == 0 || strcmp(d->path, "/dev") == 0)
		return hk_fail(err, 0, "%s.path: \"%s\" is a directory, not a device", path,
			       d->path);
	if (hk_json_get_i64(v, path, "major", 0, UINT32_MAX, &d->major, err) < 0 ||
	    hk_json_get_i64(v, path, "minor", 0, UINT32_MAX, &d->minor, err) < 0)
		return -1;
	if (d->type != 'p' && (!hk_json_has(v, "major") || !hk_json_has(v, "minor")))
		return hk_fail(err, 0, "%s: major and minor are required for type %c", path,
			       d->type);
	/* podman writes the file type bits too (S_IFCHR|0666); runc takes
	 * those and uses the permission bits. */
	r = hk_json_get_i64(v, path, "fileMode", 0, 0177777, &x, err);
	if (r < 0)
		return -1;
	if (r > 0 && (x & S_IFMT) && (mode_t)(x & S_IFMT) != device_type_bits(d->type))
		return hk_fail(err, 0,
			       "%s.fileMode: %lld out of range: file type bits other than "
			       "those of type %c",
			       path, (long long)x, d->type);
	d->has_mode = r > 0;
	d->mode = (mode_t)x & 07777;
	r = hk_json_get_i64(v, path, "uid", 0, UINT32_MAX - 1, &x, err);
	if (r < 0)
		return -1;
	d->has_uid = r > 0;
	d->uid = (uid_t)x;
	r = hk_json_get_i64(v, path, "gid", 0, UINT32_MAX - 1, &x, err);
	if (r < 0)
		return -1;
	d->has_gid = r > 0;
	d->gid = (gid_t)x;
	return 0;
}

static int decode_devices(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	return spec_decode_array(lx, "linux", "devices", sizeof(*s->devices), decode_device, NULL,
				 &s->devices, &s->n_devices, err);
}

int spec_decode_dev_rule(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			 struct hk_err *err)
{
	struct hk_dev_rule *d = (struct hk_dev_rule *)array + i;
	_cleanup_free_ char *type = NULL, *access = NULL;

	(void)ctx;
	if (hk_json_get_bool(v, path, "allow", &d->allow, err) < 0)
		return -1;
	if (!hk_json_has(v, "allow"))
		return hk_fail(err, 0, "%s.allow: missing", path);
	if (hk_json_get_str(v, path, "type", &type, err) < 0 ||
	    hk_json_get_str(v, path, "access", &access, err) < 0)
		return -1;
	d->type = type ? type[0] : 'a';
	if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
		return hk_fail(err, 0, "%s.type: must be one of a, c, b", path);
	d->major = d->minor = -1;
	if (hk_json_get_i64(v, path, "major", -1, UINT32_MAX, &d->major, err) < 0 ||
	    hk_json_get_i64(v, path, "minor", -1, UINT32_MAX, &d->minor, err) < 0)
		return -1;
	const char *acc = access ? access : "rwm";
	if (strlen(acc) > 3 || strspn(acc, "rwm") != strlen(acc))
		return hk_fail(err, 0, "%s.access: \"%s\" is not a subset of rwm", path, acc);
	snprintf(d->access, sizeof(d->access), "%s", acc);
	return 0;
}

static int decode_resources(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	hk_json *res;

	int r = hk_json_get_obj(lx, "linux", "resources", &res, err);
	if (r <= 0)
		return r;
	if (spec_decode_resources(res, "linux.resources", &s->resources, err) < 0)
		return -1;
	return spec_decode_array(res, "linux.resources", "devices", sizeof(*s->dev_rules),
				 spec_decode_dev_rule, NULL, &s->dev_rules, &s->n_dev_rules, err);
}

static int decode_paths(hk_json *lx, const char *key, char ***out, size_t *n, struct hk_err *err)
{
	if (hk_json_get_strv(lx, "linux", key, out, n, err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		if ((*out)[i][0] != '/')
			return hk_fail(err, 0, "linux.%s[%zu]: \"%s\" is not an absolute path", key,
				       i, (*out)[i]);
		char *clean = spec_clean_path((*out)[i]);
		free((*out)[i]);
		(*out)[i] = clean;
	}
	return 0;
}

static int decode_propagation(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} props[] = {
		{"shared", MS_SHARED},
		{"slave", MS_SLAVE},
		{"private", MS_PRIVATE},
		{"unbindable", MS_UNBINDABLE},
		{"rshared", MS_SHARED | MS_REC},
		{"rslave", MS_SLAVE | MS_REC},
		{"rprivate", MS_PRIVATE | MS_REC},
		{"runbindable", MS_UNBINDABLE | MS_REC},
	};
	_cleanup_free_ char *prop = NULL;

	int r = hk_json_get_str(lx, "linux", "rootfsPropagation", &prop, err);
	if (r <= 0 || !*prop)
		return r < 0 ? -1 : 0;
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
		if (strcmp(props[i].name, prop) == 0) {
			s->rootfs_propagation = props[i].flags;
			return 0;
		}
	}
	return hk_fail(err, 0, "linux.rootfsPropagation: unknown propagation \"%s\"", prop);
}

int spec_sysctl_ns(const char *key)
{
	static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
					  "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
					  "kernel.shmmni", "kernel.shm_rmid_forced"};
	for (size_t i = 0; i < sizeof(ipc) / sizeof(ipc[0]); i++)
		if (strcmp(key, ipc[i]) == 0)
			return HK_NS_IPC;
	if (strncmp(key, "fs.mqueue.", 10) == 0)
		return HK_NS_IPC;
	if (strncmp(key, "net.", 4) == 0)
		return HK_NS_NET;
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
		return HK_NS_UTS;
	return -1;
}

static int validate_sysctl(const struct hk_spec *s, struct hk_err *err)
{
	for (size_t i = 0; i < s->n_sysctl; i++) {
		const char *key = s->sysctl[i].key;
		int ns = spec_sysctl_ns(key);
		if (ns < 0 || strstr(key, "..") || strchr(key, '/'))
			return hk_fail(err, 0, "linux.sysctl.%s: not a namespaced sysctl", key);
		/* As runc and crun: the spec's hostname field says what the
		 * UTS namespace's hostname is, and a sysctl would change it
		 * behind that field's back (kernel.domainname has no field
		 * of its own before spec 1.2, so it stays allowed). */
		if (strcmp(key, "kernel.hostname") == 0)
			return hk_fail(err, 0,
				       "linux.sysctl.%s: not allowed: it conflicts with the "
				       "hostname field; set \"hostname\" instead",
				       key);
		/* A namespace joined by path is fine (podman makes the network
		 * namespace itself), unless it is husk's own: linux/sysctl.c
		 * checks that once the path is open. */
		if (!spec_ns(s, (enum hk_ns_type)ns))
			return hk_fail(
				err, 0,
				"linux.sysctl.%s: needs a new %s namespace or one joined by path",
				key, spec_ns_name((enum hk_ns_type)ns));
	}
	return 0;
}

static int check_unsupported(hk_json *lx, struct hk_err *err)
{
	static const char *const later[] = {"intelRdt"};
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		_cleanup_free_ char *str = NULL;
		if (hk_json_get_str(lx, "linux", later[i], &str, NULL) > 0 && !*str)
			continue;
		if (spec_unsupported(lx, "linux", later[i], err) < 0)
			return -1;
	}
	return 0;
}

static int validate_hostname(const struct hk_spec *s, struct hk_err *err)
{
	const struct hk_namespace *uts = spec_ns(s, HK_NS_UTS);
	/* One joined by path is fine (runc sets it there), unless it is
	 * husk's own: linux/ns.c checks that once the path is open. */
	if ((s->hostname || s->domainname) && !uts)
		return hk_fail(err, 0, "%s: needs a uts namespace in linux.namespaces",
			       s->hostname ? "hostname" : "domainname");
	if (s->hostname && strlen(s->hostname) > 64)
		return hk_fail(err, 0, "hostname: longer than 64 characters");
	if (s->domainname && strlen(s->domainname) > 64)
		return hk_fail(err, 0, "domainname: longer than 64 characters");
	return 0;
}

/* linux.personality: the execution domain (personality(2)). */
static int decode_personality(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	_cleanup_free_ char *domain = NULL;
	hk_json *pers, *flags;
	size_t n = 0;

	int r = hk_json_get_obj(lx, "linux", "personality", &pers, err);
	if (r <= 0)
		return r;
	r = hk_json_get_str(pers, "linux.personality", "domain", &domain, err);
	if (r <= 0)
		return r < 0 ? -1 : hk_fail(err, 0, "linux.personality.domain: missing");
	if (strcmp(domain, "LINUX") == 0)
		s->personality = 0x0000; /* PER_LINUX */
	else if (strcmp(domain, "LINUX32") == 0)
		s->personality = 0x0008; /* PER_LINUX32 */
	else
		return hk_fail(err, 0,
			       "linux.personality.domain: unknown \"%s\" (LINUX or LINUX32)",
			       domain);
	if (hk_json_get_arr(pers, "linux.personality", "flags", &flags, &n, err) < 0)
		return -1;
	/* config-linux.md: "Currently no flag values are supported." */
	if (n > 0)
		return hk_fail(err, 0, "linux.personality.flags: no flags are defined");
	s->has_personality = true;
	return 0;
}

/* A ".." component ("..", "a/../b", "/x/.."); "a..b" is a name. */
static bool has_dotdot(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

int spec_decode_linux(hk_json *root, struct hk_spec *s, struct hk_err *err)
{
	hk_json *lx = NULL;

	int r = hk_json_get_obj(root, "", "linux", &lx, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "linux: missing (husk runs Linux containers)");
	if (check_unsupported(lx, err) < 0 || decode_namespaces(lx, s, err) < 0 ||
	    spec_decode_netdevs(lx, s, err) < 0 || decode_devices(lx, s, err) < 0 ||
	    decode_resources(lx, s, err) < 0 || decode_propagation(lx, s, err) < 0)
		return -1;
	if (hk_json_get_str(lx, "linux", "cgroupsPath", &s->cgroups_path, err) < 0)
		return -1;
	if (s->cgroups_path && has_dotdot(s->cgroups_path))
		return hk_fail(err, 0, "linux.cgroupsPath: \"%s\" must not contain \"..\"",
			       s->cgroups_path);
	if (decode_paths(lx, "maskedPaths", &s->masked_paths, &s->n_masked_paths, err) < 0 ||
	    decode_paths(lx, "readonlyPaths", &s->readonly_paths, &s->n_readonly_paths, err) < 0)
		return -1;
	if (hk_json_get_kv(lx, "linux", "sysctl", &s->sysctl, &s->n_sysctl, err) < 0)
		return -1;
	if (spec_decode_userns(lx, s, err) < 0 || spec_decode_seccomp(lx, s, err) < 0 ||
	    decode_personality(lx, s, err) < 0 || spec_decode_mempolicy(lx, s, err) < 0)
		return -1;
	if (hk_json_get_str(lx, "linux", "mountLabel", &s->mount_label, err) < 0)
		return -1;
	if (s->mount_label && !*s->mount_label) {
		free(s->mount_label);
		s->mount_label = NULL;
	}
	if (validate_sysctl(s, err) < 0 || validate_hostname(s, err) < 0 ||
	    validate_no_mntns(s, err) < 0)
		return -1;
	return 0;
}
