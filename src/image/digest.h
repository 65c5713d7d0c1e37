/* Content digests of image blobs: "sha256:<64 hex digits>", the only
 * algorithm OCI images use in practice (others are refused by name). */
#ifndef HUSK_IMAGE_DIGEST_H
#define HUSK_IMAGE_DIGEST_H

#include <nettle/sha2.h>
#include <stddef.h>

struct hk_err;

#define IMG_HEX_LEN 64

/* Check "sha256:<64 lowercase hex>" and copy the hex part into hex; what
 * names the value in errors. */
int img_digest_parse(const char *digest, const char *what, char hex[IMG_HEX_LEN + 1],
		     struct hk_err *err);

struct img_sha256 {
	struct sha256_ctx ctx;
};

void img_sha256_init(struct img_sha256 *h);
void img_sha256_update(struct img_sha256 *h, const void *buf, size_t len);
void img_sha256_hex(struct img_sha256 *h, char out[IMG_HEX_LEN + 1]);
/* The digest of a buffer, as hex. */
void img_sha256_buf(const void *buf, size_t len, char out[IMG_HEX_LEN + 1]);
/* Check a buffer against an expected hex digest; what names it in errors. */
int img_verify_buf(const void *buf, size_t len, const char *hex, const char *what,
		   struct hk_err *err);

#endif
