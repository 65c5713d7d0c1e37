#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "netinfo/ipam.h"
#include "net/netlink.h"

static void put_in_addr(struct nlmsghdr *nlh, uint16_t type, uint32_t addr)
{
	mnl_attr_put_u32(nlh, type, htonl(addr));
}

int net_addr_add(struct net_nl *nl, int index, const char *dev, uint32_t addr, unsigned prefix,
		 struct hk_err *err)
{
	char buf[NET_NL_BUFSZ], a[NET_ADDR_STRLEN];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct net_subnet s = {addr, prefix};

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)index;
	put_in_addr(nlh, IFA_LOCAL, addr);
	put_in_addr(nlh, IFA_ADDRESS, addr);
	put_in_addr(nlh, IFA_BROADCAST, addr | ~net_subnet_mask(&s));
	int r = net_nl_ack(nl, nlh, NULL, NULL);
	if (r < 0) {
		net_addr_fmt(addr, a);
		return hk_fail(err, -r, "add address %s/%u to %s", a, prefix, dev);
	}
	return 0;
}

struct has_ctx {
	int index;
	uint32_t addr;
	unsigned prefix;
	int found;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, IFA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int has_cb(const struct nlmsghdr *nlh, void *data)
{
	struct has_ctx *c = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = {0};

	if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
	    (int)ifa->ifa_index != c->index)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	if (tb[IFA_LOCAL] && mnl_attr_get_payload_len(tb[IFA_LOCAL]) == 4 &&
	    ntohl(mnl_attr_get_u32(tb[IFA_LOCAL])) == c->addr && ifa->ifa_prefixlen == c->prefix)
		c->found = 1;
	return MNL_CB_OK;
}

int net_addr_has(struct net_nl *nl, int index, uint32_t addr, unsigned prefix, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_GETADDR, 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct has_ctx c = {index, addr, prefix, 0};

	ifa->ifa_family = AF_INET;
	int r = net_nl_dump(nl, nlh, has_cb, &c);
	if (r < 0)
		return hk_fail(err, -r, "list addresses");
	return c.found;
}

int net_route_add_default(struct net_nl *nl, int index, uint32_t gw, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ], a[NET_ADDR_STRLEN];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	put_in_addr(nlh, RTA_GATEWAY, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	int r = net_nl_ack(nl, nlh, NULL, NULL);
	if (r < 0) {
		net_addr_fmt(gw, a);
		return hk_fail(err, -r, "add default route via %s", a);
	}
	return 0;
}

struct overlap_ctx {
	const struct net_subnet *s;
	char *desc;
	size_t size;
	int found;
};

static int route_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(a, RTA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int overlap_cb(const struct nlmsghdr *nlh, void *data)
{
	struct overlap_ctx *c = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	char dev[IF_NAMESIZE] = "?", sub[NET_SUBNET_STRLEN];

	if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET ||
	    rtm->rtm_dst_len == 0 || c->found)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
	if (!tb[RTA_DST] || mnl_attr_get_payload_len(tb[RTA_DST]) != 4)
		return MNL_CB_OK;
	struct net_subnet r = {ntohl(mnl_attr_get_u32(tb[RTA_DST])), rtm->rtm_dst_len};
	r.net &= net_subnet_mask(&r);
	if (!net_subnet_overlap(c->s, &r))
		return MNL_CB_OK;
	if (tb[RTA_OIF] && mnl_attr_get_payload_len(tb[RTA_OIF]) == 4)
		if_indextoname(mnl_attr_get_u32(tb[RTA_OIF]), dev);
	net_subnet_fmt(&r, sub);
	snprintf(c->desc, c->size, "%s dev %s", sub, dev);
	c->found = 1;
	return MNL_CB_OK;
}

int net_route_overlap(struct net_nl *nl, const struct net_subnet *s, char *desc, size_t size,
		      struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct overlap_ctx c = {s, desc, size, 0};

	rtm->rtm_family = AF_INET;
	int r = net_nl_dump(nl, nlh, overlap_cb, &c);
	if (r < 0)
		return hk_fail(err, -r, "list routes");
	return c.found;
}
