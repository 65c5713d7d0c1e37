/* rtnetlink requests through libmnl: one socket bound to the network
 * namespace it was opened in, requests built in a caller's buffer, each
 * sent and answered (ACK or dump) before the next. */
#ifndef HUSK_NET_NETLINK_H
#define HUSK_NET_NETLINK_H

#include <stdint.h>

#include <libmnl/libmnl.h>

struct hk_err;

struct net_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

/* A buffer big enough for any request or dump reply husk makes. */
#define NET_NL_BUFSZ 8192

/* Open a NETLINK_ROUTE socket in the calling thread's network namespace. */
int net_nl_open(struct net_nl *nl, struct hk_err *err);
/* Open one in the network namespace of nsfd (a /proc/PID/ns/net or nsfs
 * bind mount): setns there, open, setns back. */
int net_nl_open_in(struct net_nl *nl, int nsfd, struct hk_err *err);
void net_nl_close(struct net_nl *nl);
/* open(path, flags) in the network namespace of nsfd, for its files under
 * /proc/sys/net; the fd or -1. */
int net_open_in(int nsfd, const char *path, int flags, struct hk_err *err);

/* Start a request in buf: header with type, NLM_F_REQUEST | flags and the
 * next sequence number. */
struct nlmsghdr *net_nl_req(struct net_nl *nl, void *buf, uint16_t type, uint16_t flags);
/* Send a request with NLM_F_ACK; cb (may be NULL) sees every answer
 * before the ACK (a GET's object). 0 or -errno (the kernel's answer). */
int net_nl_ack(struct net_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
/* Send a dump request and call cb on every message of the reply; 0 or
 * -errno. cb returns MNL_CB_OK to go on, MNL_CB_ERROR (errno set) to stop. */
int net_nl_dump(struct net_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

#endif
