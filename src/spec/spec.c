/* config.json -> struct hk_spec: the top level, root, hostname, mounts and
 * annotations; process and linux have their own files. Every error names the
 * JSON path. Validation that needs the file system (does the rootfs exist?)
 * happens here too, so that create changes nothing before it has passed. */
#include "spec/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "spec/decode.h"

/* Keys husk knows but does not implement yet, per object. Anything else
 * unknown is ignored, as the spec requires. */
int spec_unsupported(hk_json *obj, const char *path, const char *key, struct hk_err *err)
{
	char p[512];

	if (!hk_json_has(obj, key))
		return 0;
	return hk_fail(err, 0, "%s: not supported yet by husk",
		       hk_json_path(p, sizeof(p), path, key));
}

char *spec_clean_path(const char *path)
{
	size_t len = strlen(path);
	char *out = xmalloc(len + 2);
	size_t o = 0;
	const char *p = path;

	out[o++] = '/';
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - start);
		if (n == 0 || (n == 1 && start[0] == '.'))
			continue;
		if (n == 2 && start[0] == '.' && start[1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
			continue;
		}
		if (o > 1)
			out[o++] = '/';
		memcpy(out + o, start, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}

int spec_decode_array(hk_json *obj, const char *path, const char *key, size_t size, spec_elem_fn fn,
		      void *ctx, void *out, size_t *n, struct hk_err *err)
{
	char base[128], p[160];
	hk_json *arr;
	size_t len;

	int r = hk_json_get_arr(obj, path, key, &arr, &len, err);
	if (r <= 0)
		return r;
	char *elems = xcalloc(len, size);
	*(void **)out = elems;
	hk_json_path(base, sizeof(base), path, key);
	for (size_t i = 0; i < len; i++) {
		snprintf(p, sizeof(p), "%s[%zu]", base, i);
		*n = i + 1;
		hk_json *v = hk_json_at(arr, i);
		if (hk_json_as_obj(v, p, err) < 0 || fn(v, p, elems, i, ctx, err) < 0)
			return -1;
	}
	return 0;
}

static int decode_version(hk_json *root, struct hk_spec *s, struct hk_err *err)
{
	int r = hk_json_get_str(root, "", "ociVersion", &s->oci_version, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "ociVersion: missing");
	char *end;
	errno = 0;
	/* strtoul would take blanks and a sign: only digits may start it. */
	if (s->oci_version[0] < '0' || s->oci_version[0] > '9')
		return hk_fail(err, 0, "ociVersion: \"%s\" is not a version", s->oci_version);
	unsigned long major = strtoul(s->oci_version, &end, 10);
	if (errno || end == s->oci_version || (*end != '.' && *end != '\0'))
		return hk_fail(err, 0, "ociVersion: \"%s\" is not a version", s->oci_version);
	if (major != 1)
		return hk_fail(err, 0, "ociVersion: unsupported version \"%s\" (husk supports 1.x)",
			       s->oci_version);
	return 0;
}

static int decode_root(hk_json *root, struct hk_spec *s, struct hk_err *err)
{
	hk_json *r;
	_cleanup_free_ char *path = NULL;
	struct stat st;

	int rc = hk_json_get_obj(root, "", "root", &r, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return hk_fail(err, 0, "root: missing");
	rc = hk_json_get_str(r, "root", "path", &path, err);
	if (rc < 0)
		return -1;
	if (rc == 0 || !*path)
		return hk_fail(err, 0, "root.path: missing");
	if (hk_json_get_bool(r, "root", "readonly", &s->root_readonly, err) < 0)
		return -1;
	s->root_path = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", s->bundle, path);
	if (stat(s->root_path, &st) < 0)
		return hk_fail(err, errno, "root.path: %s", s->root_path);
	if (!S_ISDIR(st.st_mode))
		return hk_fail(err, 0, "root.path: %s is not a directory", s->root_path);
	return 0;
}

bool spec_mount_is_bind(const struct hk_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
			return true;
	return false;
}

/* The idmap and ridmap options and the mount's own uidMappings and
 * gidMappings (config.md); mappings alone idmap the mount itself, as in
 * runc. crun's "idmap=uids=...;gids=..." is not taken: a bind would drop
 * it silently. */
static int decode_mount_idmap(hk_json *v, const char *path, struct hk_mount *m, struct hk_err *err)
{
	for (size_t k = 0; k < m->n_options; k++) {
		const char *o = m->options[k];
		if (strcmp(o, "idmap") == 0 && m->idmap != HK_IDMAP_RECURSIVE)
			m->idmap = HK_IDMAP_MOUNT;
		else if (strcmp(o, "ridmap") == 0)
			m->idmap = HK_IDMAP_RECURSIVE;
		else if (strncmp(o, "idmap=", 6) == 0 || strncmp(o, "ridmap=", 7) == 0)
			return hk_fail(err, 0,
				       "%s.options[%zu]: \"%s\": give the ranges as uidMappings "
				       "and gidMappings",
				       path, k, o);
	}
	if (spec_decode_array(v, path, "uidMappings", sizeof(struct hk_idmap), spec_decode_idmap,
			      NULL, &m->uid_mappings, &m->n_uid_mappings, err) < 0 ||
	    spec_decode_array(v, path, "gidMappings", sizeof(struct hk_idmap), spec_decode_idmap,
			      NULL, &m->gid_mappings, &m->n_gid_mappings, err) < 0)
		return -1;
	if ((m->n_uid_mappings || m->n_gid_mappings) && m->idmap == HK_IDMAP_NONE)
		m->idmap = HK_IDMAP_MOUNT;
	return 0;
}

static int decode_mount(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			struct hk_err *err)
{
	struct hk_mount *m = (struct hk_mount *)array + i;
	const char *bundle = ctx;
	_cleanup_free_ char *dest = NULL;
	char *src = NULL;
	int r;

	r = hk_json_get_str(v, path, "destination", &dest, err);
	if (r < 0)
		return -1;
	if (r == 0 || !*dest)
		return hk_fail(err, 0, "%s.destination: missing", path);
	m->destination = spec_clean_path(dest);
	if (hk_json_get_str(v, path, "type", &m->type, err) < 0 ||
	    hk_json_get_str(v, path, "source", &src, err) < 0 ||
	    hk_json_get_strv(v, path, "options", &m->options, &m->n_options, err) < 0 ||
	    decode_mount_idmap(v, path, m, err) < 0) {
		free(src);
		return -1;
	}
	/* Decoded now: an option husk does not do fails before anything is
	 * made, not in the container's process. */
	if (spec_mount_opts_parse(m->options, m->n_options, &m->opts, err) < 0) {
		free(src);
		return hk_err_prefix(err, "%s.options", path);
	}
	if (spec_mount_is_bind(m) && src && src[0] != '/' && bundle) {
		/* Bind sources are relative to the bundle (config.md "mounts"). */
		m->source = xasprintf("%s/%s", bundle, src);
		free(src);
	} else {
		m->source = src;
	}
	return 0;
}

int spec_decode_mounts(hk_json *root, struct hk_spec *s, struct hk_err *err)
{
	return spec_decode_array(root, "", "mounts", sizeof(*s->mounts), decode_mount, s->bundle,
				 &s->mounts, &s->n_mounts, err);
}

struct kv_ctx {
	struct hk_kv **kv;
	size_t *n;
	const char *path;
	struct hk_err *err;
};

static int decode_kv_one(const char *key, hk_json *val, void *data)
{
	struct kv_ctx *c = data;
	char p[512];
	char *v;

	snprintf(p, sizeof(p), "%s.%s", c->path, key);
	if (hk_json_as_str(val, p, &v, c->err) < 0)
		return -1;
	*c->kv = xrealloc(*c->kv, (*c->n + 1) * sizeof(**c->kv));
	(*c->kv)[*c->n].key = xstrdup(key);
	(*c->kv)[(*c->n)++].value = v;
	return 0;
}

int hk_json_get_kv(hk_json *obj, const char *path, const char *key, struct hk_kv **kv, size_t *n,
		   struct hk_err *err)
{
	hk_json *o;
	char p[256];
	int r = hk_json_get_obj(obj, path, key, &o, err);
	if (r <= 0)
		return r;
	struct kv_ctx c = {kv, n, hk_json_path(p, sizeof(p), path, key), err};
	return hk_json_foreach(o, decode_kv_one, &c);
}

static int decode_top(hk_json *root, struct hk_spec *s, struct hk_err *err)
{
	if (hk_json_as_obj(root, "config.json", err) < 0)
		return -1;
	if (decode_version(root, s, err) < 0 || decode_root(root, s, err) < 0)
		return -1;
	if (hk_json_get_str(root, "", "hostname", &s->hostname, err) < 0 ||
	    hk_json_get_str(root, "", "domainname", &s->domainname, err) < 0)
		return -1;
	if (spec_decode_mounts(root, s, err) < 0 || spec_decode_process(root, s, err) < 0)
		return -1;
	/* No process.capabilities at all: no capabilities, as runc gives
	 * (left as they were, the process kept all of root's). */
	s->process.caps.present = true;
	if (hk_json_get_kv(root, "", "annotations", &s->annotations, &s->n_annotations, err) < 0)
		return -1;
	if (spec_decode_hooks(root, s, err) < 0)
		return -1;
	return spec_decode_linux(root, s, err);
}

struct hk_spec *spec_from_json(hk_json *root, const char *text, size_t len, const char *bundle,
			       struct hk_err *err)
{
	_cleanup_spec_ struct hk_spec *s = xzalloc(sizeof(*s));

	s->bundle = xstrdup(bundle);
	s->text = xmalloc(len + 1);
	memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->text_len = len;
	if (decode_top(root, s, err) < 0)
		return NULL;
	return TAKE_PTR(s);
}

struct hk_spec *spec_parse(const char *text, size_t len, const char *bundle, struct hk_err *err)
{
	hk_json *root = hk_json_parse(text, len, "config.json", err);

	if (!root)
		return NULL;
	struct hk_spec *s = spec_from_json(root, text, len, bundle, err);
	hk_json_put(root);
	return s;
}

static char *read_config(const char *bundle, bool nofollow, char **abs_out, size_t *len,
			 struct hk_err *err);

char *spec_read_config(const char *bundle, char **abs_out, size_t *len, struct hk_err *err)
{
	return read_config(bundle, false, abs_out, len, err);
}

char *spec_read_config_nofollow(const char *bundle, char **abs_out, size_t *len, struct hk_err *err)
{
	return read_config(bundle, true, abs_out, len, err);
}

static char *read_config(const char *bundle, bool nofollow, char **abs_out, size_t *len,
			 struct hk_err *err)
{
	_cleanup_free_ char *abs = realpath(bundle, NULL);
	_cleanup_free_ char *path = NULL;

	if (!abs) {
		hk_fail(err, errno, "bundle %s", bundle);
		return NULL;
	}
	path = xasprintf("%s/config.json", abs);
	/* The bundle may be the container's to write (root.path "."): a fifo
	 * or a device there must not hold husk up. */
	/* nofollow: looked at (O_PATH, no link followed) before it is opened,
	 * so that no device is ever opened, nor a file a link leads to */
	_cleanup_close_ int fd =
		open(path, (nofollow ? O_PATH | O_NOFOLLOW : O_RDONLY | O_NONBLOCK) | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		hk_fail(err, errno, "open %s", path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		hk_fail(err, 0, "%s: not a regular file", path);
		return NULL;
	}
	if (nofollow) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		int rd = open(self, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (rd < 0) {
			hk_fail(err, errno, "open %s", path);
			return NULL;
		}
		close(fd);
		fd = rd;
	}
	char *text = hk_read_fd(fd, path, 16 << 20, len, err);
	if (text && abs_out)
		*abs_out = TAKE_PTR(abs);
	return text;
}

struct hk_spec *spec_load(const char *bundle, struct hk_err *err)
{
	_cleanup_free_ char *abs = NULL;
	size_t len;
	_cleanup_free_ char *text = spec_read_config(bundle, &abs, &len, err);

	return text ? spec_parse(text, len, abs, err) : NULL;
}

static void free_kv(struct hk_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void spec_process_clear(struct hk_process *p)
{
	free(p->additional_gids);
	hk_strv_free(p->args, p->n_args);
	hk_strv_free(p->env, p->n_env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}

struct hk_process *spec_parse_process(const char *text, size_t len, struct hk_err *err)
{
	hk_json *proc = hk_json_parse(text, len, "process", err);
	if (!proc)
		return NULL;
	/* Decoded as the "process" of a config, so errors name process.<field>. */
	hk_json *wrapper = hk_json_new_obj();
	hk_json_set(wrapper, "process", proc);
	struct hk_spec tmp;
	memset(&tmp, 0, sizeof(tmp));
	int r = spec_decode_process(wrapper, &tmp, err);
	hk_json_put(wrapper);
	if (r < 0) {
		spec_process_clear(&tmp.process);
		return NULL;
	}
	struct hk_process *p = xmalloc(sizeof(*p));
	*p = tmp.process;
	return p;
}

struct hk_process *spec_parse_config_process(const char *text, size_t len, struct hk_err *err)
{
	hk_json *root = hk_json_parse(text, len, "config.json", err);
	if (!root)
		return NULL;
	struct hk_spec tmp;
	memset(&tmp, 0, sizeof(tmp));
	int r = hk_json_as_obj(root, "config.json", err);
	if (r > 0)
		r = spec_decode_process(root, &tmp, err);
	hk_json_put(root);
	if (r < 0) {
		spec_process_clear(&tmp.process);
		return NULL;
	}
	struct hk_process *p = xmalloc(sizeof(*p));
	*p = tmp.process;
	return p;
}

void spec_free(struct hk_spec *s)
{
	if (!s)
		return;
	free(s->text);
	free(s->oci_version);
	free(s->bundle);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	spec_process_clear(&s->process);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		hk_strv_free(s->mounts[i].options, s->mounts[i].n_options);
		spec_mount_opts_free(&s->mounts[i].opts);
		free(s->mounts[i].uid_mappings);
		free(s->mounts[i].gid_mappings);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->n_namespaces; i++)
		free(s->namespaces[i].path);
	free(s->namespaces);
	free(s->cgroups_path);
	free(s->dev_rules);
	spec_resources_clear(&s->resources);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	hk_strv_free(s->masked_paths, s->n_masked_paths);
	hk_strv_free(s->readonly_paths, s->n_readonly_paths);
	free(s->uid_mappings);
	free(s->gid_mappings);
	free_kv(s->sysctl, s->n_sysctl);
	free_kv(s->annotations, s->n_annotations);
	for (int k = 0; k < HK_HOOK_KINDS; k++)
		spec_hook_list_clear(&s->hooks[k]);
	spec_seccomp_clear(&s->seccomp);
	free(s->mount_label);
	for (size_t i = 0; i < s->n_netdevs; i++) {
		free(s->netdevs[i].name);
		free(s->netdevs[i].new_name);
	}
	free(s->netdevs);
	free(s);
}

static const char *const ns_names[HK_NS_COUNT] = {
	[HK_NS_PID] = "pid",   [HK_NS_NET] = "network", [HK_NS_MNT] = "mount",
	[HK_NS_IPC] = "ipc",   [HK_NS_UTS] = "uts",     [HK_NS_CGROUP] = "cgroup",
	[HK_NS_USER] = "user", [HK_NS_TIME] = "time",
};

const char *spec_ns_name(enum hk_ns_type type)
{
	return (unsigned)type < HK_NS_COUNT ? ns_names[type] : "?";
}

const struct hk_namespace *spec_ns(const struct hk_spec *spec, enum hk_ns_type type)
{
	for (size_t i = 0; i < spec->n_namespaces; i++)
		if (spec->namespaces[i].type == type)
			return &spec->namespaces[i];
	return NULL;
}
