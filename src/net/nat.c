#include "net/nat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

#define T "ip " NET_NFT_TABLE

/* Adding what exists already is a no-op for tables, chains, sets, maps and
 * identical elements; rules are the exception, so each chain is flushed
 * and refilled in the same transaction: the result is the same however
 * often it runs, and a table damaged by hand heals on the next attach.
 *
 * The filter chains (input, forward) have policy accept and drop only
 * traffic that a husk bridge carries or that goes to 127.0.0.0/8 from
 * outside lo: the host's other traffic, forwarded or not, is never
 * husk's to judge (another table may accept or drop it as it likes). */
static const char base_cmds[] =
	"add table " T "\n"
	"add set " T " nets { type ipv4_addr; flags interval; }\n"
	"add set " T " bridges { type ifname; }\n"
	"add map " T " pub_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
	"add map " T " pub_ip { type ipv4_addr . inet_proto . inet_service : "
	"ipv4_addr . inet_service; }\n"
	"add chain " T " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
	"add chain " T " output { type nat hook output priority -100; policy accept; }\n"
	"add chain " T " postrouting { type nat hook postrouting priority srcnat; "
	"policy accept; }\n"
	"add chain " T " input { type filter hook input priority filter; policy accept; }\n"
	"add chain " T " forward { type filter hook forward priority filter; policy accept; }\n"
	"flush chain " T " prerouting\n"
	"flush chain " T " output\n"
	"flush chain " T " postrouting\n"
	"flush chain " T " input\n"
	"flush chain " T " forward\n"
	/* from outside: a packet for 127.0.0.0/8 is never DNATed (it reaches
	 * a host only through a machine on its link, or a container, that
	 * forged it: the kernel drops it as a martian, or input below) */
	"add rule " T " prerouting ip daddr != 127.0.0.0/8 fib daddr type local "
	"dnat to ip daddr . meta l4proto . th dport map @pub_ip\n"
	"add rule " T " prerouting ip daddr != 127.0.0.0/8 fib daddr type local "
	"dnat to meta l4proto . th dport map @pub_any\n"
	"add rule " T " output fib daddr type local "
	"dnat to ip daddr . meta l4proto . th dport map @pub_ip\n"
	"add rule " T " output fib daddr type local dnat to meta l4proto . th dport map @pub_any\n"
	/* outbound: the subnet's traffic leaving through anything but a bridge */
	"add rule " T " postrouting ip saddr @nets oifname != @bridges masquerade\n"
	/* the host's own 127.0.0.1 to a published port: the container must
	 * answer the bridge's address, not its own loopback */
	"add rule " T " postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade\n"
	/* a container to a port another one publishes (hairpin): without it
	 * the answer would skip the host and be dropped by the caller */
	"add rule " T " postrouting oifname @bridges ct status dnat ip saddr @nets masquerade\n"
	/* route_localnet, which the line above needs on the bridges, lets
	 * them deliver packets for 127.0.0.0/8 (CVE-2020-8558): only answers
	 * of connections and what was DNATed pass, as in Kubernetes' fix;
	 * iifname != lo rather than its saddr != 127.0.0.0/8, which a
	 * container can forge. (A forged source 127.0.0.0/8 the kernel drops
	 * itself: it is a local address, and accept_local is off.) */
	"add rule " T " input iifname != \"lo\" ip daddr 127.0.0.0/8 "
	"ct state != { established, related } ct status & dnat == 0 drop\n"
	/* to a husk bridge: answers, published ports (DNATed) from anywhere
	 * but another husk bridge, and the bridge's own traffic coming back
	 * to it: the route to the destination goes out where it came in, or
	 * (br_netfilter shows bridged frames here) a broadcast or multicast
	 * between its ports; nothing else: not a machine routing the subnet
	 * through the host, not another husk bridge */
	"add rule " T " forward oifname != @bridges accept\n"
	"add rule " T " forward ct state { established, related } accept\n"
	"add rule " T " forward iifname != @bridges ct status dnat accept\n"
	"add rule " T " forward fib daddr . iif oif exists accept\n"
	"add rule " T " forward iifname @bridges meta pkttype { broadcast, multicast } accept\n"
	"add rule " T " forward drop\n";

static void port_key(const struct net_port *p, char *buf, size_t size)
{
	char ip[NET_ADDR_STRLEN];

	if (p->host_ip) {
		net_addr_fmt(p->host_ip, ip);
		snprintf(buf, size, "pub_ip { %s . %s . %u", ip, net_proto_name(p->proto),
			 p->host_port);
	} else {
		snprintf(buf, size, "pub_any { %s . %u", net_proto_name(p->proto), p->host_port);
	}
}

char *net_nat_attach_cmds(const char *bridge, const struct net_subnet *s,
			  const struct net_port *ports, size_t n, uint32_t addr)
{
	size_t cap = sizeof(base_cmds) + 256 + n * 160;
	char *buf = xmalloc(cap);
	char sub[NET_SUBNET_STRLEN], a[NET_ADDR_STRLEN], key[96];
	int len;

	net_subnet_fmt(s, sub);
	net_addr_fmt(addr, a);
	len = snprintf(buf, cap,
		       "%sadd element " T " nets { %s }\nadd element " T " bridges { \"%s\" }\n",
		       base_cmds, sub, bridge);
	for (size_t i = 0; i < n; i++) {
		port_key(&ports[i], key, sizeof(key));
		len += snprintf(buf + len, cap - (size_t)len, "add element " T " %s : %s . %u }\n",
				key, a, ports[i].cont_port);
	}
	return buf;
}

char *net_nat_unpublish_cmds(const struct net_port *ports, size_t n)
{
	size_t cap = 1 + n * 128;
	char *buf = xmalloc(cap);
	char key[96];
	int len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		port_key(&ports[i], key, sizeof(key));
		len += snprintf(buf + len, cap - (size_t)len, "delete element " T " %s }\n", key);
	}
	return buf;
}

static void nft_ctx_freep(struct nft_ctx **ctx)
{
	if (*ctx)
		nft_ctx_free(*ctx);
}

/* Run cmds as one transaction; on failure the first line of nft's message,
 * in err. *enoent tells a failure that only lacked the object. */
static int nft_run(const char *cmds, const char *what, int *enoent, struct hk_err *err)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	char msg[256];

	if (!ctx)
		return hk_fail(err, ENOMEM, "%s: nftables context", what);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (nft_run_cmd_from_buffer(ctx, cmds) == 0)
		return 0;
	const char *e = nft_ctx_get_error_buffer(ctx);
	snprintf(msg, sizeof(msg), "%s", e && *e ? e : "failed");
	msg[strcspn(msg, "\n")] = '\0';
	if (enoent)
		*enoent = strstr(msg, "No such file or directory") != NULL;
	return hk_fail(err, 0, "%s: nftables: %s", what, msg);
}

int net_nat_attach(const char *bridge, const struct net_subnet *s, const struct net_port *ports,
		   size_t n, uint32_t addr, struct hk_err *err)
{
	_cleanup_free_ char *cmds = net_nat_attach_cmds(bridge, s, ports, n, addr);

	return nft_run(cmds, "NAT and published ports", NULL, err);
}

int net_nat_unpublish(const struct net_port *ports, size_t n, struct hk_err *err)
{
	_cleanup_free_ char *all = net_nat_unpublish_cmds(ports, n);
	int enoent = 0;

	if (n == 0 || nft_run(all, "unpublish ports", &enoent, err) == 0)
		return 0;
	if (!enoent)
		return -1;
	/* One transaction fails whole when any element is gone already (a
	 * detach that was interrupted, a flushed table): remove the rest one
	 * by one, ignoring those that are missing. */
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *one = net_nat_unpublish_cmds(&ports[i], 1);
		enoent = 0;
		if (nft_run(one, "unpublish ports", &enoent, err) < 0 && !enoent)
			return -1;
	}
	hk_err_clear(err);
	return 0;
}

int net_nat_forget_bridge(const char *bridge, const struct net_subnet *s, struct hk_err *err)
{
	char sub[NET_SUBNET_STRLEN];
	int enoent = 0;

	net_subnet_fmt(s, sub);
	_cleanup_free_ char *one = xasprintf("delete element " T " bridges { \"%s\" }\n", bridge);
	_cleanup_free_ char *two = xasprintf("delete element " T " nets { %s }\n", sub);
	/* each alone: either may be gone already (a flushed table) */
	if (nft_run(one, "forget the bridge", &enoent, err) < 0 && !enoent)
		return -1;
	enoent = 0;
	if (nft_run(two, "forget the bridge's subnet", &enoent, err) < 0 && !enoent)
		return -1;
	hk_err_clear(err);
	return 0;
}

int net_nat_remove_unused(struct hk_err *err)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!ctx)
		return hk_fail(err, ENOMEM, "nftables context");
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (nft_run_cmd_from_buffer(ctx, "list table " T "\n") != 0)
		return 0; /* no table */
	const char *out = nft_ctx_get_output_buffer(ctx);
	if (out && strstr(out, "elements"))
		return 0; /* a bridge, a subnet or a port of someone's */
	return net_nat_remove(err);
}

int net_nat_remove(struct hk_err *err)
{
	int enoent = 0;

	if (nft_run("delete table " T "\n", "remove husk's table", &enoent, err) == 0)
		return 1;
	if (!enoent)
		return -1;
	hk_err_clear(err);
	return 0;
}
