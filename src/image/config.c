/* The JSON of images: an index's choice of manifest, and the config's
 * defaults for the process. */
#include "image/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "spec/json.h"

#define INDEX_TYPE "application/vnd.oci.image.index.v1+json"
#define LIST_TYPE "application/vnd.docker.distribution.manifest.list.v2+json"

void img_config_clear(struct img_config *c)
{
	hk_strv_free(c->entrypoint, c->n_entrypoint);
	hk_strv_free(c->cmd, c->n_cmd);
	hk_strv_free(c->env, c->n_env);
	hk_strv_free(c->exposed, c->n_exposed);
	free(c->workdir);
	free(c->user);
	*c = (struct img_config){0};
}

static int add_port(const char *key, hk_json *val, void *data)
{
	struct img_config *c = data;
	(void)val;
	c->exposed = xrealloc(c->exposed, (c->n_exposed + 2) * sizeof(char *));
	c->exposed[c->n_exposed++] = xstrdup(key);
	c->exposed[c->n_exposed] = NULL;
	return 0;
}

static int decode_config(hk_json *cfg, struct img_config *c, struct hk_err *err)
{
	hk_json *ports = NULL;

	if (hk_json_get_strv(cfg, "config", "Entrypoint", &c->entrypoint, &c->n_entrypoint, err) <
		    0 ||
	    hk_json_get_strv(cfg, "config", "Cmd", &c->cmd, &c->n_cmd, err) < 0 ||
	    hk_json_get_strv(cfg, "config", "Env", &c->env, &c->n_env, err) < 0 ||
	    hk_json_get_str(cfg, "config", "WorkingDir", &c->workdir, err) < 0 ||
	    hk_json_get_str(cfg, "config", "User", &c->user, err) < 0 ||
	    hk_json_get_obj(cfg, "config", "ExposedPorts", &ports, err) < 0)
		return -1;
	if (ports)
		hk_json_foreach(ports, add_port, c);
	return 0;
}

int img_config_parse(const char *json, size_t len, struct img_config *c, struct hk_err *err)
{
	hk_json *root = hk_json_parse(json, len, "image config", err);
	hk_json *cfg = NULL;
	int r = -1;

	*c = (struct img_config){0};
	if (!root)
		return -1;
	if (hk_json_as_obj(root, "image config", err) < 0)
		goto out;
	r = hk_json_get_obj(root, "", "config", &cfg, err);
	if (r > 0)
		r = decode_config(cfg, c, err);
	if (r < 0)
		img_config_clear(c);
out:
	hk_json_put(root);
	return r < 0 ? -1 : 0;
}

static const char *machine_arch(void)
{
	static struct utsname u;

	if (uname(&u) < 0)
		return "amd64";
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0)
		return "arm64";
	return u.machine;
}

/* 1 when the descriptor's platform (if any) is this machine's. */
static int platform_ok(hk_json *d, const char *path, struct hk_err *err)
{
	hk_json *p = NULL;
	_cleanup_free_ char *os = NULL, *arch = NULL;

	int r = hk_json_get_obj(d, path, "platform", &p, err);
	if (r <= 0)
		return r < 0 ? -1 : 1;
	char pp[256];
	hk_json_path(pp, sizeof(pp), path, "platform");
	if (hk_json_get_str(p, pp, "os", &os, err) < 0 ||
	    hk_json_get_str(p, pp, "architecture", &arch, err) < 0)
		return -1;
	return (!os || strcmp(os, "linux") == 0) && (!arch || strcmp(arch, machine_arch()) == 0);
}

int img_descriptor_size(hk_json *d, const char *path, int64_t *size, struct hk_err *err)
{
	int r = hk_json_get_i64(d, path, "size", 0, INT64_MAX, size, err);

	if (r == 0)
		return hk_fail(err, 0, "%s.size: missing (a descriptor's size is required)", path);
	return r < 0 ? -1 : 0;
}

static int pick(hk_json *mans, size_t n, const char *what, char **digest, int64_t *size,
		bool *nested, struct hk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char path[256];
		_cleanup_free_ char *type = NULL;
		hk_json *d = hk_json_at(mans, i);
		snprintf(path, sizeof(path), "%s: manifests[%zu]", what, i);
		if (hk_json_as_obj(d, path, err) < 0 ||
		    hk_json_get_str(d, path, "mediaType", &type, err) < 0)
			return -1;
		int ok = platform_ok(d, path, err);
		if (ok < 0)
			return -1;
		if (!ok && n > 1)
			continue;
		int got = hk_json_get_str(d, path, "digest", digest, err);
		if (got <= 0)
			return got < 0 ? -1 : hk_fail(err, 0, "%s.digest: missing", path);
		char hex[IMG_HEX_LEN + 1];
		if (img_digest_parse(*digest, path, hex, err) < 0 ||
		    img_descriptor_size(d, path, size, err) < 0)
			return -1;
		*nested = type && (strcmp(type, INDEX_TYPE) == 0 || strcmp(type, LIST_TYPE) == 0);
		return 0;
	}
	return hk_fail(err, 0, "%s: no manifest for linux/%s", what, machine_arch());
}

int img_index_pick(const char *json, size_t len, const char *what, char **digest, int64_t *size,
		   bool *nested, struct hk_err *err)
{
	hk_json *root = hk_json_parse(json, len, what, err);
	hk_json *mans = NULL;
	size_t n = 0;
	int r = -1;

	*digest = NULL;
	if (!root)
		return -1;
	if (hk_json_as_obj(root, what, err) < 0)
		goto out;
	r = hk_json_get_arr(root, what, "manifests", &mans, &n, err);
	if (r == 0 || (r > 0 && n == 0))
		r = hk_fail(err, 0, "%s: manifests: %s", what, r ? "empty" : "missing");
	if (r > 0)
		r = pick(mans, n, what, digest, size, nested, err);
out:
	hk_json_put(root);
	return r < 0 ? -1 : 0;
}
