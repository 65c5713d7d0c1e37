/* Which layers of the image cache a launch's container uses, recorded in
 * DATA/<id>/.layers (one sha256 in hex a line; empty for a rootfs
 * directory) before its overlay is mounted, so that `husk image prune`
 * never removes a layer in use. The record is written while the cache is
 * held shared (image.h, img_cache_hold), prune reads it holding it
 * exclusively. */
#ifndef HUSK_LAUNCH_LAYERS_H
#define HUSK_LAUNCH_LAYERS_H

struct hk_err;
struct img_image;
struct img_prune;

#define LAYERS_FILE ".layers"

/* DIR/.layers for img (NULL: a rootfs directory, no layers). */
int launch_layers_record(const char *dir, const struct img_image *img, struct hk_err *err);
/* Every layer the containers of data_dir record, kept in pr. A container
 * directory with an owner but no record (a launch killed as it started,
 * or made by an older husk) fails it: its layers cannot be told. */
int launch_layers_keep(const char *data_dir, struct img_prune *pr, struct hk_err *err);

#endif
