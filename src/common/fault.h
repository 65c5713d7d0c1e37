/* Fault injection for the robustness tests: in a build with -DHUSK_FAULTS
 * (make faults), HK_FAULT("step") kills husk with SIGKILL when the
 * environment variable HUSK_FAULT names that step. Steps in the container's
 * process ("child:...") cannot signal husk (it is in an ancestor pid
 * namespace) nor die by SIGKILL as a namespace's PID 1: the process tells
 * husk over the sync socket, husk kills itself, the process exits
 * (runtime/child.c). In a release build all of it is nothing. */
#ifndef HUSK_COMMON_FAULT_H
#define HUSK_COMMON_FAULT_H

#include <stdbool.h>

#ifdef HUSK_FAULTS
bool hk_fault_hit(const char *step);
void hk_fault_die(void) __attribute__((noreturn));
#define HK_FAULT(step)                  \
	do {                            \
		if (hk_fault_hit(step)) \
			hk_fault_die(); \
	} while (0)
#else
#define HK_FAULT(step) \
	do {           \
	} while (0)
static inline bool hk_fault_hit(const char *step)
{
	(void)step;
	return false;
}
static inline void hk_fault_die(void)
{
}
#endif

#endif
