/* config.json's user and time namespace settings: linux.uidMappings,
 * linux.gidMappings and linux.timeOffsets. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "spec/decode.h"

/* user_namespaces(7): at most 340 lines in a map (since Linux 4.15). */
#define MAX_MAP_LINES 340

static int decode_u32(hk_json *v, const char *path, const char *key, uint32_t *out,
		      struct hk_err *err)
{
	int64_t x;
	int r = hk_json_get_i64(v, path, key, 0, UINT32_MAX, &x, err);
	if (r == 0)
		return hk_fail(err, 0, "%s.%s: missing", path, key);
	*out = (uint32_t)x;
	return r < 0 ? -1 : 0;
}

static bool overlap(uint32_t a, uint32_t b, uint32_t size_a, uint32_t size_b)
{
	return (uint64_t)a < (uint64_t)b + size_b && (uint64_t)b < (uint64_t)a + size_a;
}

int spec_decode_idmap(hk_json *v, const char *path, void *array, size_t i, void *ctx,
		      struct hk_err *err)
{
	struct hk_idmap *m = (struct hk_idmap *)array + i;

	(void)ctx;
	if (decode_u32(v, path, "containerID", &m->container_id, err) < 0 ||
	    decode_u32(v, path, "hostID", &m->host_id, err) < 0 ||
	    decode_u32(v, path, "size", &m->size, err) < 0)
		return -1;
	if (m->size == 0)
		return hk_fail(err, 0, "%s.size: must be at least 1", path);
	if ((uint64_t)m->container_id + m->size > UINT32_MAX ||
	    (uint64_t)m->host_id + m->size > UINT32_MAX)
		return hk_fail(err, 0, "%s: range ends past 4294967294", path);
	if (i >= MAX_MAP_LINES)
		return hk_fail(err, 0, "%s: more than %d ranges", path, MAX_MAP_LINES);
	for (size_t k = 0; k < i; k++) {
		const struct hk_idmap *o = (const struct hk_idmap *)array + k;
		if (overlap(o->container_id, m->container_id, o->size, m->size))
			return hk_fail(err, 0, "%s.containerID: overlaps range %zu", path, k);
		if (overlap(o->host_id, m->host_id, o->size, m->size))
			return hk_fail(err, 0, "%s.hostID: overlaps range %zu", path, k);
	}
	return 0;
}

static int decode_offset(hk_json *offsets, const char *clock, struct hk_time_offset *t,
			 struct hk_err *err)
{
	char path[64];
	hk_json *o;
	int64_t ns = 0;

	snprintf(path, sizeof(path), "linux.timeOffsets.%s", clock);
	int r = hk_json_get_obj(offsets, "linux.timeOffsets", clock, &o, err);
	if (r <= 0)
		return r;
	t->set = true;
	if (hk_json_get_i64(o, path, "secs", INT64_MIN / 2, INT64_MAX / 2, &t->secs, err) < 0 ||
	    hk_json_get_i64(o, path, "nanosecs", 0, 999999999, &ns, err) < 0)
		return -1;
	t->nanosecs = (uint32_t)ns;
	return 0;
}

struct clock_check {
	struct hk_err *err;
};

static int known_clock(const char *key, hk_json *val, void *data)
{
	struct clock_check *c = data;
	(void)val;
	if (strcmp(key, "monotonic") != 0 && strcmp(key, "boottime") != 0)
		return hk_fail(c->err, 0,
			       "linux.timeOffsets.%s: only monotonic and boottime clocks "
			       "have offsets",
			       key);
	return 0;
}

static int decode_time(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	hk_json *offsets;
	const struct hk_namespace *time = spec_ns(s, HK_NS_TIME);

	int r = hk_json_get_obj(lx, "linux", "timeOffsets", &offsets, err);
	if (r <= 0)
		return r;
	struct clock_check c = {err};
	if (hk_json_foreach(offsets, known_clock, &c) < 0 ||
	    decode_offset(offsets, "monotonic", &s->monotonic, err) < 0 ||
	    decode_offset(offsets, "boottime", &s->boottime, err) < 0)
		return -1;
	if (!time || time->path)
		return hk_fail(err, 0,
			       "linux.timeOffsets: needs a new time namespace in "
			       "linux.namespaces");
	return 0;
}

/* Mappings belong to a new user namespace and to nothing else. */
static int check_maps(const struct hk_spec *s, struct hk_err *err)
{
	const struct hk_namespace *user = spec_ns(s, HK_NS_USER);
	bool maps = s->n_uid_mappings || s->n_gid_mappings;
	const char *key = s->n_uid_mappings ? "uidMappings" : "gidMappings";

	if (!user && maps)
		return hk_fail(err, 0, "linux.%s: needs a user namespace in linux.namespaces", key);
	if (user && user->path && maps)
		return hk_fail(err, 0,
			       "linux.%s: not allowed when joining a user namespace by path", key);
	if (user && !user->path && (!s->n_uid_mappings || !s->n_gid_mappings))
		return hk_fail(err, 0, "linux.%s: a new user namespace needs uid and gid mappings",
			       s->n_uid_mappings ? "gidMappings" : "uidMappings");
	return 0;
}

/* An idmapped mount (as in runc 1.2): a bind mount, with uid and gid
 * ranges of its own, or the container's user namespace's. */
static int check_mount_idmaps(const struct hk_spec *s, struct hk_err *err)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct hk_mount *m = &s->mounts[i];
		bool maps = m->n_uid_mappings || m->n_gid_mappings;
		if (m->idmap == HK_IDMAP_NONE)
			continue;
		if (!spec_mount_is_bind(m))
			return hk_fail(err, 0, "mounts[%zu]: only a bind mount can be idmapped", i);
		if (maps && (!m->n_uid_mappings || !m->n_gid_mappings))
			return hk_fail(
				err, 0,
				"mounts[%zu].%s: an idmapped mount needs uid and gid mappings", i,
				m->n_uid_mappings ? "gidMappings" : "uidMappings");
		if (!maps && !spec_ns(s, HK_NS_USER))
			return hk_fail(
				err, 0,
				"mounts[%zu].options: idmap without uidMappings and gidMappings "
				"takes the container's user namespace: none in linux.namespaces",
				i);
	}
	return 0;
}

int spec_decode_userns(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	if (spec_decode_array(lx, "linux", "uidMappings", sizeof(struct hk_idmap),
			      spec_decode_idmap, NULL, &s->uid_mappings, &s->n_uid_mappings,
			      err) < 0 ||
	    spec_decode_array(lx, "linux", "gidMappings", sizeof(struct hk_idmap),
			      spec_decode_idmap, NULL, &s->gid_mappings, &s->n_gid_mappings,
			      err) < 0)
		return -1;
	if (check_maps(s, err) < 0 || check_mount_idmaps(s, err) < 0)
		return -1;
	return decode_time(lx, s, err);
}
