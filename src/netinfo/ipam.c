#include "netinfo/ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"

int net_addr_parse(const char *s, uint32_t *out)
{
	struct in_addr a;

	/* inet_pton takes exactly four decimal parts: no "10.1", no octal. */
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

void net_addr_fmt(uint32_t addr, char buf[NET_ADDR_STRLEN])
{
	snprintf(buf, NET_ADDR_STRLEN, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
		 (addr >> 8) & 0xff, addr & 0xff);
}

void net_subnet_fmt(const struct net_subnet *s, char buf[NET_SUBNET_STRLEN])
{
	char a[NET_ADDR_STRLEN];

	net_addr_fmt(s->net, a);
	snprintf(buf, NET_SUBNET_STRLEN, "%s/%u", a, s->prefix);
}

uint32_t net_subnet_mask(const struct net_subnet *s)
{
	return s->prefix == 0 ? 0 : ~(uint32_t)0 << (32 - s->prefix);
}

int net_subnet_parse(const char *s, struct net_subnet *out, struct hk_err *err)
{
	char addr[NET_ADDR_STRLEN];
	const char *slash = strchr(s, '/');
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return hk_fail(err, 0,
			       "subnet \"%.64s\": expected ADDRESS/PREFIX, e.g. 10.89.0.0/16", s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (net_addr_parse(addr, &out->net) < 0)
		return hk_fail(err, 0, "subnet \"%.64s\": \"%s\" is not an IPv4 address", s, addr);
	errno = 0;
	unsigned long p = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || p < NET_PREFIX_MIN || p > NET_PREFIX_MAX)
		return hk_fail(err, 0, "subnet \"%.64s\": the prefix length must be %d to %d", s,
			       NET_PREFIX_MIN, NET_PREFIX_MAX);
	out->prefix = (unsigned)p;
	if (out->net & ~net_subnet_mask(out)) {
		struct net_subnet fixed = {out->net & net_subnet_mask(out), out->prefix};
		char buf[NET_SUBNET_STRLEN];
		net_subnet_fmt(&fixed, buf);
		return hk_fail(err, 0, "subnet \"%.64s\": host bits are set (did you mean %s?)", s,
			       buf);
	}
	return 0;
}

uint32_t net_subnet_gateway(const struct net_subnet *s)
{
	return s->net + 1;
}

bool net_subnet_contains(const struct net_subnet *s, uint32_t addr)
{
	return (addr & net_subnet_mask(s)) == s->net;
}

bool net_subnet_overlap(const struct net_subnet *a, const struct net_subnet *b)
{
	/* Two prefixes overlap exactly when the shorter one contains the
	 * other's network address. */
	return a->prefix <= b->prefix ? net_subnet_contains(a, b->net)
				      : net_subnet_contains(b, a->net);
}

uint32_t net_subnet_capacity(const struct net_subnet *s)
{
	uint32_t size = (uint32_t)1 << (32 - s->prefix);
	return size - 3;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int net_ipam_pick(const struct net_subnet *s, const uint32_t *used, size_t n, uint32_t *out,
		  struct hk_err *err)
{
	_cleanup_free_ uint32_t *sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	uint32_t cand = net_subnet_gateway(s) + 1;
	uint32_t last = (s->net | ~net_subnet_mask(s)) - 1;

	if (n)
		memcpy(sorted, used, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u32);
	/* Walk the sorted leases upwards: the first gap is the answer. */
	for (size_t i = 0; i < n && cand <= last; i++) {
		if (sorted[i] == cand)
			cand++;
		else if (sorted[i] > cand)
			break;
	}
	if (cand > last) {
		char buf[NET_SUBNET_STRLEN];
		net_subnet_fmt(s, buf);
		return hk_fail(err, 0,
			       "subnet %s is exhausted: all %u addresses are leased (detach a "
			       "container, run `husk net gc`, or use a wider subnet)",
			       buf, net_subnet_capacity(s));
	}
	*out = cand;
	return 0;
}

void net_mac_from_addr(uint32_t addr, uint8_t mac[6])
{
	/* 0x02: locally administered, unicast; 0x48 ('H') marks husk. */
	mac[0] = 0x02;
	mac[1] = 0x48;
	mac[2] = (uint8_t)(addr >> 24);
	mac[3] = (uint8_t)(addr >> 16);
	mac[4] = (uint8_t)(addr >> 8);
	mac[5] = (uint8_t)addr;
}
