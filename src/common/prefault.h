/* Map a process's own pages with one madvise each instead of one page
 * fault at a time. A page fault costs 12-16 us on the PVM guest the
 * benchmarks run on (bench/README.md, "page faults"); the container
 * process husk clones took ~30 of them before its program ran: fork
 * copies no page table of a file mapping (the text and read-only data
 * fault in again) and the first write to each page it shares with husk
 * copies it. One MADV_POPULATE_READ of all of husk's text costs ~35 us
 * warm, about three faults. The start of each program is done before
 * glibc's in common/entry.c. Hints only: where the kernel has no
 * MADV_POPULATE_* (before 5.14) or refuses, nothing changes but the
 * speed. */
#ifndef HUSK_COMMON_PREFAULT_H
#define HUSK_COMMON_PREFAULT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "common/rawsys.h"

enum {
	HK_PREFAULT_CODE = 1, /* text and read-only data: mapped */
	/* data and bss, the heap's top 256 KiB, the stack's top 64 KiB:
	 * mapped writable (copied: a bounded few hundred KiB, in a container
	 * process charged to its memory cgroup) */
	HK_PREFAULT_DATA = 2,
};

void hk_prefault(int what);

/* What hk_prefault(what) maps, worked out ahead: by a process about to
 * clone, for the child to map first thing after the clone returns
 * (hk_prefault_apply), before it touches a page of text that it has no
 * page table for, each one a fault. Working it out touched the ELF
 * headers, dl_iterate_phdr and the heap's bookkeeping: ~10 faults of the
 * child's, on the container's critical path. */
#define HK_PREFAULT_RANGES 8
struct hk_prefault_range {
	uintptr_t start;
	size_t len;
	int advice;
};
struct hk_prefault_plan {
	int n;
	struct hk_prefault_range r[HK_PREFAULT_RANGES];
};
void hk_prefault_plan(int what, struct hk_prefault_plan *plan);
/* The initial program break, where common/entry.c noted it; else 0. */
extern uintptr_t hk_heap_start;
/* Set by common/entry.c where mapping ahead does not pay: a first write
 * to a fresh page took fewer than HK_FAULT_DEAR_CYCLES TSC cycles (or
 * HUSK_PREFAULT=0 is in the environment; =1 maps ahead regardless).
 * Then nothing is mapped ahead, here or in the children. */
extern bool hk_prefault_off;
#define HK_FAULT_DEAR_CYCLES 16000
/* What common/entry.c went by: HK_PREFAULT_MEASURED (hk_fault_cycles, the
 * cheaper of its two probes), HK_PREFAULT_ENV, or 0 when it did not run
 * (a dynamic or sanitizer build: then pages are mapped ahead). */
enum { HK_PREFAULT_MEASURED = 1, HK_PREFAULT_ENV = 2 };
extern int hk_prefault_how;
extern uint64_t hk_fault_cycles;
/* The decision, as a debug line (common/log.h). */
void hk_prefault_report(void);

/* Inline, with raw system calls where there are (common/rawsys.h): no
 * text of glibc's, nothing but the plan read, errno untouched. */
static inline void hk_prefault_apply(const struct hk_prefault_plan *plan)
{
	for (int i = 0; i < plan->n; i++) {
		const struct hk_prefault_range *r = &plan->r[i];
#if HK_HAVE_RAWSYS
		(void)hk_rawsys(SYS_madvise, (long)r->start, (long)r->len, r->advice, 0);
#else
		int e = errno;
		(void)madvise((void *)r->start, r->len, r->advice);
		errno = e;
#endif
	}
}
/* A program about to use much of its heap at once: the heap grows in
 * steps of span (malloc's M_TOP_PAD) and what it has is mapped writable
 * now. Only where no fork follows before the heap is used (a fork's
 * child would copy it all on its first writes). */
void hk_prefault_heap(size_t span);

#endif
