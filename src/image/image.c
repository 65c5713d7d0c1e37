/* From SOURCE to layers and config: index.json -> manifest -> config +
 * layers (OCI), or manifest.json -> config + layers (docker-archive). Every
 * blob read is checked against the digest that names it. */
#include "image/image.h"
#include "image/unpack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/json.h"

#define MAX_NESTING 4
#define MAX_LAYERS 256

/* A blob named by a digest, read whole and checked. */
static char *read_blob(struct img_source *src, const char *digest, int64_t size, const char *what,
		       size_t *len, struct hk_err *err)
{
	char hex[IMG_HEX_LEN + 1];

	if (img_digest_parse(digest, what, hex, err) < 0)
		return NULL;
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", hex);
	char *data = img_source_read(src, name, size, len, err);
	if (!data)
		return NULL;
	if (img_verify_buf(data, *len, hex, name, err) < 0) {
		free(data);
		return NULL;
	}
	return data;
}

static int load_config(struct img_image *img, const char *digest, int64_t size, struct hk_err *err)
{
	size_t len;

	if (img_digest_parse(digest, "manifest: config.digest", img->id, err) < 0)
		return -1;
	_cleanup_free_ char *json =
		read_blob(&img->src, digest, size, "manifest: config.digest", &len, err);
	if (!json)
		return -1;
	return img_config_parse(json, len, &img->config, err);
}

static int add_layer(struct img_image *img, const char *blob, const char *hex, int64_t size)
{
	if (img->n_layers >= MAX_LAYERS)
		return -1;
	img->layers = xrealloc(img->layers, (img->n_layers + 1) * sizeof(*img->layers));
	struct img_layer *l = &img->layers[img->n_layers++];
	l->blob = xstrdup(blob);
	memcpy(l->hex, hex, sizeof(l->hex));
	l->size = size;
	return 0;
}

static int oci_layers(struct img_image *img, hk_json *layers, size_t n, struct hk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char path[64], hex[IMG_HEX_LEN + 1];
		_cleanup_free_ char *digest = NULL;
		int64_t size;
		hk_json *d = hk_json_at(layers, i);
		snprintf(path, sizeof(path), "manifest: layers[%zu]", i);
		if (hk_json_as_obj(d, path, err) < 0 ||
		    hk_json_get_str(d, path, "digest", &digest, err) < 0)
			return -1;
		if (!digest)
			return hk_fail(err, 0, "%s.digest: missing", path);
		if (img_digest_parse(digest, path, hex, err) < 0 ||
		    img_descriptor_size(d, path, &size, err) < 0)
			return -1;
		_cleanup_free_ char *blob = xasprintf("blobs/sha256/%s", hex);
		if (add_layer(img, blob, hex, size) < 0)
			return hk_fail(err, 0, "manifest: more than %d layers", MAX_LAYERS);
	}
	return 0;
}

static int oci_manifest(struct img_image *img, const char *json, size_t len, struct hk_err *err)
{
	hk_json *root = hk_json_parse(json, len, "manifest", err);
	hk_json *config = NULL, *layers = NULL;
	_cleanup_free_ char *cdigest = NULL;
	int64_t csize = 0;
	size_t n = 0;
	int r = -1;

	if (!root)
		return -1;
	if (hk_json_as_obj(root, "manifest", err) < 0 ||
	    hk_json_get_obj(root, "manifest", "config", &config, err) < 0 ||
	    hk_json_get_arr(root, "manifest", "layers", &layers, &n, err) < 0)
		goto out;
	if (!config || !layers) {
		hk_fail(err, 0, "manifest: %s missing", config ? "layers" : "config");
		goto out;
	}
	if (hk_json_get_str(config, "manifest: config", "digest", &cdigest, err) < 0)
		goto out;
	if (!cdigest) {
		hk_fail(err, 0, "manifest: config.digest: missing");
		goto out;
	}
	if (img_descriptor_size(config, "manifest: config", &csize, err) < 0 ||
	    oci_layers(img, layers, n, err) < 0 || load_config(img, cdigest, csize, err) < 0)
		goto out;
	r = 0;
out:
	hk_json_put(root);
	return r;
}

static int oci_resolve(struct img_image *img, struct hk_err *err)
{
	size_t len;
	_cleanup_free_ char *json = img_source_read(&img->src, "index.json", -1, &len, err);
	const char *what = "index.json";

	if (!json)
		return -1;
	for (int depth = 0; depth < MAX_NESTING; depth++) {
		_cleanup_free_ char *digest = NULL;
		int64_t size = 0;
		bool nested = false;
		if (img_index_pick(json, len, what, &digest, &size, &nested, err) < 0)
			return -1;
		free(json);
		json = read_blob(&img->src, digest, size, what, &len, err);
		if (!json)
			return -1;
		if (!nested)
			return oci_manifest(img, json, len, err);
		what = "nested index";
	}
	return hk_fail(err, 0, "index.json: indexes nested more than %d deep", MAX_NESTING);
}

/* docker save: the layers are checked against the config's diff_ids (the
 * sha256 of each layer's tar as stored). */
static int docker_layers(struct img_image *img, hk_json *layers, size_t n, const char *config,
			 size_t clen, struct hk_err *err)
{
	hk_json *root = hk_json_parse(config, clen, "image config", err), *rootfs = NULL;
	char **ids = NULL;
	size_t n_ids = 0;
	int r = -1;

	if (!root)
		return -1;
	if (hk_json_get_obj(root, "image config", "rootfs", &rootfs, err) < 0 ||
	    (rootfs &&
	     hk_json_get_strv(rootfs, "image config: rootfs", "diff_ids", &ids, &n_ids, err) < 0))
		goto out;
	if (n_ids != n) {
		hk_fail(err, 0, "manifest.json: %zu layers but the config has %zu diff_ids", n,
			n_ids);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64], hex[IMG_HEX_LEN + 1];
		_cleanup_free_ char *blob = NULL;
		snprintf(path, sizeof(path), "manifest.json: [0].Layers[%zu]", i);
		if (hk_json_as_str(hk_json_at(layers, i), path, &blob, err) < 0 ||
		    img_digest_parse(ids[i], "image config: rootfs.diff_ids", hex, err) < 0)
			goto out;
		if (img_clean_name(blob) < 0) {
			hk_fail(err, 0, "%s: not a path inside the archive", path);
			goto out;
		}
		if (add_layer(img, blob, hex, -1) < 0) {
			hk_fail(err, 0, "manifest.json: more than %d layers", MAX_LAYERS);
			goto out;
		}
	}
	r = 0;
out:
	for (size_t i = 0; i < n_ids; i++)
		free(ids[i]);
	free(ids);
	hk_json_put(root);
	return r;
}

static int docker_resolve(struct img_image *img, struct hk_err *err)
{
	size_t len, clen, n = 0;
	_cleanup_free_ char *json = img_source_read(&img->src, "manifest.json", -1, &len, err);
	_cleanup_free_ char *cname = NULL, *config = NULL;
	hk_json *root = NULL, *layers = NULL;
	int r = -1;

	if (!json || !(root = hk_json_parse(json, len, "manifest.json", err)))
		return -1;
	size_t n_images = 0;
	if (hk_json_as_arr(root, "manifest.json", &n_images, err) < 0)
		goto out;
	hk_json *m = n_images ? hk_json_at(root, 0) : NULL;
	if (!m || hk_json_as_obj(m, "manifest.json: [0]", err) < 0 ||
	    hk_json_get_str(m, "manifest.json: [0]", "Config", &cname, err) < 0 ||
	    hk_json_get_arr(m, "manifest.json: [0]", "Layers", &layers, &n, err) < 0) {
		if (!m)
			hk_fail(err, 0, "manifest.json: expected an array of one image or more");
		goto out;
	}
	if (!cname || !layers || img_clean_name(cname) < 0) {
		hk_fail(err, 0, "manifest.json: [0]: Config and Layers are required");
		goto out;
	}
	config = img_source_read(&img->src, cname, -1, &clen, err);
	if (!config)
		goto out;
	img_sha256_buf(config, clen, img->id);
	if (img_config_parse(config, clen, &img->config, err) < 0 ||
	    docker_layers(img, layers, n, config, clen, err) < 0)
		goto out;
	r = 0;
out:
	hk_json_put(root);
	return r;
}

void img_free(struct img_image *img)
{
	if (!img)
		return;
	img_source_close(&img->src);
	for (size_t i = 0; i < img->n_layers; i++) {
		free(img->layers[i].blob);
		if (img->layer_dirs)
			free(img->layer_dirs[i]);
		if (img->layer_fds && img->layer_fds[i] >= 0)
			close(img->layer_fds[i]);
	}
	free(img->layers);
	free(img->layer_dirs);
	free(img->layer_fds);
	img_config_clear(&img->config);
	free(img);
}

int img_open(const char *source, struct img_image **out, int *rootfs, struct hk_err *err)
{
	struct img_image *img = xzalloc(sizeof(*img));

	img->max_ratio = IMG_RATIO_DEFAULT;
	*out = NULL;
	*rootfs = -1;
	int r = img_source_open(source, &img->src, err);
	if (r == 1)
		*rootfs = TAKE_FD(img->src.dirfd);
	if (r == 0) {
		r = img->src.kind == IMG_DOCKER_ARCHIVE ? docker_resolve(img, err)
							: oci_resolve(img, err);
		if (r == 0 && img->n_layers == 0)
			r = hk_fail(err, 0, "the image has no layers");
		if (r < 0)
			hk_err_prefix(err, "%s %s", img_kind_name(img->src.kind), source);
	}
	if (r != 0) {
		img_free(img);
		return r;
	}
	*out = img;
	return 0;
}

int img_parse_ratio(const char *s, int64_t *ratio, struct hk_err *err)
{
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > IMG_RATIO_MAX)
		return hk_fail(err, 0, "--max-layer-ratio %s: expected a number, 0 to %d", s,
			       IMG_RATIO_MAX);
	*ratio = v;
	return 0;
}
