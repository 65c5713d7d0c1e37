#include "common/fault.h"

#ifdef HUSK_FAULTS
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool hk_fault_hit(const char *step)
{
	const char *want = getenv("HUSK_FAULT");
	return want && strcmp(want, step) == 0;
}

void hk_fault_die(void)
{
	kill(getpid(), SIGKILL);
	_exit(137);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int hk_fault_unused;
#endif
