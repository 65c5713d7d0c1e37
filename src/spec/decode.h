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

/* Name tables: -1 when unknown. */
int spec_cap_from_name(const char *name);
int spec_rlimit_from_name(const char *name);

#endif
