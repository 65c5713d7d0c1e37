/* The images pulled from registries, by name: CACHE/refs/<sha256 of the
 * reference's canonical string>/ is an OCI image layout holding the
 * image's index.json (its reference as org.opencontainers.image.ref.name),
 * manifest and config; its layers are the layer cache's (CACHE/sha256/),
 * unpacked and checked before the entry was renamed into place. husk
 * launch opens the entry as any image layout. */
#ifndef HUSK_IMAGE_STORE_H
#define HUSK_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct hk_err;
struct img_ref;

/* CACHE/refs/<hex> (malloc'd) and the name within CACHE ("refs/<hex>"). */
char *img_store_path(const char *cache_dir, const struct img_ref *ref);
char *img_store_name(const struct img_ref *ref);
/* The entry is there (its index.json is). */
bool img_store_has(const char *cache_dir, const struct img_ref *ref);
/* ... and every layer it names is in the cache (a layer removed by hand
 * makes the image one to pull again). */
bool img_store_complete(const char *cache_dir, const struct img_ref *ref);

#endif

/* One image of the store, for husk images. */
struct img_store_entry {
	char *name;     /* its reference, as pulled */
	char id[65];    /* the config's digest (hex) */
	char *digest;   /* the manifest's, "sha256:..." */
	long long size; /* the config and the layers, as downloaded */
	char *created;  /* the config's "created", or NULL */
};

/* Every entry of the store (each opened as an image layout, its digests
 * checked), sorted by name; an entry that cannot be read is left out with
 * a debug line. -1 (err) when the store cannot be read at all. */
int img_store_list(const char *cache_dir, struct img_store_entry **out, size_t *n,
		   struct hk_err *err);
void img_store_list_free(struct img_store_entry *e, size_t n);
/* Remove ref's entry (its layers stay in the cache): 0, or -1 (err;
 * errnum ENOENT when the store has no such image). */
int img_store_remove(const char *cache_dir, const struct img_ref *ref, struct hk_err *err);
