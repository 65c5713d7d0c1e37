/* Fault injection for the robustness tests: in a build with -DHUSK_FAULTS
 * (make faults), HK_FAULT("step") kills husk with SIGKILL when the
 * environment variable HUSK_FAULT names that step. In the container's
 * process (steps named "child:...") it kills husk and the process both.
 * In a release build it is nothing at all. */
#ifndef HUSK_COMMON_FAULT_H
#define HUSK_COMMON_FAULT_H

#ifdef HUSK_FAULTS
void hk_fault_point(const char *step);
#define HK_FAULT(step) hk_fault_point(step)
#else
#define HK_FAULT(step) \
	do {           \
	} while (0)
#endif

#endif
