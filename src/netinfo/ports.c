#include "netinfo/ports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "netinfo/ipam.h"

const char *net_proto_name(uint8_t proto)
{
	return proto == NET_UDP ? "udp" : "tcp";
}

int net_proto_parse(const char *s, uint8_t *out)
{
	if (strcmp(s, "tcp") == 0)
		*out = NET_TCP;
	else if (strcmp(s, "udp") == 0)
		*out = NET_UDP;
	else
		return -1;
	return 0;
}

static int parse_port(const char *spec, const char *what, const char *s, uint16_t *out,
		      struct hk_err *err)
{
	char *end;

	if (!*s || *s == '+' || *s == '-' || *s == ' ')
		return hk_fail(err, 0, "publish \"%.64s\": %s port \"%s\" is not a number", spec,
			       what, s);
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end)
		return hk_fail(err, 0, "publish \"%.64s\": %s port \"%s\" is not a number", spec,
			       what, s);
	if (errno || v < 1 || v > 65535)
		return hk_fail(err, 0, "publish \"%.64s\": %s port %s is out of range 1-65535",
			       spec, what, s);
	*out = (uint16_t)v;
	return 0;
}

/* Split at ':' into at most 3 fields (hostip, hostport, containerport). */
static int split_fields(const char *spec, char *buf, char *f[3], struct hk_err *err)
{
	int n = 0;

	f[n++] = buf;
	for (char *c = buf; *c; c++) {
		if (*c != ':')
			continue;
		if (n == 3)
			return hk_fail(err, 0,
				       "publish \"%.64s\": expected [HOSTIP:]HOSTPORT:CONTAINERPORT"
				       "[/tcp|udp]",
				       spec);
		*c = '\0';
		f[n++] = c + 1;
	}
	if (n < 2)
		return hk_fail(
			err, 0,
			"publish \"%.64s\": expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]",
			spec);
	return n;
}

int net_port_parse(const char *spec, struct net_port *out, struct hk_err *err)
{
	char buf[64];
	char *f[3];

	*out = (struct net_port){.proto = NET_TCP};
	if (strlen(spec) >= sizeof(buf))
		return hk_fail(err, 0, "publish \"%.64s...\": too long", spec);
	strcpy(buf, spec);
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (net_proto_parse(slash + 1, &out->proto) < 0)
			return hk_fail(err, 0, "publish \"%s\": protocol \"%s\" is not tcp or udp",
				       spec, slash + 1);
	}
	int n = split_fields(spec, buf, f, err);
	if (n < 0)
		return -1;
	if (n == 3 && net_addr_parse(f[0], &out->host_ip) < 0)
		return hk_fail(err, 0, "publish \"%s\": host address \"%s\" is not an IPv4 address",
			       spec, f[0]);
	if (parse_port(spec, "host", f[n - 2], &out->host_port, err) < 0)
		return -1;
	return parse_port(spec, "container", f[n - 1], &out->cont_port, err);
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return len > 0;
}

int net_exposed_parse(const char *key, struct net_port *out, struct hk_err *err)
{
	const char *slash = strchr(key, '/');
	size_t len = slash ? (size_t)(slash - key) : strlen(key);
	unsigned long v = 0;

	*out = (struct net_port){.proto = NET_TCP};
	if (slash && net_proto_parse(slash + 1, &out->proto) < 0)
		return hk_fail(err, 0,
			       "exposed port \"%.64s\": protocol \"%.16s\" is not tcp or udp", key,
			       slash + 1);
	if (len > 5 || !all_digits(key, len))
		return hk_fail(
			err, 0,
			"exposed port \"%.64s\": expected PORT, PORT/tcp or PORT/udp (no host "
			"port, no range)",
			key);
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned long)(key[i] - '0');
	if (v < 1 || v > 65535)
		return hk_fail(err, 0, "exposed port \"%.64s\": out of range 1-65535", key);
	out->cont_port = (uint16_t)v;
	return 0;
}

static bool maps_port(const struct net_port *v, size_t n, const struct net_port *p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].cont_port == p->cont_port && v[i].proto == p->proto)
			return true;
	return false;
}

int net_ports_add_exposed(struct net_port **v, size_t *n, const struct net_port *ex, size_t n_ex,
			  struct hk_err *err)
{
	size_t added = 0;

	for (size_t i = 0; i < n_ex; i++) {
		if (maps_port(*v, *n, &ex[i]))
			continue;
		if (++added > NET_EXPOSED_MAX)
			return hk_fail(
				err, 0,
				"more than %d exposed ports to publish at random host ports; "
				"publish the ones needed with -p",
				NET_EXPOSED_MAX);
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] =
			(struct net_port){.proto = ex[i].proto, .cont_port = ex[i].cont_port};
	}
	return 0;
}

void net_port_fmt(const struct net_port *p, char buf[NET_PORT_STRLEN])
{
	char ip[NET_ADDR_STRLEN] = "";

	if (!p->host_port) {
		snprintf(buf, NET_PORT_STRLEN, "%u/%s", p->cont_port, net_proto_name(p->proto));
		return;
	}

	if (p->host_ip) {
		net_addr_fmt(p->host_ip, ip);
		strcat(ip, ":");
	}
	snprintf(buf, NET_PORT_STRLEN, "%s%u:%u/%s", ip, p->host_port, p->cont_port,
		 net_proto_name(p->proto));
}

bool net_port_clash(const struct net_port *a, const struct net_port *b)
{
	if (!a->host_port || !b->host_port || a->proto != b->proto || a->host_port != b->host_port)
		return false;
	return a->host_ip == 0 || b->host_ip == 0 || a->host_ip == b->host_ip;
}

int net_ports_self_clash(const struct net_port *v, size_t n, size_t *first)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (net_port_clash(&v[i], &v[j])) {
				*first = j;
				return (int)i;
			}
	return -1;
}
