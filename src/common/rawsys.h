/* Syscalls that touch no memory of glibc's: no errno (the result is the
 * kernel's, -errno on failure), no lock, no TLS. For code that runs where
 * glibc's state belongs to another process: a child that shares its
 * parent's memory (clone CLONE_VM) while the parent still runs, whose
 * errno is the parent's. x86-64 only (HK_HAVE_RAWSYS); elsewhere callers
 * take another way. */
#ifndef HUSK_COMMON_RAWSYS_H
#define HUSK_COMMON_RAWSYS_H

#if defined(__x86_64__)
#define HK_HAVE_RAWSYS 1

static inline long hk_rawsys(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}
#else
#define HK_HAVE_RAWSYS 0
#endif

#endif
