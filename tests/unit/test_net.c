/* net/: publish specs, subnet and lease arithmetic, lease records, the
 * veth request and the nft commands. No sockets, no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"
#include "common/procstat.h"
#include "netinfo/ipam.h"
#include "netinfo/lease.h"
#include "net/link.h"
#include "net/nat.h"
#include "net/net.h"
#include "net/netlink.h"
#include "netinfo/ports.h"

static uint32_t ip(const char *s)
{
	uint32_t a = 0;
	assert_int_equal(net_addr_parse(s, &a), 0);
	return a;
}

static struct net_port port_ok(const char *spec)
{
	struct hk_err err = {0};
	struct net_port p;
	if (net_port_parse(spec, &p, &err) < 0)
		fail_msg("%s: %s", spec, err.msg);
	return p;
}

static void port_bad(const char *spec, const char *msg)
{
	struct hk_err err = {0};
	struct net_port p;
	assert_int_equal(net_port_parse(spec, &p, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("%s: \"%s\" lacks \"%s\"", spec, err.msg, msg);
}

static void test_port_parse(void **state)
{
	(void)state;
	struct net_port p = port_ok("8080:80");
	assert_int_equal(p.host_ip, 0);
	assert_int_equal(p.host_port, 8080);
	assert_int_equal(p.cont_port, 80);
	assert_int_equal(p.proto, NET_TCP);
	p = port_ok("127.0.0.1:53:5353/udp");
	assert_int_equal(p.host_ip, ip("127.0.0.1"));
	assert_int_equal(p.host_port, 53);
	assert_int_equal(p.cont_port, 5353);
	assert_int_equal(p.proto, NET_UDP);
	p = port_ok("65535:1/tcp");
	assert_int_equal(p.host_port, 65535);
	char buf[NET_PORT_STRLEN];
	net_port_fmt(&p, buf);
	assert_string_equal(buf, "65535:1/tcp");
	net_port_fmt(&(struct net_port){ip("10.0.0.1"), 1, 2, NET_UDP}, buf);
	assert_string_equal(buf, "10.0.0.1:1:2/udp");
}

static void test_port_parse_bad(void **state)
{
	(void)state;
	port_bad("80", "expected [HOSTIP:]HOSTPORT:CONTAINERPORT");
	port_bad("", "expected");
	port_bad("1:2:3:4", "expected");
	port_bad("0:80", "host port 0 is out of range 1-65535");
	port_bad("65536:80", "host port 65536 is out of range");
	port_bad("80:99999999999999999999", "container port 99999999999999999999 is out of range");
	port_bad("80:-1", "container port \"-1\" is not a number");
	port_bad("80:+1", "is not a number");
	port_bad(":80", "host port \"\" is not a number");
	port_bad("80:", "container port \"\" is not a number");
	port_bad("8o:80", "host port \"8o\" is not a number");
	port_bad("80:80/", "protocol \"\" is not tcp or udp");
	port_bad("80:80/TCP", "protocol \"TCP\" is not tcp or udp");
	port_bad("80:80/tcp/udp", "protocol \"tcp/udp\"");
	port_bad("300.1.1.1:80:80", "host address \"300.1.1.1\" is not an IPv4 address");
	port_bad("localhost:80:80", "host address \"localhost\"");
	port_bad("::1:80:80", "expected");
	char longspec[200];
	memset(longspec, '1', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	port_bad(longspec, "too long");
}

static void test_port_clash(void **state)
{
	(void)state;
	struct net_port any = port_ok("80:1"), lo = port_ok("127.0.0.1:80:2"),
			other = port_ok("10.0.0.1:80:3"), udp = port_ok("80:1/udp"),
			p81 = port_ok("81:1");
	assert_true(net_port_clash(&any, &lo));
	assert_true(net_port_clash(&lo, &any));
	assert_false(net_port_clash(&lo, &other));
	assert_true(net_port_clash(&lo, &lo));
	assert_false(net_port_clash(&any, &udp));
	assert_false(net_port_clash(&any, &p81));
	struct net_port v[] = {any, udp, p81, lo};
	size_t first = 99;
	assert_int_equal(net_ports_self_clash(v, 3, &first), -1);
	assert_int_equal(net_ports_self_clash(v, 4, &first), 3);
	assert_int_equal(first, 0);
}

static struct net_subnet subnet_ok(const char *s)
{
	struct hk_err err = {0};
	struct net_subnet n;
	if (net_subnet_parse(s, &n, &err) < 0)
		fail_msg("%s: %s", s, err.msg);
	return n;
}

static void subnet_bad(const char *s, const char *msg)
{
	struct hk_err err = {0};
	struct net_subnet n;
	assert_int_equal(net_subnet_parse(s, &n, &err), -1);
	if (!strstr(err.msg, msg))
		fail_msg("%s: \"%s\" lacks \"%s\"", s, err.msg, msg);
}

static void test_subnet(void **state)
{
	(void)state;
	struct net_subnet s = subnet_ok("10.89.0.0/16");
	char buf[NET_SUBNET_STRLEN], a[NET_ADDR_STRLEN];
	assert_int_equal(s.net, ip("10.89.0.0"));
	assert_int_equal(s.prefix, 16);
	net_subnet_fmt(&s, buf);
	assert_string_equal(buf, "10.89.0.0/16");
	assert_int_equal(net_subnet_gateway(&s), ip("10.89.0.1"));
	assert_int_equal(net_subnet_capacity(&s), 65533);
	assert_true(net_subnet_contains(&s, ip("10.89.255.255")));
	assert_false(net_subnet_contains(&s, ip("10.90.0.0")));
	net_addr_fmt(net_subnet_mask(&s), a);
	assert_string_equal(a, "255.255.0.0");
	subnet_bad("10.89.0.1/16", "host bits are set (did you mean 10.89.0.0/16?)");
	subnet_bad("10.89.0.0", "expected ADDRESS/PREFIX");
	subnet_bad("10.89.0.0/", "prefix length must be 8 to 30");
	subnet_bad("10.89.0.0/31", "prefix length must be 8 to 30");
	subnet_bad("10.0.0.0/7", "prefix length must be 8 to 30");
	subnet_bad("10.89.0.0/16x", "prefix length");
	subnet_bad("10.89/16", "\"10.89\" is not an IPv4 address");
	subnet_bad("010.89.0.0/16", "is not an IPv4 address");
}

static void test_subnet_overlap(void **state)
{
	(void)state;
	struct net_subnet a = subnet_ok("10.89.0.0/16"), b = subnet_ok("10.89.4.0/24"),
			  c = subnet_ok("10.0.0.0/8"), d = subnet_ok("10.90.0.0/16");
	assert_true(net_subnet_overlap(&a, &b));
	assert_true(net_subnet_overlap(&b, &a));
	assert_true(net_subnet_overlap(&a, &c));
	assert_true(net_subnet_overlap(&c, &d));
	assert_false(net_subnet_overlap(&a, &d));
	assert_false(net_subnet_overlap(&b, &d));
}

static void test_ipam_pick(void **state)
{
	(void)state;
	struct hk_err err = {0};
	struct net_subnet s = subnet_ok("10.0.0.0/29"); /* .2 to .6 for containers */
	uint32_t got, used[8];
	assert_int_equal(net_ipam_pick(&s, NULL, 0, &got, &err), 0);
	assert_int_equal(got, ip("10.0.0.2"));
	/* the lowest gap, whatever the order of the leases */
	used[0] = ip("10.0.0.4");
	used[1] = ip("10.0.0.2");
	used[2] = ip("10.0.0.3");
	used[3] = ip("10.0.0.6");
	assert_int_equal(net_ipam_pick(&s, used, 4, &got, &err), 0);
	assert_int_equal(got, ip("10.0.0.5"));
	used[4] = ip("10.0.0.5");
	used[5] = ip("10.0.0.5"); /* a duplicate changes nothing */
	assert_int_equal(net_ipam_pick(&s, used, 6, &got, &err), -1);
	assert_string_equal(err.msg, "subnet 10.0.0.0/29 is exhausted: all 5 addresses are leased "
				     "(detach a container, run `husk net gc`, or use a wider "
				     "subnet)");
	struct net_subnet tiny = subnet_ok("10.0.0.0/30");
	assert_int_equal(net_subnet_capacity(&tiny), 1);
	assert_int_equal(net_ipam_pick(&tiny, NULL, 0, &got, &err), 0);
	assert_int_equal(got, ip("10.0.0.2"));
	assert_int_equal(net_ipam_pick(&tiny, &got, 1, &got, &err), -1);
}

static void test_ipam_fill_wide(void **state)
{
	(void)state;
	struct hk_err err = {0};
	struct net_subnet s = subnet_ok("10.1.0.0/22");
	uint32_t n = net_subnet_capacity(&s);
	uint32_t *used = calloc(n, sizeof(*used));
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(net_ipam_pick(&s, used, i, &used[i], &err), 0);
	assert_int_equal(used[0], ip("10.1.0.2"));
	assert_int_equal(used[n - 1], ip("10.1.3.254"));
	uint32_t x;
	assert_int_equal(net_ipam_pick(&s, used, n, &x, &err), -1);
	free(used);
}

static void test_mac(void **state)
{
	(void)state;
	uint8_t mac[6];
	net_mac_from_addr(ip("10.89.1.2"), mac);
	const uint8_t want[6] = {0x02, 0x48, 10, 89, 1, 2};
	assert_memory_equal(mac, want, 6);
}

static void test_lease_roundtrip(void **state)
{
	(void)state;
	struct hk_err err = {0};
	struct net_port ports[] = {port_ok("8080:80"), port_ok("127.0.0.1:53:53/udp")};
	struct net_lease l = {
		.id = "web-1",
		.pid = 1234,
		.start_time = 987654321,
		.netns = "/run/netns/with space",
		.netns_ino = 4026532000,
		.bridge = "husk0",
		.subnet = subnet_ok("10.89.0.0/16"),
		.addr = ip("10.89.0.7"),
		.veth = "hk0123abcd",
		.ports = ports,
		.n_ports = 2,
		.holder_pid = 4321,
		.holder_start = 987654999,
	};
	char *text = net_lease_format(&l);
	struct net_lease back;
	assert_int_equal(net_lease_parse(text, "t", &back, &err), 0);
	assert_string_equal(back.id, "web-1");
	assert_int_equal(back.pid, 1234);
	assert_int_equal(back.start_time, 987654321ULL);
	assert_string_equal(back.netns, "/run/netns/with space");
	assert_int_equal(back.netns_ino, 4026532000ULL);
	assert_string_equal(back.bridge, "husk0");
	assert_int_equal(back.subnet.net, l.subnet.net);
	assert_int_equal(back.subnet.prefix, 16);
	assert_int_equal(back.addr, l.addr);
	assert_string_equal(back.veth, "hk0123abcd");
	assert_int_equal(back.n_ports, 2);
	assert_memory_equal(back.ports, ports, sizeof(ports));
	assert_int_equal(back.holder_pid, 4321);
	assert_int_equal(back.holder_start, 987654999ULL);
	net_lease_free(&back);
	free(text);
	/* a record without a holder (no ports, or an older husk's) */
	l.holder_pid = 0;
	text = net_lease_format(&l);
	assert_null(strstr(text, "holder"));
	assert_int_equal(net_lease_parse(text, "t", &back, &err), 0);
	assert_int_equal(back.holder_pid, 0);
	net_lease_free(&back);
	free(text);
	assert_int_equal(net_lease_parse("id x\nholder -1 5\n", "t", &back, &err), -1);
	assert_string_equal(err.msg, "t: line 2 is malformed");
	assert_int_equal(net_lease_parse("id x\nbridge b\n", "t", &back, &err), -1);
	assert_string_equal(err.msg, "t: incomplete record");
	assert_int_equal(net_lease_parse("id x\naddr 10.0.0.300\n", "t", &back, &err), -1);
	assert_string_equal(err.msg, "t: line 2 is malformed");
	assert_int_equal(net_lease_parse("id x\nbridge 0123456789abcdef\n", "t", &back, &err), -1);
}

static void test_id_check(void **state)
{
	(void)state;
	struct hk_err err = {0};
	assert_int_equal(net_id_check("abc", &err), 0);
	assert_int_equal(net_id_check("", &err), -1);
	assert_int_equal(net_id_check("..", &err), -1);
	assert_int_equal(net_id_check("a/b", &err), -1);
	assert_int_equal(net_id_check("a\nb", &err), -1);
}

static void test_config_check(void **state)
{
	(void)state;
	struct hk_err err = {0};
	struct net_port ports[] = {port_ok("80:1"), port_ok("127.0.0.1:80:2")};
	struct net_config c = {"/x", "husk0", "10.89.0.0/16", 1500, ports, 1, NULL};
	assert_int_equal(net_config_check(&c, &err), 0);
	c.n_ports = 2;
	assert_int_equal(net_config_check(&c, &err), -1);
	assert_string_equal(err.msg, "publish 80:1/tcp and 127.0.0.1:80:2/tcp: the same host port "
				     "twice");
	c.n_ports = 0;
	c.bridge = "0123456789abcdef";
	assert_int_equal(net_config_check(&c, &err), -1);
	assert_string_equal(err.msg, "bridge name \"0123456789abcdef\" is 16 characters long; the "
				     "kernel allows at most 15");
	c.bridge = "0123456789abcde";
	assert_int_equal(net_config_check(&c, &err), 0);
	c.bridge = "br 0";
	assert_int_equal(net_config_check(&c, &err), -1);
	assert_string_equal(err.msg, "bridge name \"br 0\": invalid character ' '");
	c.bridge = "br0";
	c.mtu = 67;
	assert_int_equal(net_config_check(&c, &err), -1);
	c.mtu = 9000;
	c.subnet = "10.89.0.0/33";
	assert_int_equal(net_config_check(&c, &err), -1);
}

struct attrs {
	const struct nlattr *tb[IFLA_MAX + 1];
};

static int collect(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	if (mnl_attr_get_type(a) <= IFLA_MAX)
		t->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void test_veth_request(void **state)
{
	(void)state;
	char buf[NET_NL_BUFSZ];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct net_veth v = {"hk1", 7, "eth0", 5, 0, 1400, {2, 0x48, 10, 0, 0, 2}};
	struct attrs top = {0}, info = {0}, data = {0}, peer = {0};

	net_link_build_veth(nlh, &v);
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifm->ifi_flags & IFF_UP, IFF_UP);
	mnl_attr_parse(nlh, sizeof(*ifm), collect, &top);
	assert_string_equal(mnl_attr_get_str(top.tb[IFLA_IFNAME]), "hk1");
	assert_int_equal(mnl_attr_get_u32(top.tb[IFLA_MASTER]), 7);
	assert_int_equal(mnl_attr_get_u32(top.tb[IFLA_MTU]), 1400);
	mnl_attr_parse_nested(top.tb[IFLA_LINKINFO], collect, &info);
	assert_string_equal(mnl_attr_get_str(info.tb[IFLA_INFO_KIND]), "veth");
	mnl_attr_parse_nested(info.tb[IFLA_INFO_DATA], collect, &data);
	/* the peer: an ifinfomsg first, then its attributes */
	const struct nlattr *p = data.tb[VETH_INFO_PEER];
	assert_non_null(p);
	const char *payload = mnl_attr_get_payload(p);
	size_t off = MNL_ALIGN(sizeof(struct ifinfomsg));
	for (const struct nlattr *a = (const void *)(payload + off);
	     mnl_attr_ok(a, (int)(mnl_attr_get_payload_len(p) - off)); a = mnl_attr_next(a)) {
		collect(a, &peer);
		off += MNL_ALIGN(a->nla_len);
	}
	assert_string_equal(mnl_attr_get_str(peer.tb[IFLA_IFNAME]), "eth0");
	assert_int_equal(mnl_attr_get_u32(peer.tb[IFLA_NET_NS_FD]), 5);
	assert_null(peer.tb[IFLA_NET_NS_PID]);
	assert_int_equal(mnl_attr_get_payload_len(peer.tb[IFLA_ADDRESS]), 6);
	assert_memory_equal(mnl_attr_get_payload(peer.tb[IFLA_ADDRESS]), v.mac, 6);
}

static void test_nat_cmds(void **state)
{
	(void)state;
	struct net_port ports[] = {port_ok("8080:80"), port_ok("127.0.0.1:5353:53/udp")};
	struct net_subnet s = subnet_ok("10.89.0.0/16");
	char *c = net_nat_attach_cmds("husk0", &s, ports, 2, ip("10.89.0.2"));
	assert_non_null(strstr(c, "add table ip husk\n"));
	assert_non_null(strstr(c, "add element ip husk nets { 10.89.0.0/16 }\n"));
	assert_non_null(strstr(c, "add element ip husk bridges { \"husk0\" }\n"));
	assert_non_null(strstr(c, "add element ip husk pub_any { tcp . 8080 : 10.89.0.2 . 80 }\n"));
	assert_non_null(strstr(
		c, "add element ip husk pub_ip { 127.0.0.1 . udp . 5353 : 10.89.0.2 . 53 }\n"));
	/* every chain is flushed before its rules are added: running twice
	 * leaves one copy */
	assert_true(strstr(c, "flush chain ip husk postrouting") <
		    strstr(c, "add rule ip husk postrouting"));
	assert_true(strstr(c, "flush chain ip husk forward") <
		    strstr(c, "add rule ip husk forward"));
	/* never DNAT 127.0.0.0/8 from outside; the host's 127.0.0.0/8 only
	 * from lo, for answers and DNAT (CVE-2020-8558) */
	assert_non_null(strstr(c, "add rule ip husk prerouting ip daddr != 127.0.0.0/8 fib daddr "
				  "type local dnat to ip daddr"));
	assert_non_null(strstr(c, "add rule ip husk input iifname != \"lo\" ip daddr 127.0.0.0/8 "
				  "ct state != { established, related } ct status & dnat == 0 "
				  "drop\n"));
	/* filter chains accept by default: the host's other traffic is not
	 * husk's to drop; what goes to a husk bridge is */
	assert_non_null(strstr(c, "add chain ip husk forward { type filter hook forward priority "
				  "filter; policy accept; }"));
	assert_null(strstr(c, "policy drop"));
	char *fwd = strstr(c, "add rule ip husk forward");
	assert_true(strncmp(fwd, "add rule ip husk forward oifname != @bridges accept\n", 52) == 0);
	assert_non_null(strstr(fwd, "add rule ip husk forward drop\n"));
	free(c);
	c = net_nat_unpublish_cmds(ports, 2);
	assert_string_equal(c, "delete element ip husk pub_any { tcp . 8080 }\n"
			       "delete element ip husk pub_ip { 127.0.0.1 . udp . 5353 }\n");
	free(c);
}

static struct net_port exposed_ok(const char *key)
{
	struct hk_err err = {0};
	struct net_port p;
	if (net_exposed_parse(key, &p, &err) < 0)
		fail_msg("%s: %s", key, err.msg);
	return p;
}

static void test_exposed_parse(void **state)
{
	(void)state;
	struct hk_err err = {0};
	struct net_port p = exposed_ok("80");
	assert_int_equal(p.host_port, 0);
	assert_int_equal(p.cont_port, 80);
	assert_int_equal(p.proto, NET_TCP);
	p = exposed_ok("53/udp");
	assert_int_equal(p.cont_port, 53);
	assert_int_equal(p.proto, NET_UDP);
	assert_int_equal(exposed_ok("65535/tcp").cont_port, 65535);
	const char *bad[] = {"8080:22/tcp", "80-90",  "80-90/tcp", "",          "/tcp", "+80",
			     " 80",         "80 ",    "0x50",      "123456",    "0",    "65536",
			     "80/sctp",     "80/TCP", "80/",       "1.2.3.4:80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (net_exposed_parse(bad[i], &p, &err) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
	net_exposed_parse("8080:22/tcp", &p, &err);
	assert_string_equal(err.msg, "exposed port \"8080:22/tcp\": expected PORT, PORT/tcp or "
				     "PORT/udp (no host port, no range)");
	/* before a host port is picked: shown without one, clashing with none */
	char buf[NET_PORT_STRLEN];
	p = exposed_ok("53/udp");
	net_port_fmt(&p, buf);
	assert_string_equal(buf, "53/udp");
	struct net_port any = port_ok("1:53/udp");
	any.host_port = 0;
	assert_false(net_port_clash(&p, &any));
}

static void test_add_exposed(void **state)
{
	(void)state;
	struct hk_err err = {0};
	struct net_port *v = calloc(1, sizeof(*v));
	size_t n = 1;
	struct net_port ex[NET_EXPOSED_MAX + 2];
	v[0] = port_ok("127.0.0.1:18080:80");
	ex[0] = exposed_ok("80"); /* -p maps it already */
	ex[1] = exposed_ok("53/udp");
	ex[2] = exposed_ok("53/udp"); /* twice */
	ex[3] = exposed_ok("53");     /* tcp: another one */
	assert_int_equal(net_ports_add_exposed(&v, &n, ex, 4, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[1].cont_port, 53);
	assert_int_equal(v[1].proto, NET_UDP);
	assert_int_equal(v[1].host_port, 0);
	assert_int_equal(v[1].host_ip, 0);
	assert_int_equal(v[2].proto, NET_TCP);
	free(v);
	/* at most NET_EXPOSED_MAX, not counting those skipped */
	for (int i = 0; i < NET_EXPOSED_MAX + 2; i++)
		ex[i] = (struct net_port){.proto = NET_TCP, .cont_port = (uint16_t)(1000 + i)};
	ex[1] = ex[0];
	v = NULL;
	n = 0;
	assert_int_equal(net_ports_add_exposed(&v, &n, ex, NET_EXPOSED_MAX + 1, &err), 0);
	assert_int_equal(n, NET_EXPOSED_MAX);
	free(v);
	v = NULL;
	n = 0;
	assert_int_equal(net_ports_add_exposed(&v, &n, ex, NET_EXPOSED_MAX + 2, &err), -1);
	assert_non_null(strstr(err.msg, "more than 64 exposed ports"));
	free(v);
}

static void test_lease_is_callers(void **state)
{
	(void)state;
	pid_t self = getpid();
	struct net_lease alive = {.pid = self, .start_time = hk_proc_start_time(self)};
	struct net_lease dead = {.pid = self, .start_time = alive.start_time + 1};
	struct net_lease by_path = {.netns = "/proc/self/ns/net"};
	struct stat sb;

	assert_int_equal(stat("/proc/self/ns/net", &sb), 0);
	/* the state names a pid: the record must name the same one */
	assert_true(net_lease_is_callers(&alive, self));
	assert_false(net_lease_is_callers(&alive, self + 1));
	/* none (runc's poststop): only a record whose container is gone */
	assert_false(net_lease_is_callers(&alive, 0));
	assert_true(net_lease_is_callers(&dead, 0));
	by_path.netns_ino = sb.st_ino;
	assert_false(net_lease_is_callers(&by_path, 0));
	assert_false(net_lease_is_callers(&by_path, self));
	by_path.netns_ino = sb.st_ino + 1;
	assert_true(net_lease_is_callers(&by_path, self));
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_store_migrate(void **state)
{
	(void)state;
	struct hk_err err = {0};
	char base[] = "/tmp/hk-net-unit-XXXXXX";
	char old[600], dir[600], cmd[700];
	struct net_store st;
	struct net_lease *v;
	size_t n;

	assert_non_null(mkdtemp(base));
	snprintf(old, sizeof(old), "%s/husk/net", base);
	snprintf(dir, sizeof(dir), "%s/husk-net", base);
	/* the default state directory is not inside the default root */
	assert_int_not_equal(strncmp(NET_DIR_DEFAULT, "/run/husk/", 10), 0);
	assert_string_equal(NET_DIR_OLD, "/run/husk/net");
	/* nothing to move */
	assert_int_equal(net_store_open(&st, dir, true, &err), 0);
	assert_int_equal(net_store_migrate(&st, old, &err), 0);
	net_store_close(&st);
	/* the old records, a writer's leftover temp file, the old lock */
	assert_int_equal(hk_mkdir_p(old, 0700, &err), 0);
	write_file(old, "a.lease", "id a\nbridge husk0\nveth hk1\naddr 10.89.0.2\n");
	write_file(old, ".a.lease.0123456789abcdef", "id a\n");
	write_file(old, "lock", "");
	assert_int_equal(net_store_open(&st, dir, true, &err), 0);
	assert_int_equal(net_store_migrate(&st, old, &err), 0);
	assert_int_equal(net_store_load(&st, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, "a");
	net_leases_free(v, n);
	assert_false(exists(old, ""));
	/* a writer killed between write and rename: its temp file goes */
	write_file(dir, ".b.lease.0123456789abcdef", "id b\n");
	assert_int_equal(net_store_load(&st, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	net_leases_free(v, n);
	assert_false(exists(dir, ".b.lease.0123456789abcdef"));
	/* a record in both is refused, and stays where it was */
	assert_int_equal(hk_mkdir_p(old, 0700, &err), 0);
	write_file(old, "a.lease", "id a\nbridge husk0\nveth hk2\naddr 10.89.0.3\n");
	assert_int_equal(net_store_migrate(&st, old, &err), -1);
	assert_non_null(strstr(err.msg, "/husk/net/a.lease to the net state directory"));
	assert_true(exists(old, "a.lease"));
	net_store_close(&st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_parse),      cmocka_unit_test(test_port_parse_bad),
		cmocka_unit_test(test_port_clash),      cmocka_unit_test(test_subnet),
		cmocka_unit_test(test_subnet_overlap),  cmocka_unit_test(test_ipam_pick),
		cmocka_unit_test(test_ipam_fill_wide),  cmocka_unit_test(test_mac),
		cmocka_unit_test(test_lease_roundtrip), cmocka_unit_test(test_id_check),
		cmocka_unit_test(test_config_check),    cmocka_unit_test(test_veth_request),
		cmocka_unit_test(test_nat_cmds),        cmocka_unit_test(test_exposed_parse),
		cmocka_unit_test(test_add_exposed),     cmocka_unit_test(test_lease_is_callers),
		cmocka_unit_test(test_store_migrate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
