/* OCI images (a layout directory, an oci-archive, a docker-archive): the
 * manifest's layers, unpacked once into a cache shared between containers,
 * and the config's defaults for the process. */
#ifndef HUSK_IMAGE_IMAGE_H
#define HUSK_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/source.h"

struct hk_err;
typedef struct json_object hk_json;

struct img_layer {
	char *blob;                /* its name in the source */
	char hex[IMG_HEX_LEN + 1]; /* the sha256 the blob is checked against */
	int64_t size;              /* its descriptor's size; -1 (docker-archive): none */
};

/* The image config's "config" object, as far as launch uses it. */
struct img_config {
	char **entrypoint;
	size_t n_entrypoint;
	char **cmd;
	size_t n_cmd;
	char **env;
	size_t n_env;
	char *workdir;
	char *user;
	char **exposed; /* "80/tcp" */
	size_t n_exposed;
};

struct img_image {
	struct img_source src;
	char id[IMG_HEX_LEN + 1]; /* the config's digest, as docker's image id */
	struct img_layer *layers; /* bottom first */
	size_t n_layers;
	struct img_config config;
	char **layer_dirs; /* after img_unpack: the cache's directories, bottom first, */
	int *layer_fds;    /* and each open (O_PATH), as it was checked */
	size_t unpacked;   /* how many img_unpack had to unpack (the rest were cached) */
	/* told (may be NULL) when another pull or launch is unpacking a layer
	 * this one needs, and img_unpack waits for it, at most secs */
	void (*on_wait)(void *data, const char *hex, int secs);
	void *wait_data;
	/* a layer's tar stream (what its compression unpacks to) may be at
	 * most this many times its blob, or IMG_RATIO_FLOOR whichever is
	 * more; 0: no such bound. img_open sets IMG_RATIO_DEFAULT. */
	int64_t max_ratio;
};

/* A decompression bomb's bound (max_ratio): gzip'd layers of real images
 * unpack to 2 to 10 times their size; gzip itself cannot pass 1032. Any
 * layer may unpack to IMG_RATIO_FLOOR (a small layer of empty files and
 * directories has a high ratio and costs nothing). */
#define IMG_RATIO_DEFAULT 100
#define IMG_RATIO_MAX 1000000
#define IMG_RATIO_FLOOR (64LL << 20)

/* --max-layer-ratio N: 0 (no bound) to IMG_RATIO_MAX; -1 (err) else. */
int img_parse_ratio(const char *s, int64_t *ratio, struct hk_err *err);

/* Open SOURCE: 0 with *out an image, 1 when SOURCE is a directory that is
 * no image layout (a root filesystem: *out NULL, *rootfs its fd, O_PATH),
 * -1 (err) otherwise. */
int img_open(const char *source, struct img_image **out, int *rootfs, struct hk_err *err);
void img_free(struct img_image *img);

/* Decode an image config (the JSON text), for img_open and the tests. */
int img_config_parse(const char *json, size_t len, struct img_config *c, struct hk_err *err);
void img_config_clear(struct img_config *c);
/* Pick the manifest descriptor from an index (the JSON text): the only
 * one, or the one for this machine's platform. Sets *digest (malloc'd),
 * *size and *nested when it is an index itself. */
int img_index_pick(const char *json, size_t len, const char *what, char **digest, int64_t *size,
		   bool *nested, struct hk_err *err);
/* A descriptor's "size" (path names the descriptor): required. */
int img_descriptor_size(hk_json *d, const char *path, int64_t *size, struct hk_err *err);

/* Make sure every layer is in cache_dir (unpacked, checked against its
 * digest), filling layer_dirs. A layer another process is unpacking is
 * waited for, img_patience() seconds at least and longer for a big one
 * (as long as it takes at 256 KiB/s); past that it is unpacked here as
 * well (the first complete copy wins): a slow or hostile registry that
 * another pull talks to cannot hold this one up for longer. */
int img_unpack(struct img_image *img, const char *cache_dir, struct hk_err *err);

/* Remove what dead unpackers left in the cache's tmp/ (cachefd: the
 * cache's directory). */
void img_cache_sweep(int cachefd);

/* The cache at dir, opened as a trusted directory (made 0700 when
 * missing, with sha256/ and tmp/), and *lockfd its CACHE/lock. */
int img_cache_open(const char *dir, int *lockfd, struct hk_err *err);
/* The cache's flock on CACHE/lock (the layers' byte locks are fcntl's,
 * which flock never meets): shared by a pull or a launch from before it
 * looks for its layers until what uses them is recorded (the store's
 * entry, the container's DATA/<id>/.layers); exclusive for a prune, which
 * so never sees a layer taken and not yet recorded. Waits img_patience()
 * seconds at most (EBUSY). */
int img_cache_flock(int lockfd, int op, const char *dir, struct hk_err *err);
/* The cache at dir held shared: the fd that holds it (close it to let
 * go), or -1 (err). */
int img_cache_hold(const char *cache_dir, struct hk_err *err);

/* Seconds a pull waits for a registry's whole answer to a small request
 * (ping, token, manifest, config), and for another pull of a layer it
 * needs: $HUSK_PULL_TIMEOUT (1 to 86400), else 120; -1 (err) for a value
 * that is no such number. */
int img_patience(struct hk_err *err);

#endif
