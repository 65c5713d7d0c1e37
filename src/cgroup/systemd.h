/* Internal to cgroup/: the systemd manager's parts. The unit properties
 * husk sends (cgroup-systemd-props.c, pure: unit tests), the D-Bus calls
 * that send them (cgroup-systemd-dbus.c, libdbus-1) and the manager itself
 * (cgroup-systemd.c). As runc's systemd driver: the container's processes
 * go into a transient scope unit, "<prefix>-<name>.scope" in a slice, that
 * systemd makes and delegates to husk (Delegate=yes). */
#ifndef HUSK_CGROUP_SYSTEMD_H
#define HUSK_CGROUP_SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hk_err;
struct hk_kv;
struct hk_resources;
struct hk_dev_rule;

/* One unit property, a D-Bus variant: sig is its signature, one of s b y n
 * q i u x t d as au ay a(ss). */
struct sysd_prop {
	char *name;
	char sig[8];
	char *s;     /* s */
	uint64_t u;  /* b y q u t; n i x as their two's complement */
	double d;    /* d */
	char **strv; /* as; a(ss) as pairs, n_strv counting strings */
	size_t n_strv;
	uint32_t *au; /* au */
	uint8_t *ay;  /* ay */
	size_t n_num; /* of au or ay */
};

struct sysd_props {
	struct sysd_prop *v;
	size_t n;
};

void sysd_props_clear(struct sysd_props *p);
void sysd_prop_str(struct sysd_props *p, const char *name, const char *value);
void sysd_prop_bool(struct sysd_props *p, const char *name, bool value);
void sysd_prop_u64(struct sysd_props *p, const char *name, uint64_t value);
void sysd_prop_pids(struct sysd_props *p, const char *name, const pid_t *pids, size_t n);
/* A cpuset list ("0-3,7") as systemd's bitmask (ay); false when malformed. */
bool sysd_prop_cpuset(struct sysd_props *p, const char *name, const char *list);

/* linux.cgroupsPath for systemd, "slice:prefix:name" (runc's form and
 * errors); NULL or "" is "system.slice:husk:<id>". *unit is
 * "<prefix>-<name>.scope" (or the name itself when it is a slice). */
int sysd_parse_path(const char *cgroups_path, const char *id, char **slice, char **unit,
		    struct hk_err *err);
/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" ("-.slice" -> "/"),
 * refusing what runc refuses. NULL on error. */
char *sysd_expand_slice(const char *slice, struct hk_err *err);

/* The properties of a new scope, in runc's order: Description, Slice,
 * Delegate, PIDs, the accounting switches (v1 or v2 names),
 * DefaultDependencies=false, then the org.systemd.property.* annotations. */
int sysd_props_scope(struct sysd_props *p, const char *id, const char *slice, pid_t pid,
		     int version, const struct hk_kv *annotations, size_t n_annotations,
		     struct hk_err *err);
/* One annotation's NAME and VALUE as a property, typed as systemd wants it:
 * GVariant text as runc reads it ("uint64 5", "'text'", "true"), or plain:
 * yes/no/true/false a boolean, a number an integer (t; i for the few
 * signed properties), else a string; NAMESec becomes NAMEUSec in
 * microseconds, as runc does. */
int sysd_prop_annotation(struct sysd_props *p, const char *name, const char *value,
			 struct hk_err *err);
/* What of linux.resources systemd can express, as properties (zero values
 * are unset: the spec decoder leaves them out). v2's names; on v1 only the
 * ones with a v1 meaning. */
void sysd_props_resources(struct sysd_props *p, const struct hk_resources *r, int version);
/* The device rules (cg_device_rules: a deny-all first) as DevicePolicy and
 * DeviceAllow; nothing when they hold a deny after an allow, which systemd
 * cannot express (husk's own program still enforces them). A major with
 * any minor is "char-NAME" by its name in proc_devices (/proc/devices'
 * text; NULL: such rules are left out, as runc does for an unknown one). */
void sysd_props_devices(struct sysd_props *p, const struct hk_dev_rule *rules, size_t n,
			const char *proc_devices);

/* D-Bus (cgroup-systemd-dbus.c): the system bus, else systemd's private
 * socket. */
struct sysd_bus;
struct sysd_bus *sysd_bus_open(struct hk_err *err);
void sysd_bus_close(struct sysd_bus *b);
/* systemd's private socket (no D-Bus daemon), not the bus */
bool sysd_bus_direct(const struct sysd_bus *b);
/* each later call's timeout (30 s from the start) */
void sysd_bus_set_timeout(struct sysd_bus *b, int ms);
/* StartTransientUnit(unit, "replace", props), waiting for its job: -1 when
 * systemd refused the call (a unit of that name exists: not ours), -2 when
 * it made the unit but the job did not end "done" (the unit is ours to
 * stop). */
int sysd_start_unit(struct sysd_bus *b, const char *unit, const struct sysd_props *p,
		    struct hk_err *err);
/* ResetFailedUnit(unit): a failed scope unloaded; errors ignored. */
void sysd_reset_unit(struct sysd_bus *b, const char *unit);
int sysd_set_properties(struct sysd_bus *b, const char *unit, const struct sysd_props *p,
			struct hk_err *err);
/* StopUnit, waiting for its job; a unit that is not loaded is fine. Then
 * ResetFailedUnit. */
int sysd_stop_unit(struct sysd_bus *b, const char *unit, struct hk_err *err);

#endif
