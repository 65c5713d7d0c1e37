/* The container's session keyring (keyrings(7)). Without one of its own a
 * container shares its caller's (`_uid_ses.0` for root's shell), so a key
 * one container or the host adds can be read in another. As runc: every
 * process of the container joins the keyring named `_ses.<id>`, made by
 * the first process (searchable by its owner, so that an exec'd process of
 * the same user finds and joins it; another user's exec makes its own),
 * unless create's --no-new-keyring. A kernel without keyrings (ENOSYS) is
 * no error, as with runc. */
#ifndef HUSK_LINUX_KEYRING_H
#define HUSK_LINUX_KEYRING_H

struct hk_err;

/* What the first process adds to the keyring's permissions, as runc: a
 * search by its owner (an exec'd process of the same uid finds it by name
 * and joins it), or, with a user namespace of the container's, a search by
 * anyone (the kernel checks an exec'd process's search against the
 * keyring's owner from outside the user namespace). */
#define KEYRING_SEARCH_OWNER 0x00080000u
#define KEYRING_SEARCH_OTHERS 0x00000008u

/* Join (or make) `_ses.<id>`; add_perm: permission bits to add (the
 * container's first process), 0 for none (an exec'd one). */
int keyring_join(const char *id, unsigned int add_perm, struct hk_err *err);

#endif
