/* linux.netDevices: host network interfaces moved into the container. */
#ifndef HUSK_LINUX_NETDEV_H
#define HUSK_LINUX_NETDEV_H

struct hk_err;
struct hk_spec;

/* Move every interface of s->netdevs from husk's network namespace into
 * the one of nsfd, renamed as asked, with its permanent addresses of
 * global scope, and set it up there (as runc 1.3). */
int netdev_move_all(const struct hk_spec *s, int nsfd, struct hk_err *err);

#endif
