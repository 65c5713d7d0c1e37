/* Compiled seccomp filters kept across runs. libseccomp takes several
 * milliseconds to turn an engine's profile (some 450 syscalls on three
 * architectures) into BPF, on every create and exec: here the program is
 * kept, keyed by everything that decides it (the profile as decoded, husk's
 * and libseccomp's versions, the kernel), and found again on the next
 * start.
 *
 * The cache is a directory of husk's own: /run/husk-seccomp for root in the
 * initial user namespace, $XDG_RUNTIME_DIR/husk-seccomp for a rootless
 * husk; 0700 and owned by husk's euid, or it is not used. A file holds the
 * whole key next to the program, and a hit needs the key byte for byte:
 * the name (a hash of the key) only finds the file, so two profiles whose
 * names collide miss, they never share a program. A file that is not a
 * regular one, not husk's, writable by others, or not exactly the format is
 * a miss as well. Nothing here is ever an error of the container's: the
 * cache only saves time. */
#ifndef HUSK_LINUX_SECCOMP_CACHE_H
#define HUSK_LINUX_SECCOMP_CACHE_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

struct hk_seccomp;

/* A filter as the kernel takes it. */
struct hk_seccomp_bpf {
	struct sock_filter *insns;
	size_t len;
};

/* Everything that decides the program, as bytes (pure: no syscall but
 * uname). Free with free(). */
unsigned char *seccomp_cache_key(const struct hk_seccomp *s, size_t *len);
/* The file name of a key: 16 hex digits and ".bpf". */
void seccomp_cache_name(const unsigned char *key, size_t len, char out[24]);

/* The cache directory (made when missing), or -1 when there is none to
 * trust. */
int seccomp_cache_open(void);
int seccomp_cache_open_at(const char *path);
/* 1 and the program in out (malloc'd) on a hit, 0 on a miss. */
int seccomp_cache_get(int dirfd, const unsigned char *key, size_t len, struct hk_seccomp_bpf *out);
/* Keep a program; a failure is only logged (--debug). */
void seccomp_cache_put(int dirfd, const unsigned char *key, size_t len,
		       const struct hk_seccomp_bpf *bpf);

#endif
