#include "common/proctitle.h"

#include <string.h>

static char *args;
static size_t args_len;

void hk_proctitle_init(int argc, char **argv)
{
	if (argc < 1 || !argv[0])
		return;
	/* The kernel lays the arguments out one after the other; only that
	 * contiguous run is the region /proc/<pid>/cmdline shows. */
	char *end = argv[0] + strlen(argv[0]) + 1;
	for (int i = 1; i < argc && argv[i] == end; i++)
		end = argv[i] + strlen(argv[i]) + 1;
	args = argv[0];
	args_len = (size_t)(end - argv[0]);
}

void hk_proctitle_set(const char *title)
{
	if (!args || args_len == 0)
		return;
	size_t n = strnlen(title, args_len - 1);
	memcpy(args, title, n);
	memset(args + n, 0, args_len - n);
}
