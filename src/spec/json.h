/* Typed, range-checked access to JSON values. The only file that includes
 * json-c. Every error names the JSON path of the offending value. Getters
 * return 1 when the key is present and valid, 0 when absent (or null), and
 * -1 (err filled) when present with the wrong type or out of range. */
#ifndef HUSK_SPEC_JSON_H
#define HUSK_SPEC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_err;
typedef struct json_object hk_json;

/* Strict parse of a complete document; `what` names it in errors. */
hk_json *hk_json_parse(const char *text, size_t len, const char *what, struct hk_err *err);
void hk_json_put(hk_json *j);

/* Child lookup on an object. */
int hk_json_get_obj(hk_json *obj, const char *path, const char *key, hk_json **out,
		    struct hk_err *err);
int hk_json_get_arr(hk_json *obj, const char *path, const char *key, hk_json **out, size_t *len,
		    struct hk_err *err);
int hk_json_get_str(hk_json *obj, const char *path, const char *key, char **out,
		    struct hk_err *err);
int hk_json_get_bool(hk_json *obj, const char *path, const char *key, bool *out,
		     struct hk_err *err);
int hk_json_get_i64(hk_json *obj, const char *path, const char *key, int64_t min, int64_t max,
		    int64_t *out, struct hk_err *err);
int hk_json_get_u64(hk_json *obj, const char *path, const char *key, uint64_t *out,
		    struct hk_err *err);

/* Array elements; path names the element itself (e.g. "process.args[2]"). */
hk_json *hk_json_at(hk_json *arr, size_t i);
int hk_json_as_obj(hk_json *v, const char *path, struct hk_err *err);
int hk_json_as_arr(hk_json *v, const char *path, size_t *len, struct hk_err *err);
int hk_json_as_str(hk_json *v, const char *path, char **out, struct hk_err *err);
int hk_json_as_i64(hk_json *v, const char *path, int64_t min, int64_t max, int64_t *out,
		   struct hk_err *err);
/* An array of strings, all of them decoded (NULL-terminated as well). */
int hk_json_get_strv(hk_json *obj, const char *path, const char *key, char ***out, size_t *n,
		     struct hk_err *err);

/* An object of string values (annotations, linux.sysctl) as key/value pairs. */
struct hk_kv;
int hk_json_get_kv(hk_json *obj, const char *path, const char *key, struct hk_kv **kv, size_t *n,
		   struct hk_err *err);

/* Iterate an object's keys: calls fn for each; stops on fn < 0. */
int hk_json_foreach(hk_json *obj, int (*fn)(const char *key, hk_json *val, void *data), void *data);
bool hk_json_has(hk_json *obj, const char *key);

/* Format "path.key" (or "key" at the top) into buf. */
const char *hk_json_path(char *buf, size_t size, const char *path, const char *key);

/* Building JSON output (state, list, spec). */
hk_json *hk_json_new_obj(void);
hk_json *hk_json_new_arr(void);
void hk_json_set_str(hk_json *obj, const char *key, const char *val);
void hk_json_set_int(hk_json *obj, const char *key, int64_t val);
void hk_json_set_bool(hk_json *obj, const char *key, bool val);
void hk_json_set(hk_json *obj, const char *key, hk_json *val); /* takes val */
void hk_json_append(hk_json *arr, hk_json *val);               /* takes val */
hk_json *hk_json_new_str(const char *s);
hk_json *hk_json_new_int(int64_t v);
hk_json *hk_json_new_u64(uint64_t v);
void hk_json_set_u64(hk_json *obj, const char *key, uint64_t val);
/* Serialise: 0 compact, 1 pretty with two spaces (runc's state), 2 pretty
 * with tabs (runc's spec). Caller frees. */
char *hk_json_dump(hk_json *j, int style);

#endif
