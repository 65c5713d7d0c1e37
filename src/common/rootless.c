#include "common/rootless.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/file.h"

static int initial = -1; /* unknown yet */
static enum hk_rootless_cgroups cgroups_mode = HK_CG_AUTO;

/* As runc reads it: empty (a namespace whose maps are not written yet) is
 * not the initial one; what does not parse is taken to be. */
static bool initial_map(const char *map)
{
	unsigned long inside, outside, count;

	if (map[0] == '\0')
		return false;
	if (sscanf(map, " %lu %lu %lu", &inside, &outside, &count) != 3)
		return true;
	return inside == 0 && outside == 0 && count == 4294967295UL;
}

bool hk_initial_userns(void)
{
	if (initial < 0) {
		_cleanup_free_ char *map = hk_read_file("/proc/self/uid_map", 65536, NULL, NULL);
		initial = !map || initial_map(map);
	}
	return initial;
}

void hk_entered_userns(void)
{
	initial = 0;
}

bool hk_rootless(void)
{
	return geteuid() != 0 || !hk_initial_userns();
}

void hk_set_rootless_cgroups(enum hk_rootless_cgroups mode)
{
	cgroups_mode = mode;
}

bool hk_cgroups_best_effort(void)
{
	if (cgroups_mode != HK_CG_AUTO)
		return cgroups_mode == HK_CG_BEST_EFFORT;
	return hk_rootless();
}
