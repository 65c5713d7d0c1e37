/* The images pulled from registries, by name: CACHE/refs/<sha256 of the
 * reference's canonical string>/ is an OCI image layout holding the
 * image's index.json (its reference as org.opencontainers.image.ref.name),
 * manifest and config; its layers are the layer cache's (CACHE/sha256/),
 * unpacked and checked before the entry was renamed into place. husk
 * launch opens the entry as any image layout. */
#ifndef HUSK_IMAGE_STORE_H
#define HUSK_IMAGE_STORE_H

#include <stdbool.h>

struct img_ref;

/* CACHE/refs/<hex> (malloc'd) and the name within CACHE ("refs/<hex>"). */
char *img_store_path(const char *cache_dir, const struct img_ref *ref);
char *img_store_name(const struct img_ref *ref);
/* The entry is there (its index.json is). */
bool img_store_has(const char *cache_dir, const struct img_ref *ref);

#endif
