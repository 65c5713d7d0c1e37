/* sha256 through nettle: libarchive needs it already, and its x86-64
 * assembly beats a portable C one (no second copy of sha256 in husk). */
#include "image/digest.h"

#include <string.h>

#include "common/err.h"

int img_digest_parse(const char *digest, const char *what, char hex[IMG_HEX_LEN + 1],
		     struct hk_err *err)
{
	const char *colon = digest ? strchr(digest, ':') : NULL;

	if (!colon)
		return hk_fail(err, 0, "%s: \"%s\" is not a digest (algorithm:hex)", what,
			       digest ? digest : "");
	if ((size_t)(colon - digest) != 6 || strncmp(digest, "sha256", 6) != 0)
		return hk_fail(err, 0,
			       "%s: digest algorithm \"%.*s\" is not supported (sha256 only)", what,
			       (int)(colon - digest), digest);
	const char *h = colon + 1;
	if (strlen(h) != IMG_HEX_LEN || strspn(h, "0123456789abcdef") != IMG_HEX_LEN)
		return hk_fail(err, 0,
			       "%s: \"%s\" is not a sha256 digest (64 lowercase hex digits)", what,
			       digest);
	memcpy(hex, h, IMG_HEX_LEN + 1);
	return 0;
}

void img_sha256_init(struct img_sha256 *h)
{
	sha256_init(&h->ctx);
}

void img_sha256_update(struct img_sha256 *h, const void *buf, size_t len)
{
	sha256_update(&h->ctx, len, buf);
}

void img_sha256_hex(struct img_sha256 *h, char out[IMG_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[SHA256_DIGEST_SIZE];

	sha256_digest(&h->ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[IMG_HEX_LEN] = '\0';
}

void img_sha256_buf(const void *buf, size_t len, char out[IMG_HEX_LEN + 1])
{
	struct img_sha256 h;

	img_sha256_init(&h);
	img_sha256_update(&h, buf, len);
	img_sha256_hex(&h, out);
}

int img_verify_buf(const void *buf, size_t len, const char *hex, const char *what,
		   struct hk_err *err)
{
	char got[IMG_HEX_LEN + 1];

	img_sha256_buf(buf, len, got);
	if (strcmp(got, hex) != 0)
		return hk_fail(err, 0,
			       "%s: content does not match its digest sha256:%s (it is sha256:%s)",
			       what, hex, got);
	return 0;
}
