/* --userns=auto: root in the container is a range of host ids no other
 * launched container of this data dir holds, taken from the subordinate
 * ids the host set aside for it, and the read-only layers are seen through
 * idmapped mounts, so their root-owned files belong to the container's
 * root (overlayfs takes idmapped lower layers since 5.19). */
#ifndef HUSK_LAUNCH_USERNS_H
#define HUSK_LAUNCH_USERNS_H

#include <stddef.h>
#include <stdint.h>

struct hk_err;

#define USERNS_SIZE 65536u

/* Subordinate id ranges: "owner:start:count" lines of /etc/subuid or
 * /etc/subgid. */
struct userns_range {
	uint64_t start, count; /* as newuidmap reads them: up to 2^64 */
};

/* Where a range of USERNS_SIZE ids may start: in text (the subuid or
 * subgid file), the ranges of "containers" (podman's convention), else
 * those of root ("root" or "0"), cut in slots; a slot that overlaps
 * another owner's subordinate range, or holds one of the ids in used (the
 * ids of /etc/passwd, or /etc/group), is left out. Returns how many slots
 * (malloc'd in *slots), 0 when the file names no range for either. */
size_t userns_slots(const char *text, const uint32_t *used, size_t n_used, uint32_t **slots);

/* The ranges text (the subuid or subgid file) gives the user name (or
 * the number id, as newuidmap takes it), at most max of them, in order. */
size_t userns_user_ranges(const char *text, const char *name, uint32_t id, struct userns_range *out,
			  size_t max);

/* Claim a free uid range and a free gid range for the container whose
 * directory is dir (DATA/.userns/u<uid> and g<gid>, naming dir; dir's
 * userns-ids records both for the cleanup). */
int userns_claim(const char *data_dir, const char *dir, uint32_t *uid, uint32_t *gid,
		 struct hk_err *err);
/* The host uid dir's container was given (userns-ids), 0 when none. */
uint32_t userns_recorded_uid(const char *dir);
/* Give back every claim that names dir. */
void userns_release(const char *dir);
/* Mount the directory src (an fd) at target, idmapped 0 -> uid / gid
 * (USERNS_SIZE ids); returns the mount's fd (O_PATH-like, close on exec). */
int userns_idmap_mount(int src, const char *target, uint32_t uid, uint32_t gid, struct hk_err *err);

#endif
