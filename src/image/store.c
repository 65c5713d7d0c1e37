/* Where pulled images are found by name (store.h). */
#include "image/store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "image/digest.h"
#include "image/ref.h"

char *img_store_name(const struct img_ref *ref)
{
	_cleanup_free_ char *s = img_ref_string(ref);
	char hex[IMG_HEX_LEN + 1];

	img_sha256_buf(s, strlen(s), hex);
	return xasprintf("refs/%s", hex);
}

char *img_store_path(const char *cache_dir, const struct img_ref *ref)
{
	_cleanup_free_ char *name = img_store_name(ref);
	return xasprintf("%s/%s", cache_dir, name);
}

bool img_store_has(const char *cache_dir, const struct img_ref *ref)
{
	_cleanup_free_ char *dir = img_store_path(cache_dir, ref);
	_cleanup_free_ char *index = xasprintf("%s/index.json", dir);
	struct stat st;

	return lstat(index, &st) == 0 && S_ISREG(st.st_mode);
}
