/* container_info_free on its own: what the CLI frees after state and list,
 * linked also into the CLI fuzz target, whose stubs (tests/fuzz/stubs.c)
 * stand in for the rest of the runtime. */
#include <stdlib.h>
#include <string.h>

#include "runtime/container.h"
#include "spec/spec.h"

void container_info_free(struct hk_container_info *info)
{
	free(info->id);
	free(info->bundle);
	free(info->rootfs);
	free(info->created);
	free(info->owner);
	for (size_t i = 0; i < info->n_annotations; i++) {
		free(info->annotations[i].key);
		free(info->annotations[i].value);
	}
	free(info->annotations);
	memset(info, 0, sizeof(*info));
}
