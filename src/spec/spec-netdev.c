/* config.json "linux.netDevices": host network interfaces to move into the
 * container's network namespace (config-linux.md, runc 1.3), keyed by
 * their name on the host, each with an optional new name. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/decode.h"

/* The kernel's dev_valid_name(): 1 to 15 bytes, not "." or "..", no '/',
 * ':' or white space. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strcspn(s, "/: \t\n\v\f\r") == n;
}

struct netdev_ctx {
	struct hk_spec *s;
	struct hk_err *err;
};

static int decode_one(const char *key, hk_json *val, void *data)
{
	struct netdev_ctx *c = data;
	struct hk_spec *s = c->s;
	char path[64];
	hk_json *o;

	snprintf(path, sizeof(path), "linux.netDevices.%.40s", key);
	if (!valid_ifname(key))
		return hk_fail(c->err, 0, "%s: not a network interface name", path);
	if (hk_json_as_obj(val, path, c->err) < 0)
		return -1;
	o = val;
	s->netdevs = xrealloc(s->netdevs, (s->n_netdevs + 1) * sizeof(*s->netdevs));
	struct hk_netdev *d = &s->netdevs[s->n_netdevs++];
	*d = (struct hk_netdev){.name = xstrdup(key)};
	if (hk_json_get_str(o, path, "name", &d->new_name, c->err) < 0)
		return -1;
	if (d->new_name && !*d->new_name) {
		free(d->new_name);
		d->new_name = NULL;
	}
	if (d->new_name && !valid_ifname(d->new_name))
		return hk_fail(c->err, 0, "%s.name: \"%s\" is not a network interface name", path,
			       d->new_name);
	return 0;
}

/* Two interfaces may not end up with one name in the container. */
static int check_names(const struct hk_spec *s, struct hk_err *err)
{
	for (size_t i = 0; i < s->n_netdevs; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(spec_netdev_name(&s->netdevs[i]),
				   spec_netdev_name(&s->netdevs[k])) == 0)
				return hk_fail(err, 0,
					       "linux.netDevices.%s: its name in the container, "
					       "\"%s\", is %s's too",
					       s->netdevs[i].name, spec_netdev_name(&s->netdevs[i]),
					       s->netdevs[k].name);
	return 0;
}

int spec_decode_netdevs(hk_json *lx, struct hk_spec *s, struct hk_err *err)
{
	hk_json *o;
	int r = hk_json_get_obj(lx, "linux", "netDevices", &o, err);

	if (r <= 0)
		return r;
	struct netdev_ctx c = {s, err};
	if (hk_json_foreach(o, decode_one, &c) < 0 || check_names(s, err) < 0)
		return -1;
	if (s->n_netdevs && !spec_ns(s, HK_NS_NET))
		return hk_fail(err, 0,
			       "linux.netDevices: needs a network namespace in linux.namespaces "
			       "to move the interfaces into");
	return 0;
}

const char *spec_netdev_name(const struct hk_netdev *d)
{
	return d->new_name ? d->new_name : d->name;
}
