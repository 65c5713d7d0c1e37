/* linux.seccomp through libseccomp: the filter is built (and every error
 * found) before the container's process exists, and loaded as the last of
 * husk's steps before execve (linux/tail.h), whatever the profile. */
#ifndef HUSK_LINUX_SECCOMP_H
#define HUSK_LINUX_SECCOMP_H

struct hk_err;
struct hk_seccomp;
struct hk_seccomp_filter;
struct hk_seccomp_bpf;

/* Compile s into BPF, or find it compiled already (linux/seccomp-cache.h):
 * in husk's own process, before anything of the container exists, so that
 * a profile's errors show first and the container's process gets only the
 * program. Clear out with seccomp_bpf_clear. */
int seccomp_compile(const struct hk_seccomp *s, struct hk_seccomp_bpf *out, struct hk_err *err);
void seccomp_bpf_clear(struct hk_seccomp_bpf *b);
/* The filter to load, from bpf (which must outlive it); with
 * SCMP_ACT_NOTIFY also connect to listenerPath now, while the host's paths
 * are still reachable. NULL and err on failure. */
struct hk_seccomp_filter *seccomp_prepare(const struct hk_seccomp *s,
					  const struct hk_seccomp_bpf *bpf, struct hk_err *err);
/* Load it; with a listener, send it the notify fd and process_state (the
 * runtime spec's ContainerProcessState JSON) over SCM_RIGHTS: sendmsg is
 * then the one syscall after the load. Do not free f afterwards (a free
 * may make syscalls): execve is next. */
int seccomp_install(struct hk_seccomp_filter *f, const char *process_state, struct hk_err *err);
void seccomp_filter_free(struct hk_seccomp_filter *f);

#endif
