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

#include <stddef.h>

enum {
	HK_PREFAULT_CODE = 1, /* text and read-only data: mapped */
	/* data and bss, the heap's top 256 KiB, the stack's top 64 KiB:
	 * mapped writable (copied: a bounded few hundred KiB, in a container
	 * process charged to its memory cgroup) */
	HK_PREFAULT_DATA = 2,
};

void hk_prefault(int what);
/* A program about to use much of its heap at once: the heap grows in
 * steps of span (malloc's M_TOP_PAD) and what it has is mapped writable
 * now. Only where no fork follows before the heap is used (a fork's
 * child would copy it all on its first writes). */
void hk_prefault_heap(size_t span);

#endif
