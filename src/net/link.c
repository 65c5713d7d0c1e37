#include "net/link.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <string.h>

#include "common/err.h"
#include "net/netlink.h"

static int link_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int info_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_INFO_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

/* An RTM_NEWLINK message into struct net_link. */
static void link_from_msg(const struct nlmsghdr *nlh, struct net_link *l)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct nlattr *info[IFLA_INFO_MAX + 1] = {0};
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

	*l = (struct net_link){.index = ifm->ifi_index};
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, tb);
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_STRING) == 0)
		snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_MASTER] && mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) == 0)
		l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_MTU] && mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) == 0)
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_LINKINFO]) {
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_attr_cb, info);
		if (info[IFLA_INFO_KIND] &&
		    mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_STRING) == 0)
			snprintf(l->kind, sizeof(l->kind), "%s",
				 mnl_attr_get_str(info[IFLA_INFO_KIND]));
	}
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		link_from_msg(nlh, data);
	return MNL_CB_OK;
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh)
{
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	return ifm;
}

int net_link_get(struct net_nl *nl, const char *name, struct net_link *out, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_GETLINK, 0);

	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	*out = (struct net_link){0};
	int r = net_nl_ack(nl, nlh, get_cb, out);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return hk_fail(err, -r, "look up network device %s", name);
	return out->index > 0;
}

int net_link_add_bridge(struct net_nl *nl, const char *name, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);

	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	int r = net_nl_ack(nl, nlh, NULL, NULL);
	if (r < 0)
		return hk_fail(err, -r, "create bridge %s", name);
	return 0;
}

int net_link_set_up(struct net_nl *nl, int index, const char *name, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = put_ifinfo(nlh);

	ifm->ifi_index = index;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	int r = net_nl_ack(nl, nlh, NULL, NULL);
	if (r < 0)
		return hk_fail(err, -r, "bring up %s", name);
	return 0;
}

int net_link_del(struct net_nl *nl, const char *name, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_DELLINK, 0);

	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int r = net_nl_ack(nl, nlh, NULL, NULL);
	if (r < 0 && r != -ENODEV)
		return hk_fail(err, -r, "delete network device %s", name);
	return 0;
}

void net_link_build_veth(struct nlmsghdr *nlh, const struct net_veth *v)
{
	struct ifinfomsg *ifm = put_ifinfo(nlh);

	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->host);
	mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)v->master);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER holds a whole ifinfomsg, then the peer's attributes
	 * (veth_newlink in drivers/net/veth.c). */
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's own ifinfomsg stays without IFF_UP: the kernel refuses
	 * to bring up a peer born in another namespace (ENOTCONN, 6.x), so it
	 * is brought up from inside. */
	put_ifinfo(nlh);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->peer);
	mnl_attr_put_u32(nlh, IFLA_MTU, v->mtu);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, v->mac);
	if (v->ns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->ns_fd);
	else
		mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)v->ns_pid);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
}

int net_link_add_veth(struct net_nl *nl, const struct net_veth *v, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);

	net_link_build_veth(nlh, v);
	int r = net_nl_ack(nl, nlh, NULL, NULL);
	if (r < 0)
		return hk_fail(err, -r, "create veth pair %s / %s (in the container)", v->host,
			       v->peer);
	return 0;
}

struct port_count {
	int master;
	int n;
};

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct port_count *c = data;
	struct net_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	link_from_msg(nlh, &l);
	c->n += l.master == c->master;
	return MNL_CB_OK;
}

int net_link_count_ports(struct net_nl *nl, int master, struct hk_err *err)
{
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = net_nl_req(nl, buf, RTM_GETLINK, NLM_F_DUMP);
	struct port_count c = {.master = master};

	put_ifinfo(nlh);
	int r = net_nl_dump(nl, nlh, count_cb, &c);
	if (r < 0)
		return hk_fail(err, -r, "list network devices");
	return c.n;
}
