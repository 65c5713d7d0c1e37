/* --userns=auto: root in the container is a range of host ids no other
 * launched container of this data dir holds, and the read-only layers are
 * seen through idmapped mounts, so their root-owned files belong to the
 * container's root (overlayfs takes idmapped lower layers since 5.19). */
#ifndef HUSK_LAUNCH_USERNS_H
#define HUSK_LAUNCH_USERNS_H

#include <stdint.h>

struct hk_err;

#define USERNS_SIZE 65536u

/* Claim a free range for the container whose directory is dir (the claim
 * is recorded there, and released by userns_release). */
int userns_claim(const char *data_dir, const char *dir, uint32_t *host, struct hk_err *err);
void userns_release(const char *dir);
/* Mount src at target, idmapped 0 -> host (USERNS_SIZE ids). */
int userns_idmap_mount(const char *src, const char *target, uint32_t host, struct hk_err *err);

#endif
