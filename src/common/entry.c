/* hk_entry: the programs' ELF entry point (x86-64, static builds: see the
 * Makefile's HUSK_ENTRY), ahead of glibc's _start.
 *
 * glibc's static start runs every ifunc resolver of the string functions,
 * sets up TLS and reads its tunables before main: on the PVM guest the
 * benchmarks run on that was ~30 page faults of 12-16 us each, on every
 * exec of husk (and `husk run` execs it twice: linux/selfexe.h). Here the
 * program's own segments are mapped first, each with one madvise
 * (MADV_POPULATE_READ for text and read-only data, MADV_POPULATE_WRITE
 * for data and bss, still all writable before relocation protects the
 * RELRO part), and the stack's top likewise; then _start runs as the
 * kernel left things (stack pointer and %rdx as they were).
 *
 * Nothing here may need glibc: TLS does not exist yet (no stack
 * protector), the ifuncs are unresolved (no memcpy or memset the compiler
 * might emit: plain loops over the program headers only), and errno is
 * no one's (raw syscalls, whose failure is ignored: these are hints; a
 * kernel without MADV_POPULATE_* (before 5.14) just leaves the faults). */
#if defined(__x86_64__)
#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "common/prefault.h"
#include "common/rawsys.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE 4096UL
#define STACK_TOP_SPAN (32 * 1024UL)

extern const char __executable_start[];

void hk_entry_prefault(uintptr_t sp);

/* Under a seccomp filter (husk nested in a container, a sandboxing
 * caller), which may kill a process for a madvise it did not expect:
 * then no hint at all (outside attack, round 13). PR_GET_SECCOMP: 0 none. */
static inline long raw_seccomp_mode(void)
{
	return hk_rawsys(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0);
}

static inline void raw_madvise(uintptr_t start, uintptr_t end, long advice)
{
	start &= ~(PAGE - 1);
	end = (end + PAGE - 1) & ~(PAGE - 1);
	if (end > start)
		(void)hk_rawsys(SYS_madvise, (long)start, (long)(end - start), advice, 0);
}

/* GCC: no loop turned into a memset call (clang has no such pattern here) */
#if defined(__clang__)
#define NO_LIBC_CALLS
#else
#define NO_LIBC_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif

static inline uint64_t cycles(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* HUSK_PREFAULT=1 or =0 in the environment (the stack above argv): 1, 0,
 * or -1 when it is not set (or set to anything else). */
__attribute__((no_stack_protector)) NO_LIBC_CALLS static int prefault_env(uintptr_t sp)
{
	static const char name[] = "HUSK_PREFAULT=";
	const char *const *argv = (const char *const *)(sp + sizeof(long));
	const char *const *envp = argv + *(const long *)sp + 1;

	for (; *envp; envp++) {
		const char *e = *envp;
		size_t i = 0;
		while (i < sizeof(name) - 1 && e[i] == name[i])
			i++;
		if (i == sizeof(name) - 1 && (e[i] == '0' || e[i] == '1') && e[i + 1] == '\0')
			return e[i] - '0';
	}
	return -1;
}

/* Whether a page fault is dear here: the cheaper of two first writes to
 * pages of the bss that nothing has touched yet (its last two: the kernel
 * zeroes only the first, where the file's data ends), in TSC cycles.
 * Writing a zero where there is one changes nothing but the mapping. */
__attribute__((no_stack_protector)) NO_LIBC_CALLS static bool
faults_dear(uintptr_t file_end, uintptr_t mem_end, uint64_t *took)
{
	uintptr_t last = (mem_end - 1) & ~(PAGE - 1);
	uint64_t best = ~0ULL;

	if (last < ((file_end + PAGE - 1) & ~(PAGE - 1)) + PAGE)
		return true; /* no two such pages: as before */
	for (uintptr_t p = last; p > last - 2 * PAGE; p -= PAGE) {
		uint64_t t0 = cycles();
		*(volatile char *)p = 0;
		uint64_t t = cycles() - t0;
		if (t < best)
			best = t;
	}
	*took = best;
	return best >= HK_FAULT_DEAR_CYCLES;
}

__attribute__((used, no_stack_protector)) NO_LIBC_CALLS void hk_entry_prefault(uintptr_t sp)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)(const void *)__executable_start;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(const void *)(__executable_start + eh->e_phoff);
	uintptr_t bias = 0;

	if (raw_seccomp_mode() != 0)
		return;
	if (eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_ident[EI_MAG1] != ELFMAG1 ||
	    eh->e_phentsize != sizeof(ElfW(Phdr)))
		return;
	/* The load bias: where the segment holding the headers was put
	 * against where it asked to be (0 for a fixed-address program). */
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			bias = (uintptr_t)__executable_start - ph[i].p_vaddr;
			break;
		}
	/* nothing written to the data or bss before the probe: the page
	 * written could be one it probes */
	int mode = prefault_env(sp), how = mode < 0 ? HK_PREFAULT_MEASURED : HK_PREFAULT_ENV;
	uint64_t took = 0;
	for (int i = 0; mode < 0 && i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W))
			mode = faults_dear(bias + ph[i].p_vaddr + ph[i].p_filesz,
					   bias + ph[i].p_vaddr + ph[i].p_memsz, &took);
	hk_prefault_how = how;
	hk_fault_cycles = took;
	if (mode == 0) {
		hk_prefault_off = true;
		return;
	}
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uintptr_t start = bias + ph[i].p_vaddr;
		raw_madvise(start, start + ph[i].p_memsz,
			    (ph[i].p_flags & PF_W) ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	}
	raw_madvise(sp - STACK_TOP_SPAN, sp, MADV_POPULATE_WRITE);
	/* before glibc's first sbrk: where the heap will start (stored once
	 * the data is mapped: no fault for it) */
	long brk0 = hk_rawsys(SYS_brk, 0, 0, 0, 0);
	if (brk0 > 0)
		hk_heap_start = (uintptr_t)brk0;
}

/* r12 and r13 are callee-saved: %rdx (the function _start registers with
 * atexit) and the entry stack pointer (argc, argv, envp, auxv) survive
 * the call; the stack is 16-byte aligned for it. */
__asm__(".text\n"
	".globl hk_entry\n"
	".type hk_entry,@function\n"
	"hk_entry:\n"
	"	mov %rdx, %r12\n"
	"	mov %rsp, %r13\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call hk_entry_prefault\n"
	"	mov %r13, %rsp\n"
	"	mov %r12, %rdx\n"
	"	xor %ebp, %ebp\n"
	"	jmp _start\n"
	".size hk_entry, .-hk_entry\n");
#endif
