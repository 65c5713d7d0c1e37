/* husk pull (registry.h): the manifest, through indexes, checked against
 * its digest (the reference's, or the one the index gave); the config,
 * checked; the manifest's limits (layers, sizes) before a byte of a layer
 * is asked for; then the image's manifest and config as an image layout
 * in CACHE/tmp/, opened as any layout is (image.c), its layers unpacked
 * by the cache (cache.c) from a pipe that a thread of ours fills from the
 * registry: streamed, hashed as they are unpacked, renamed into place only
 * when whole and right. The layout becomes the store's entry last. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/rmtree.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "image/ref.h"
#include "registry/registry.h"
#include "image/store.h"
#include "spec/json.h"

#define DOC_MAX (4 << 20)
#define MAX_NESTING 4
#define MAX_LAYERS 128
#define BLOB_MAX (32LL << 30)
#define IMAGE_MAX (64LL << 30)
#define PARALLEL 4 /* layers downloaded at once */

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ACCEPT OCI_MANIFEST ", " OCI_INDEX ", " DOCKER_MANIFEST ", " DOCKER_LIST

struct fetch {
	pthread_t tid;
	struct reg_client *c;
	char digest[IMG_HEX_LEN + 8];
	int64_t size;
	int fd;         /* the pipe's writing end */
	int64_t *shown; /* the progress counter, or NULL */
	int rc;
	struct hk_err err;
};

struct pull {
	struct reg_client c;
	const struct reg_opts *o;
	pthread_mutex_t lock; /* of fetches: unpackers run in parallel */
	struct fetch **fetches;
	size_t n_fetches;
};

/* One layer unpacked by a thread of its own: a view of the image with
 * that layer alone (the cache's per-layer locks are OFD locks, taken on
 * a file description of each unpacker's own, so threads exclude each
 * other as processes do). */
struct layer_job {
	pthread_t tid;
	bool started;
	struct img_image view;
	const char *cache_dir;
	int rc;
	struct hk_err err;
};

struct doc {
	char *json;
	size_t len;
	char *ctype;
	char hex[IMG_HEX_LEN + 1];
};

static void doc_clear(struct doc *d)
{
	free(d->json);
	free(d->ctype);
	*d = (struct doc){0};
}

static void *fetch_main(void *data)
{
	struct fetch *f = data;

	f->rc = reg_blob_to_fd(f->c, f->digest, f->size, f->fd, f->shown, &f->err);
	close(f->fd);
	return NULL;
}

/* img_source's open_blob: the layer, from a pipe a thread fills. */
static int open_blob(struct img_source *src, const char *name, int64_t size, int64_t max,
		     struct img_reader *r, struct hk_err *err)
{
	struct pull *p = src->opaque;
	const char *hex = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	int fds[2];

	if (size < 0 || size > max)
		return hk_fail(err, 0,
			       "layer sha256:%s: its %lld bytes are more than the cache can take",
			       hex, (long long)size);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return hk_fail(err, errno, "layer sha256:%s: pipe", hex);
	struct fetch *f = xzalloc(sizeof(*f));
	f->c = &p->c;
	snprintf(f->digest, sizeof(f->digest), "sha256:%s", hex);
	f->size = size;
	f->fd = fds[1];
	const struct reg_progress *pg = p->o->progress;
	f->shown = pg ? pg->layer(pg->data, hex, size) : NULL;
	int e = pthread_create(&f->tid, NULL, fetch_main, f);
	if (e) {
		close(fds[0]);
		close(fds[1]);
		free(f);
		return hk_fail(err, e, "layer sha256:%s: pthread_create", hex);
	}
	pthread_mutex_lock(&p->lock);
	p->fetches = xrealloc(p->fetches, (p->n_fetches + 1) * sizeof(*p->fetches));
	p->fetches[p->n_fetches++] = f;
	pthread_mutex_unlock(&p->lock);
	r->fd = fds[0];
	r->left = size;
	return 0;
}

/* Wait for every download; when the unpack failed, a download's own
 * error (an HTTP status, a reset) says more than what the unpacker saw of
 * it (a short or broken stream), unless the download only failed because
 * the unpacker had stopped reading (EPIPE). */
static void join_all(struct pull *p, bool failed, struct hk_err *err)
{
	bool told = false;

	for (size_t i = 0; i < p->n_fetches; i++) {
		struct fetch *f = p->fetches[i];
		pthread_join(f->tid, NULL);
		if (failed && !told && f->rc < 0 && f->err.errnum != EPIPE) {
			*err = f->err;
			told = true;
		}
		free(f);
	}
	free(p->fetches);
	p->fetches = NULL;
	p->n_fetches = 0;
}

static bool is_index(const struct doc *d, struct hk_err *err, int *bad)
{
	if (d->ctype && (strncmp(d->ctype, OCI_INDEX, strlen(OCI_INDEX)) == 0 ||
			 strncmp(d->ctype, DOCKER_LIST, strlen(DOCKER_LIST)) == 0))
		return true;
	if (d->ctype && strstr(d->ctype, "docker.distribution.manifest.v1")) {
		*bad = hk_fail(err, 0, "a Docker schema 1 manifest (%s): not supported", d->ctype);
		return false;
	}
	hk_json *root = hk_json_parse(d->json, d->len, "manifest", err);
	if (!root) {
		*bad = -1;
		return false;
	}
	bool index = hk_json_has(root, "manifests") && !hk_json_has(root, "layers");
	hk_json_put(root);
	return index;
}

static int get_doc(struct pull *p, const char *what, const char *want, struct doc *d,
		   struct hk_err *err)
{
	doc_clear(d);
	d->json = reg_get(&p->c, "manifests", what, ACCEPT, DOC_MAX, &d->len, &d->ctype, err);
	if (!d->json)
		return -1;
	img_sha256_buf(d->json, d->len, d->hex);
	if (want && strcmp(want, d->hex) != 0)
		return hk_fail(err, 0,
			       "manifest %s does not match its digest (its content is "
			       "sha256:%s)",
			       what, d->hex);
	return 0;
}

/* The manifest for this machine, through at most MAX_NESTING indexes. */
static int resolve(struct pull *p, struct doc *d, struct hk_err *err)
{
	const struct img_ref *ref = p->c.ref;
	_cleanup_free_ char *what = xstrdup(ref->digest ? ref->digest : ref->tag);
	char want[IMG_HEX_LEN + 1];
	bool check = false;

	if (ref->digest && img_digest_parse(ref->digest, "digest", want, err) < 0)
		return -1;
	check = ref->digest != NULL;
	for (int depth = 0; depth <= MAX_NESTING; depth++) {
		if (get_doc(p, what, check ? want : NULL, d, err) < 0)
			return -1;
		int bad = 0;
		bool index = is_index(d, err, &bad);
		if (bad < 0)
			return -1;
		if (!index)
			return 0;
		_cleanup_free_ char *digest = NULL;
		int64_t size = 0;
		bool nested = false;
		if (img_index_pick(d->json, d->len, "index", &digest, &size, &nested, err) < 0)
			return -1;
		if (size > DOC_MAX)
			return hk_fail(err, 0, "index: a manifest of %lld bytes (at most %d)",
				       (long long)size, DOC_MAX);
		if (img_digest_parse(digest, "index", want, err) < 0)
			return -1;
		free(what);
		what = TAKE_PTR(digest);
		check = true;
	}
	return hk_fail(err, 0, "indexes nested more than %d deep", MAX_NESTING);
}

/* What the manifest asks for, bounded before anything is downloaded. */
static int check_manifest(const struct doc *d, char **cdigest, int64_t *csize, struct hk_err *err)
{
	hk_json *root = hk_json_parse(d->json, d->len, "manifest", err), *config = NULL,
		*layers = NULL;
	size_t n = 0;
	int64_t total = 0;
	int r = -1;

	if (!root)
		return -1;
	if (hk_json_as_obj(root, "manifest", err) < 0 ||
	    hk_json_get_obj(root, "manifest", "config", &config, err) < 0 ||
	    hk_json_get_arr(root, "manifest", "layers", &layers, &n, err) < 0)
		goto out;
	if (!config || !layers || n == 0) {
		hk_fail(err, 0, "manifest: %s", !config ? "no config" : "no layers");
		goto out;
	}
	if (n > MAX_LAYERS) {
		hk_fail(err, 0, "manifest: %zu layers (at most %d)", n, MAX_LAYERS);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64];
		int64_t size;
		snprintf(path, sizeof(path), "manifest: layers[%zu]", i);
		hk_json *l = hk_json_at(layers, i);
		if (hk_json_as_obj(l, path, err) < 0 ||
		    img_descriptor_size(l, path, &size, err) < 0)
			goto out;
		if (size > BLOB_MAX || (total += size) > IMAGE_MAX) {
			hk_fail(err, 0, "%s: %lld bytes (at most %lld a layer, %lld an image)",
				path, (long long)size, BLOB_MAX, IMAGE_MAX);
			goto out;
		}
	}
	if (hk_json_get_str(config, "manifest: config", "digest", cdigest, err) < 0 ||
	    img_descriptor_size(config, "manifest: config", csize, err) < 0)
		goto out;
	if (!*cdigest)
		hk_fail(err, 0, "manifest: config.digest: missing");
	else if (*csize > DOC_MAX)
		hk_fail(err, 0, "manifest: a config of %lld bytes (at most %d)", (long long)*csize,
			DOC_MAX);
	else
		r = 0;
out:
	hk_json_put(root);
	return r;
}

static int get_config(struct pull *p, const struct doc *m, struct doc *cfg, struct hk_err *err)
{
	_cleanup_free_ char *digest = NULL;
	int64_t size = 0;
	char want[IMG_HEX_LEN + 1];

	if (check_manifest(m, &digest, &size, err) < 0 ||
	    img_digest_parse(digest, "manifest: config", want, err) < 0)
		return -1;
	cfg->json = reg_get(&p->c, "blobs", digest, NULL, (size_t)size, &cfg->len, NULL, err);
	if (!cfg->json)
		return -1;
	img_sha256_buf(cfg->json, cfg->len, cfg->hex);
	if (cfg->len != (size_t)size || strcmp(cfg->hex, want) != 0)
		return hk_fail(err, 0, "config %s does not match its descriptor", digest);
	return 0;
}

static int write_blob(int dirfd, const struct doc *d, struct hk_err *err)
{
	return hk_write_atomic(dirfd, d->hex, d->json, d->len, err);
}

/* CACHE/tmp/NAME: oci-layout, index.json (the manifest, named by the
 * reference), blobs/sha256/ with the manifest and the config. */
static int write_layout(int cachefd, const char *tmp, const struct img_ref *ref,
			const struct doc *m, const struct doc *cfg, struct hk_err *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	_cleanup_free_ char *blobs = xasprintf("%s/blobs", tmp);
	_cleanup_free_ char *sha = xasprintf("%s/blobs/sha256", tmp);

	if (mkdirat(cachefd, blobs, 0755) < 0 || mkdirat(cachefd, sha, 0755) < 0)
		return hk_fail(err, errno, "image cache: mkdir %s", tmp);
	_cleanup_close_ int dirfd =
		openat(cachefd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int blobfd =
		openat(cachefd, sha, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0 || blobfd < 0)
		return hk_fail(err, errno, "image cache: open %s", tmp);
	hk_json *index = hk_json_new_obj(), *mans = hk_json_new_arr(), *desc = hk_json_new_obj(),
		*ann = hk_json_new_obj();
	_cleanup_free_ char *digest = xasprintf("sha256:%s", m->hex);
	_cleanup_free_ char *name = img_ref_string(ref);
	hk_json_set_int(index, "schemaVersion", 2);
	hk_json_set_str(index, "mediaType", OCI_INDEX);
	hk_json_set_str(desc, "mediaType",
			m->ctype && strchr(m->ctype, '/') ? m->ctype : OCI_MANIFEST);
	hk_json_set_str(desc, "digest", digest);
	hk_json_set_int(desc, "size", (int64_t)m->len);
	hk_json_set_str(ann, "org.opencontainers.image.ref.name", name);
	hk_json_set(desc, "annotations", ann);
	hk_json_append(mans, desc);
	hk_json_set(index, "manifests", mans);
	_cleanup_free_ char *text = hk_json_dump(index, 0);
	hk_json_put(index);
	if (write_blob(blobfd, m, err) < 0 || write_blob(blobfd, cfg, err) < 0 ||
	    hk_write_atomic(dirfd, "oci-layout", layout, strlen(layout), err) < 0 ||
	    hk_write_atomic(dirfd, "index.json", text, strlen(text), err) < 0)
		return -1;
	return 0;
}

static void *unpack_main(void *data)
{
	struct layer_job *j = data;

	j->rc = img_unpack(&j->view, j->cache_dir, &j->err);
	return NULL;
}

static void job_clear(struct layer_job *j)
{
	if (j->view.layer_dirs)
		free(j->view.layer_dirs[0]);
	if (j->view.layer_fds && j->view.layer_fds[0] >= 0)
		close(j->view.layer_fds[0]);
	free(j->view.layer_dirs);
	free(j->view.layer_fds);
}

/* Every layer the cache lacks, PARALLEL at a time, downloaded and
 * unpacked at once; the first failure (in the manifest's order) is the
 * error. */
static int unpack_parallel(struct img_image *img, const char *cache_dir, struct hk_err *err)
{
	struct layer_job *jobs = xcalloc(img->n_layers, sizeof(*jobs));
	int r = 0;

	for (size_t start = 0; start < img->n_layers && r == 0; start += PARALLEL) {
		size_t end = start + PARALLEL < img->n_layers ? start + PARALLEL : img->n_layers;
		for (size_t i = start; i < end; i++) {
			struct layer_job *j = &jobs[i];
			j->view = *img;
			j->view.layers = &img->layers[i];
			j->view.n_layers = 1;
			j->view.layer_dirs = NULL;
			j->view.layer_fds = NULL;
			j->cache_dir = cache_dir;
			int e = pthread_create(&j->tid, NULL, unpack_main, j);
			j->started = e == 0;
			if (e)
				j->rc = hk_fail(&j->err, e, "pthread_create");
		}
		for (size_t i = start; i < end; i++) {
			if (jobs[i].started)
				pthread_join(jobs[i].tid, NULL);
			if (jobs[i].rc < 0 && r == 0) {
				*err = jobs[i].err;
				r = -1;
			}
			job_clear(&jobs[i]);
		}
	}
	free(jobs);
	return r;
}

/* The layout, its layers unpacked from the registry into the cache. */
static int unpack_from(struct pull *p, const char *cache_dir, const char *tmp, char id[65],
		       struct hk_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", cache_dir, tmp);
	struct img_image *img = NULL;
	int rootfs = -1;

	if (img_open(path, &img, &rootfs, err) != 0) {
		if (rootfs >= 0)
			close(rootfs);
		return img ? -1 : hk_fail(err, 0, "the image written to %s is no layout", path);
	}
	img->src.open_blob = open_blob;
	img->src.opaque = p;
	img->max_ratio = p->o->max_ratio;
	if (p->o->progress) {
		img->on_wait = p->o->progress->waiting;
		img->wait_data = p->o->progress->data;
	}
	int r = unpack_parallel(img, cache_dir, err);
	join_all(p, r < 0, err);
	memcpy(id, img->id, IMG_HEX_LEN + 1);
	img_free(img);
	return r;
}

/* tmp becomes the store's entry, replacing an older one atomically. */
static int commit(int cachefd, const char *tmp, const struct img_ref *ref, struct hk_err *err)
{
	_cleanup_free_ char *name = img_store_name(ref);

	if (mkdirat(cachefd, "refs", 0700) < 0 && errno != EEXIST)
		return hk_fail(err, errno, "image cache: mkdir refs");
	if (renameat2(cachefd, tmp, cachefd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST || renameat2(cachefd, tmp, cachefd, name, RENAME_EXCHANGE) < 0)
		return hk_fail(err, errno, "image cache: rename %s to %s", tmp, name);
	hk_rmtree_at(cachefd, tmp, NULL); /* the older entry */
	return 0;
}

/* What pulls that died (killed, Ctrl-C) left in tmp/: a pull.* directory
 * whose flock nobody holds, and their unpackers' directories. */
static void clear_dead_pulls(int cachefd)
{
	int fd = openat(cachefd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "pull.", 5) != 0)
			continue;
		int dfd = openat(dirfd(d), e->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			continue;
		if (flock(dfd, LOCK_EX | LOCK_NB) == 0) {
			hk_debug("pull: removing tmp/%s, left by a pull that died", e->d_name);
			hk_rmtree_at(dirfd(d), e->d_name, NULL);
		}
		close(dfd);
	}
	closedir(d);
	img_cache_sweep(cachefd);
}

/* tmp/pull.<pid>, made and flock'ed for as long as the pull runs (made
 * again if another pull's clear_dead_pulls took it before the lock). */
static int make_tmp(int cachefd, const char *tmp, struct hk_err *err)
{
	for (int tries = 0; tries < 3; tries++) {
		struct stat st;
		hk_rmtree_at(cachefd, tmp, NULL); /* a dead pull's of the same pid */
		if (mkdirat(cachefd, tmp, 0700) < 0)
			return hk_fail(err, errno, "image cache: mkdir %s", tmp);
		int fd = openat(cachefd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return hk_fail(err, errno, "image cache: open %s", tmp);
		if (flock(fd, LOCK_EX) < 0) {
			int e = errno;
			close(fd);
			return hk_fail(err, e, "image cache: flock %s", tmp);
		}
		if (fstat(fd, &st) == 0 && st.st_nlink > 0)
			return fd;
		close(fd);
	}
	return hk_fail(err, EAGAIN, "image cache: %s removed as it was made", tmp);
}

static int pull_into(struct pull *p, const char *cache_dir, int cachefd, char id[65],
		     struct hk_err *err)
{
	struct doc m = {0}, cfg = {0};
	char tmp[64];
	int r = -1;

	snprintf(tmp, sizeof(tmp), "tmp/pull.%d", (int)getpid());
	clear_dead_pulls(cachefd);
	_cleanup_close_ int lockfd = make_tmp(cachefd, tmp, err);
	if (lockfd < 0)
		return -1;
	/* the cache held from before the layers are looked for until the
	 * entry that names them is in place: a prune sees both or neither
	 * (image.h, img_cache_flock) */
	_cleanup_close_ int hold = -1;
	if (resolve(p, &m, err) == 0 && get_config(p, &m, &cfg, err) == 0 &&
	    write_layout(cachefd, tmp, p->c.ref, &m, &cfg, err) == 0 &&
	    (hold = img_cache_hold(cache_dir, err)) >= 0 &&
	    unpack_from(p, cache_dir, tmp, id, err) == 0 &&
	    commit(cachefd, tmp, p->c.ref, err) == 0)
		r = 0;
	if (r < 0)
		hk_rmtree_at(cachefd, tmp, NULL);
	doc_clear(&m);
	doc_clear(&cfg);
	return r;
}

int reg_pull(const char *image, const struct img_ref *ref, const char *cache_dir,
	     const struct reg_opts *o, char id[65], struct hk_err *err)
{
	struct pull p = {.o = o, .lock = PTHREAD_MUTEX_INITIALIZER};
	int r = -1;

	signal(SIGPIPE, SIG_IGN); /* a reader that stopped: EPIPE, not death */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return hk_fail(err, 0, "pull %s: curl_global_init failed", image);
	_cleanup_close_ int cachefd =
		hk_open_trusted_dir("--cache-dir", cache_dir, true, 0700, err);
	if (cachefd >= 0 && mkdirat(cachefd, "tmp", 0700) < 0 && errno != EEXIST)
		hk_fail(err, errno, "image cache %s: mkdir tmp", cache_dir);
	else if (cachefd >= 0 && reg_open(&p.c, ref, o, err) == 0)
		r = pull_into(&p, cache_dir, cachefd, id, err);
	reg_close(&p.c);
	curl_global_cleanup();
	if (r < 0)
		hk_err_prefix(err, "pull %s", image);
	return r;
}
