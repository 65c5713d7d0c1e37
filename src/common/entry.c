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
