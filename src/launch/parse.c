/* Values of husk launch's options: sizes, cpus, volumes, networks, shared
 * namespaces, users. Checked whole before anything is made. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/size.h"
#include "common/xalloc.h"
#include "launch/launch.h"
#include "spec/spec.h"

/* what: the option, for the messages. */
static int parse_size(const char *what, const char *s, int64_t *bytes, struct hk_err *err)
{
	int64_t v = 0;

	switch (hk_parse_size(s, &v)) {
	case HK_SIZE_OK:
		break;
	case HK_SIZE_LARGE:
		return hk_fail(err, 0, "%s: \"%s\" is too large", what, s);
	case HK_SIZE_BAD:
	case HK_SIZE_UNIT:
	default:
		return hk_fail(err, 0, "%s: \"%s\" is not a size (like 512m or 2g)", what, s);
	}
	if (v == 0)
		return hk_fail(err, 0, "%s: \"%s\" must be more than 0", what, s);
	*bytes = v;
	return 0;
}

int launch_parse_size(const char *s, int64_t *bytes, struct hk_err *err)
{
	return parse_size("--memory", s, bytes, err);
}

/* docker's json-file options; "-1" (no limit) is not taken: the log must
 * not be able to fill the disk. */
int launch_parse_log_opt(const char *s, struct launch_log_opts *lo, struct hk_err *err)
{
	if (strncmp(s, "max-size=", 9) == 0)
		return parse_size("--log-opt max-size", s + 9, &lo->max_size, err);
	if (strncmp(s, "max-file=", 9) == 0) {
		char *end;
		errno = 0;
		long n = strtol(s + 9, &end, 10);
		if (errno || end == s + 9 || *end || n < 1 || n > 100)
			return hk_fail(err, 0,
				       "--log-opt max-file: \"%s\" is not a number from 1 to 100",
				       s + 9);
		lo->max_files = (int)n;
		return 0;
	}
	return hk_fail(err, 0, "--log-opt: \"%s\" is not max-size=SIZE or max-file=N", s);
}

int launch_parse_cpus(const char *s, int64_t *quota, struct hk_err *err)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.01 && v <= 1024))
		return hk_fail(err, 0, "--cpus: \"%s\" is not a number of CPUs in [0.01, 1024]", s);
	/* the quota of a 100 ms period, as docker's --cpus */
	*quota = (int64_t)(v * 100000 + 0.5);
	return 0;
}

void launch_volume_clear(struct launch_volume *v)
{
	free(v->host);
	free(v->ctr);
	*v = (struct launch_volume){0};
}

int launch_parse_volume(const char *s, struct launch_volume *v, struct hk_err *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *ctr = strchr(copy, ':');

	*v = (struct launch_volume){0};
	if (!ctr || ctr == copy)
		return hk_fail(err, 0, "-v %s: expected HOST:CONTAINER[:ro|rw]", s);
	*ctr++ = '\0';
	char *mode = strchr(ctr, ':');
	if (mode) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
			return hk_fail(err, 0, "-v %s: mode \"%s\" is not ro or rw", s, mode);
		v->ro = strcmp(mode, "ro") == 0;
	}
	if (ctr[0] != '/')
		return hk_fail(err, 0, "-v %s: the container path must be absolute", s);
	char *host = realpath(copy, NULL);
	if (!host)
		return hk_fail(err, errno, "-v %s: host path %s", s, copy);
	v->host = host;
	v->ctr = xstrdup(ctr);
	return 0;
}

int launch_parse_net(const char *s, struct launch_opts *o, struct hk_err *err)
{
	if (strcmp(s, "bridge") == 0)
		o->net = LAUNCH_NET_BRIDGE;
	else if (strcmp(s, "none") == 0)
		o->net = LAUNCH_NET_NONE;
	else if (strcmp(s, "host") == 0)
		o->net = LAUNCH_NET_HOST;
	else if (strcmp(s, "pasta") == 0)
		o->net = LAUNCH_NET_PASTA;
	else if (strncmp(s, "container:", 10) == 0 && s[10]) {
		o->net = LAUNCH_NET_CONTAINER;
		o->net_container = s + 10;
	} else
		return hk_fail(err, 0,
			       "--net: \"%s\" is not bridge, pasta, none, host or "
			       "container:NAME",
			       s);
	return 0;
}

static const struct {
	const char *name;
	enum hk_ns_type type;
} share_names[] = {
	{"pid", HK_NS_PID}, {"net", HK_NS_NET},       {"network", HK_NS_NET}, {"ipc", HK_NS_IPC},
	{"uts", HK_NS_UTS}, {"cgroup", HK_NS_CGROUP}, {"mnt", HK_NS_MNT},     {"mount", HK_NS_MNT},
};

int launch_parse_share(const char *s, unsigned *mask, struct hk_err *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof(share_names) / sizeof(share_names[0]) &&
		       strcmp(share_names[i].name, t) != 0)
			i++;
		if (i == sizeof(share_names) / sizeof(share_names[0]))
			return hk_fail(err, 0,
				       "--share: \"%s\" is not a namespace (pid, net, ipc, uts, "
				       "cgroup)",
				       t);
		if (share_names[i].type == HK_NS_MNT)
			return hk_fail(err, 0,
				       "--share: mnt cannot be shared: the container's root "
				       "filesystem needs a mount namespace of its own");
		*mask |= 1u << share_names[i].type;
	}
	return 0;
}

static int parse_id(const char *s, uint32_t *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return 1;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || v > UINT32_MAX - 1)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int launch_parse_user(const char *s, uint32_t *uid, uint32_t *gid, bool *has_gid,
		      struct hk_err *err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	char *colon = strchr(copy, ':');

	*has_gid = false;
	if (colon)
		*colon++ = '\0';
	int r = parse_id(copy, uid);
	if (r < 0 || (r == 0 && colon && parse_id(colon, gid) != 0))
		return hk_fail(err, 0, "user \"%s\": expected UID[:GID] (numbers) or a name", s);
	if (r == 1)
		return 1;
	*has_gid = colon != NULL;
	return 0;
}
