#include "common/prefault.h"

#include <elf.h>
#include <link.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

/* glibc's: the stack pointer the program started with */
extern void *__libc_stack_end;

/* The stack's top that husk's deepest paths use. */
#define STACK_SPAN (64 * 1024)
/* The heap's top at most: the whole heap grows with config.json (~30
 * bytes per byte of it), and in the container process every page mapped
 * here is a copy charged to the container's memory cgroup (on v2, born
 * in it): a large config with a tight limit got the container killed
 * (outside attack, round 13). A typical run's heap is ~140 KiB. */
#define HEAP_SPAN (256 * 1024)

static uintptr_t page_down(uintptr_t a, uintptr_t pg)
{
	return a & ~(pg - 1);
}

/* The program break as the kernel made it, noted by common/entry.c
 * before glibc ran: the heap (and a static program's TLS block) lies
 * above it. With it the heap's extent costs no mallinfo2(), which walks
 * every free chunk (0.08 ms of each run on the benchmark's machine). */
uintptr_t hk_heap_start;
bool hk_prefault_off;
int hk_prefault_how;
uint64_t hk_fault_cycles;

void hk_prefault_report(void)
{
	if (hk_prefault_how == HK_PREFAULT_ENV)
		hk_debug("prefault: %s (HUSK_PREFAULT)", hk_prefault_off ? "off" : "on");
	else if (hk_prefault_how == HK_PREFAULT_MEASURED)
		hk_debug(
			"prefault: %s (a first write to a page took %llu TSC cycles; dear from %d)",
			hk_prefault_off ? "off" : "on", (unsigned long long)hk_fault_cycles,
			HK_FAULT_DEAR_CYCLES);
}

/* Bytes of heap malloc has from the kernel: from hk_heap_start when
 * noted, else from mallinfo2(). */
static size_t heap_size(uintptr_t brk_now)
{
	if (hk_heap_start && hk_heap_start < brk_now)
		return brk_now - hk_heap_start;
	struct mallinfo2 mi = mallinfo2();
	return mi.arena < brk_now ? mi.arena : 0;
}

static void add(struct hk_prefault_plan *p, uintptr_t start, uintptr_t end, int advice)
{
	uintptr_t pg = (uintptr_t)getpagesize();

	start = page_down(start, pg);
	end = page_down(end + pg - 1, pg);
	if (end > start && p->n < HK_PREFAULT_RANGES)
		p->r[p->n++] = (struct hk_prefault_range){start, end - start, advice};
}

/* The top max bytes of the heap malloc has from the kernel so far. */
static void plan_heap_top(struct hk_prefault_plan *p, size_t max)
{
	uintptr_t brk_now = (uintptr_t)sbrk(0);
	size_t size = brk_now == (uintptr_t)-1 ? 0 : heap_size(brk_now);

	if (size == 0)
		return;
	size_t span = size < max ? size : max;
	add(p, brk_now - span, brk_now, MADV_POPULATE_WRITE);
}

static void populate_heap_top(size_t max)
{
	struct hk_prefault_plan p = {0};

	plan_heap_top(&p, max);
	for (int i = 0; i < p.n; i++)
		(void)madvise((void *)p.r[i].start, p.r[i].len, p.r[i].advice);
}

struct plan_of {
	int what;
	struct hk_prefault_plan *plan;
};

/* The program's own segments (the first object dl_iterate_phdr reports),
 * the writable one from the end of its RELRO part, read-only since
 * relocation (a write-populate there would fail). */
static int segments(struct dl_phdr_info *info, size_t size, void *data)
{
	struct plan_of *of = data;
	int what = of->what;
	uintptr_t relro_end = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO)
			relro_end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		uintptr_t end = start + ph->p_memsz;
		if (!(ph->p_flags & PF_W)) {
			if (what & HK_PREFAULT_CODE)
				add(of->plan, start, end, MADV_POPULATE_READ);
			continue;
		}
		if (!(what & HK_PREFAULT_DATA))
			continue;
		if (relro_end > start && relro_end < end)
			start = relro_end;
		add(of->plan, start, end, MADV_POPULATE_WRITE);
	}
	return 1; /* the program only */
}

void hk_prefault_plan(int what, struct hk_prefault_plan *plan)
{
	struct plan_of of = {what, plan};

	plan->n = 0;
	/* as common/entry.c: under a seccomp filter, no hints */
	if (hk_prefault_off || prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		return;
	dl_iterate_phdr(segments, &of);
	if (!(what & HK_PREFAULT_DATA))
		return;
	/* The heap's top, and the stack's: below us, and the callers'
	 * frames above, which a clone's child returns into. */
	plan_heap_top(plan, HEAP_SPAN);
	char here;
	uintptr_t sp = (uintptr_t)&here;
	uintptr_t top = (uintptr_t)__libc_stack_end;
	if (top < sp || top - sp > STACK_SPAN)
		top = sp;
	add(plan, sp - STACK_SPAN, top, MADV_POPULATE_WRITE);
}

void hk_prefault(int what)
{
	struct hk_prefault_plan plan;

	hk_prefault_plan(what, &plan);
	hk_prefault_apply(&plan);
}

/* Pieces below malloc's mmap threshold (128 KiB), so that they come
 * from the heap */
#define PIECE (32 * 1024)
#define MAX_PIECES 64

void hk_prefault_heap(size_t span)
{
	void *pieces[MAX_PIECES];
	size_t n = 0;

	if (hk_prefault_off || prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		return;
	/* each growth of the heap (and what a trim leaves) is span or more;
	 * glibc's static start made it already (~132 KiB): grown now, by
	 * allocating until its free top is span */
	if (mallopt(M_TOP_PAD, (int)span) != 1)
		return;
	while (n < MAX_PIECES && mallinfo2().keepcost < span) {
		pieces[n] = malloc(PIECE);
		if (!pieces[n])
			break;
		n++;
	}
	/* lowest first: one trim at the end, not one per piece */
	for (size_t i = 0; i < n; i++)
		free(pieces[i]);
	populate_heap_top(span);
}
