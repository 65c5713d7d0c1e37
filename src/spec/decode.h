/* Internal to spec/: the decoding context shared by the section decoders. */
#ifndef HUSK_SPEC_DECODE_H
#define HUSK_SPEC_DECODE_H

#include "spec/json.h"
#include "spec/spec.h"

struct hk_err;

int spec_decode_linux(hk_json *root, struct hk_spec *s, struct hk_err *err);
int spec_decode_mounts(hk_json *root, struct hk_spec *s, struct hk_err *err);
int spec_decode_process(hk_json *root, struct hk_spec *s, struct hk_err *err);

/* A field husk knows of but does not implement yet: an error, never ignored. */
int spec_unsupported(hk_json *obj, const char *path, const char *key, struct hk_err *err);

/* Lexically clean an absolute container path ("/a//b/../c" -> "/a/c"); ".."
 * stops at "/". Returns a new string. */
char *spec_clean_path(const char *path);

/* Decode obj.key, an array of objects, into a new C array of elements of
 * `size` bytes, calling fn for each with its JSON path ("linux.devices[2]")
 * and its index (to compare with the ones before). *n counts the elements
 * handed to fn, so a half-decoded array is still freed whole. Absent: 0. */
typedef int (*spec_elem_fn)(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			    struct hk_err *err);
int spec_decode_array(hk_json *obj, const char *path, const char *key, size_t size, spec_elem_fn fn,
		      void *ctx, void *out, size_t *n, struct hk_err *err);

/* linux.uidMappings, gidMappings and timeOffsets, checked against the user
 * and time namespaces of linux.namespaces; and the idmapped mounts. */
int spec_decode_userns(hk_json *lx, struct hk_spec *s, struct hk_err *err);
/* One LinuxIDMapping (a spec_elem_fn over struct hk_idmap). */
int spec_decode_idmap(hk_json *v, const char *path, void *array, size_t i, void *ctx,
		      struct hk_err *err);

/* A LinuxResources object (linux.resources, or update's -r file) but its
 * devices; path names it in errors. */
int spec_decode_resources(hk_json *res, const char *path, struct hk_resources *r,
			  struct hk_err *err);

/* One linux.resources.devices rule (a spec_elem_fn over struct
 * hk_dev_rule). */
int spec_decode_dev_rule(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			 struct hk_err *err);

/* linux.netDevices (after linux.namespaces) */
int spec_decode_netdevs(hk_json *lx, struct hk_spec *s, struct hk_err *err);

/* linux.seccomp */
int spec_decode_seccomp(hk_json *lx, struct hk_spec *s, struct hk_err *err);

/* config.json "hooks", every kind. */
int spec_decode_hooks(hk_json *root, struct hk_spec *s, struct hk_err *err);

/* process.scheduler, ioPriority and execCPUAffinity; linux.memoryPolicy
 * (spec-sched.c). */
int spec_decode_sched(hk_json *proc, struct hk_process *p, struct hk_err *err);
int spec_decode_mempolicy(hk_json *lx, struct hk_spec *s, struct hk_err *err);
/* A list of CPU or node numbers ("0-3,7", spaces allowed); empty: no set.
 * path names it in errors. */
int spec_idset_parse(const char *text, const char *path, struct hk_idset *out, struct hk_err *err);

/* Name tables: -1 when unknown. */
int spec_rlimit_from_name(const char *name);

#endif
