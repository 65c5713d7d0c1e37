/* Namespaces: the table of types, the clone flags of the ones to create,
 * and joining the ones given by path. */
#ifndef HUSK_LINUX_NS_H
#define HUSK_LINUX_NS_H

#include <stdint.h>

#include "spec/spec.h"

struct hk_err;

/* CLONE_NEW* of a type, and its name under /proc/<pid>/ns/. */
uint64_t ns_clone_flag(enum hk_ns_type type);
const char *ns_proc_name(enum hk_ns_type type);

/* Open every namespace given by path, checking that each file is a
 * namespace of the type its entry says. fds[type] = fd or -1. Done before
 * anything changes on the machine, so a bad path fails validation. */
int ns_open_paths(const struct hk_spec *spec, int fds[HK_NS_COUNT], struct hk_err *err);
void ns_close_all(int fds[HK_NS_COUNT]);

/* setns() into fds[type] (when >= 0) for each type in order. */
int ns_join(int fds[HK_NS_COUNT], const enum hk_ns_type *types, int n, struct hk_err *err);

/* Clone flags of the namespaces to create at clone time: none when a user
 * namespace is joined by path (the child unshares them once in it). The
 * cgroup and time namespaces are always the child's to make. */
uint64_t ns_clone_flags(const struct hk_spec *spec);
uint64_t ns_new_flags(const struct hk_spec *spec);

/* Bring up lo in a new network namespace (as runc does). */
int ns_loopback_up(struct hk_err *err);

#endif
