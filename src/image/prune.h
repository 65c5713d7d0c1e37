/* Pruning the layer cache: every layer of CACHE/sha256/ that no image of
 * the store (CACHE/refs/) and no container names is removed. The caller
 * names the containers' layers (launch keeps them in DATA/<id>/.layers)
 * between begin and run, while the cache is held exclusively. */
#ifndef HUSK_IMAGE_PRUNE_H
#define HUSK_IMAGE_PRUNE_H

#include <stddef.h>

struct hk_err;

struct img_prune {
	const char *dir; /* the cache, as named */
	int cachefd;
	int lockfd;  /* CACHE/lock, flock'ed LOCK_EX */
	char **keep; /* layers in use (hex) */
	size_t n_keep;
};

/* Open the cache and hold it exclusively (waiting img_patience() seconds
 * at most for pulls and launches to record what they use). */
int img_prune_begin(struct img_prune *pr, const char *cache_dir, struct hk_err *err);
/* A layer in use (its sha256 in hex). */
int img_prune_keep(struct img_prune *pr, const char *hex, struct hk_err *err);
/* Every layer of every image of the store; an entry that cannot be read
 * fails the prune (nothing is removed). */
int img_prune_keep_store(struct img_prune *pr, struct hk_err *err);
/* Remove every other layer, telling deleted (may be NULL) each one and
 * the bytes it took; then sweep tmp/. */
typedef void (*img_prune_cb)(void *data, const char *hex, long long bytes);
int img_prune_run(struct img_prune *pr, img_prune_cb deleted, void *data, struct hk_err *err);
/* Let go of the cache. */
void img_prune_end(struct img_prune *pr);

#endif
