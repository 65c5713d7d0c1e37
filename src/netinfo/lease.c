#include "netinfo/lease.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/procstat.h"
#include "common/xalloc.h"

#define LEASE_SUFFIX ".lease"
#define BRIDGE_SUFFIX ".bridge"
#define LEASE_MAX_SIZE (64 * 1024)

int net_id_check(const char *id, struct hk_err *err)
{
	/* a leading dot: its record would be a hidden file, which no listing
	 * reads (outside attack on the CNI plugin: an invisible lease) */
	if (!*id || strlen(id) > 200 || strchr(id, '/') || strchr(id, '\n') || id[0] == '.')
		return hk_fail(err, 0, "container id \"%.64s\": not usable as a file name", id);
	return 0;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t len = strlen(name), sl = strlen(suffix);
	return len > sl && strcmp(name + len - sl, suffix) == 0;
}

static bool is_lease_name(const char *name)
{
	return name[0] != '.' && has_suffix(name, LEASE_SUFFIX);
}

/* A record: a lease, or that of a bridge husk made (net/bridge-gc.c). */
static bool is_record_name(const char *name)
{
	return is_lease_name(name) || (name[0] != '.' && has_suffix(name, BRIDGE_SUFFIX));
}

/* A temp file of a record (hk_write_atomic: ".NAME.lease.RANDOM"). */
static bool is_record_temp(const char *name)
{
	return name[0] == '.' &&
	       (strstr(name, LEASE_SUFFIX ".") != NULL || strstr(name, BRIDGE_SUFFIX ".") != NULL);
}

static int lock(int fd, int how, const char *what, struct hk_err *err)
{
	while (flock(fd, how) < 0)
		if (errno != EINTR)
			return hk_fail(err, errno, "lock %s", what);
	return 0;
}

int net_store_open(struct net_store *st, const char *dir, bool exclusive, struct hk_err *err)
{
	_cleanup_free_ char *lockname = xasprintf("%s/lock", dir);
	int how = exclusive ? LOCK_EX : LOCK_SH;

	*st = (struct net_store){-1, -1, exclusive};
	if (hk_mkdir_p(dir, 0700, err) < 0)
		return hk_err_prefix(err, "net state directory");
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0)
		return hk_fail(err, errno, "open %s", dir);
	st->lockfd = openat(st->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lockfd < 0) {
		hk_fail(err, errno, "open %s", lockname);
		net_store_close(st);
		return -1;
	}
	bool migrate = strcmp(dir, NET_DIR_DEFAULT) == 0 && access(NET_DIR_OLD, F_OK) == 0;
	/* exclusive while the old records come over, then as asked (flock
	 * converts the lock it holds) */
	if ((migrate && (lock(st->lockfd, LOCK_EX, lockname, err) < 0 ||
			 net_store_migrate(st, NET_DIR_OLD, err) < 0)) ||
	    lock(st->lockfd, how, lockname, err) < 0) {
		net_store_close(st);
		return -1;
	}
	return 0;
}

static int move_records(int from, struct net_store *st, const char *old, struct hk_err *err)
{
	int fd = dup(from);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d) {
		hk_closep(&fd);
		return hk_fail(err, errno, "read %s", old);
	}
	while (r == 0 && (e = readdir(d))) {
		/* the temp file of a writer that died goes; what is not a
		 * record stays (and so does the directory) */
		if (is_record_temp(e->d_name))
			unlinkat(from, e->d_name, 0);
		if (!is_record_name(e->d_name))
			continue;
		if (renameat2(from, e->d_name, st->dirfd, e->d_name, RENAME_NOREPLACE) < 0)
			r = hk_fail(err, errno, "move %s/%s to the net state directory", old,
				    e->d_name);
	}
	closedir(d);
	return r;
}

int net_store_migrate(struct net_store *st, const char *old, struct hk_err *err)
{
	_cleanup_close_ int from = open(old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int oldlock = -1;
	_cleanup_free_ char *what = xasprintf("%s/lock", old);

	if (from < 0)
		return errno == ENOENT ? 0 : hk_fail(err, errno, "open %s", old);
	/* an older husk net still at work there finishes first */
	oldlock = openat(from, "lock", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (oldlock < 0 && errno != ENOENT)
		return hk_fail(err, errno, "open %s", what);
	if ((oldlock >= 0 && lock(oldlock, LOCK_EX, what, err) < 0) ||
	    move_records(from, st, old, err) < 0)
		return -1;
	unlinkat(from, "lock", 0);
	/* gone already (another husk net moved it first), or not empty (not
	 * husk's alone): left as it is */
	rmdir(old);
	return 0;
}

void net_store_close(struct net_store *st)
{
	hk_closep(&st->lockfd);
	hk_closep(&st->dirfd);
	st->lockfd = st->dirfd = -1;
}

char *net_lease_format(const struct net_lease *l)
{
	char sub[NET_SUBNET_STRLEN], addr[NET_ADDR_STRLEN], hip[NET_ADDR_STRLEN];
	size_t cap = 512 + strlen(l->id) + (l->netns ? strlen(l->netns) : 0) + 48 * l->n_ports;
	char *buf = xmalloc(cap);
	int n;

	net_subnet_fmt(&l->subnet, sub);
	net_addr_fmt(l->addr, addr);
	n = snprintf(buf, cap,
		     "id %s\npid %d\nstart %llu\nnetns_ino %llu\nbridge %s\nsubnet %s\naddr %s\n"
		     "veth %s\n",
		     l->id, (int)l->pid, l->start_time, l->netns_ino, l->bridge, sub, addr,
		     l->veth);
	if (l->netns)
		n += snprintf(buf + n, cap - (size_t)n, "netns %s\n", l->netns);
	if (l->holder_pid)
		n += snprintf(buf + n, cap - (size_t)n, "holder %d %llu\n", (int)l->holder_pid,
			      l->holder_start);
	for (size_t i = 0; i < l->n_ports; i++) {
		const struct net_port *p = &l->ports[i];
		net_addr_fmt(p->host_ip, hip);
		n += snprintf(buf + n, cap - (size_t)n, "port %s %s %u %u\n",
			      net_proto_name(p->proto), hip, p->host_port, p->cont_port);
	}
	return buf;
}

static int parse_port_line(const char *v, struct net_lease *l)
{
	char proto[8], ip[NET_ADDR_STRLEN];
	unsigned hp, cp;
	struct net_port p = {0};

	if (sscanf(v, "%7s %15s %u %u", proto, ip, &hp, &cp) != 4 ||
	    net_proto_parse(proto, &p.proto) < 0 || net_addr_parse(ip, &p.host_ip) < 0 || hp < 1 ||
	    hp > 65535 || cp < 1 || cp > 65535)
		return -1;
	p.host_port = (uint16_t)hp;
	p.cont_port = (uint16_t)cp;
	l->ports = xrealloc(l->ports, (l->n_ports + 1) * sizeof(*l->ports));
	l->ports[l->n_ports++] = p;
	return 0;
}

static int parse_holder(const char *v, struct net_lease *l)
{
	int pid;
	unsigned long long start;

	if (sscanf(v, "%d %llu", &pid, &start) != 2 || pid <= 0)
		return -1;
	l->holder_pid = pid;
	l->holder_start = start;
	return 0;
}

static int copy_name(char dst[IF_NAMESIZE], const char *v)
{
	if (!*v || strlen(v) >= IF_NAMESIZE)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int parse_line(const char *k, const char *v, struct net_lease *l)
{
	if (strcmp(k, "id") == 0 && !l->id)
		l->id = xstrdup(v);
	else if (strcmp(k, "pid") == 0)
		l->pid = (pid_t)strtol(v, NULL, 10);
	else if (strcmp(k, "start") == 0)
		l->start_time = strtoull(v, NULL, 10);
	else if (strcmp(k, "netns_ino") == 0)
		l->netns_ino = strtoull(v, NULL, 10);
	else if (strcmp(k, "netns") == 0 && !l->netns)
		l->netns = xstrdup(v);
	else if (strcmp(k, "bridge") == 0)
		return copy_name(l->bridge, v);
	else if (strcmp(k, "veth") == 0)
		return copy_name(l->veth, v);
	else if (strcmp(k, "subnet") == 0)
		return net_subnet_parse(v, &l->subnet, NULL);
	else if (strcmp(k, "addr") == 0)
		return net_addr_parse(v, &l->addr);
	else if (strcmp(k, "port") == 0)
		return parse_port_line(v, l);
	else if (strcmp(k, "holder") == 0)
		return parse_holder(v, l);
	return 0; /* unknown keys: written by a newer husk, ignored */
}

int net_lease_parse(const char *text, const char *what, struct net_lease *l, struct hk_err *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	int lineno = 0;

	*l = (struct net_lease){0};
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		lineno++;
		if (sp)
			*sp = '\0';
		if (!sp || parse_line(line, sp + 1, l) < 0) {
			net_lease_free(l);
			return hk_fail(err, 0, "%s: line %d is malformed", what, lineno);
		}
	}
	if (!l->id || !l->bridge[0] || !l->veth[0] || !l->addr) {
		net_lease_free(l);
		return hk_fail(err, 0, "%s: incomplete record", what);
	}
	return 0;
}

void net_lease_free(struct net_lease *l)
{
	free(l->id);
	free(l->netns);
	free(l->ports);
	*l = (struct net_lease){0};
}

void net_leases_free(struct net_lease *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		net_lease_free(&v[i]);
	free(v);
}

static int cmp_lease(const void *a, const void *b)
{
	return strcmp(((const struct net_lease *)a)->id, ((const struct net_lease *)b)->id);
}

static int load_one(int dirfd, const char *name, struct net_lease *l, struct hk_err *err)
{
	_cleanup_free_ char *text = hk_read_fileat(dirfd, name, LEASE_MAX_SIZE, NULL, err);

	if (!text)
		return errno == ENOENT ? 0 : -1;
	return net_lease_parse(text, name, l, err) < 0 ? -1 : 1;
}

int net_lease_find(const char *dir, const char *id, struct net_lease *out, struct hk_err *err)
{
	_cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *name = xasprintf("%s" LEASE_SUFFIX, id);
	int r = 0;

	*out = (struct net_lease){0};
	if (net_id_check(id, NULL) < 0)
		return 0;
	if (dirfd >= 0)
		r = load_one(dirfd, name, out, err);
	else if (errno != ENOENT)
		return hk_fail(err, errno, "open %s", dir);
	/* not moved over yet (net_store_open does it) */
	if (r == 0 && strcmp(dir, NET_DIR_DEFAULT) == 0)
		return net_lease_find(NET_DIR_OLD, id, out, err);
	return r;
}

int net_store_load(struct net_store *st, struct net_lease **out, size_t *n, struct hk_err *err)
{
	int fd = dup(st->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct net_lease *v = NULL;
	size_t cnt = 0;
	struct dirent *e;

	if (!d) {
		hk_closep(&fd);
		return hk_fail(err, errno, "read the net state directory");
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		if (st->exclusive && is_record_temp(e->d_name))
			unlinkat(st->dirfd, e->d_name, 0);
		if (!is_lease_name(e->d_name))
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		int r = load_one(st->dirfd, e->d_name, &v[cnt], err);
		if (r < 0) {
			closedir(d);
			net_leases_free(v, cnt);
			return -1;
		}
		cnt += (size_t)r;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_lease);
	*out = v;
	*n = cnt;
	return 0;
}

int net_store_put(struct net_store *st, const struct net_lease *l, struct hk_err *err)
{
	_cleanup_free_ char *name = xasprintf("%s" LEASE_SUFFIX, l->id);
	_cleanup_free_ char *text = net_lease_format(l);

	return hk_write_atomic(st->dirfd, name, text, strlen(text), err);
}

int net_store_del(struct net_store *st, const char *id, struct hk_err *err)
{
	_cleanup_free_ char *name = xasprintf("%s" LEASE_SUFFIX, id);

	if (unlinkat(st->dirfd, name, 0) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "remove lease %s", name);
	return 0;
}

bool net_lease_alive(const struct net_lease *l)
{
	struct stat sb;

	if (l->netns)
		return stat(l->netns, &sb) == 0 && (unsigned long long)sb.st_ino == l->netns_ino;
	return l->pid > 0 && hk_proc_start_time(l->pid) == l->start_time;
}

bool net_lease_is_callers(const struct net_lease *l, pid_t pid)
{
	if (l->pid > 0 && pid > 0)
		return l->pid == pid;
	if (l->pid > 0)
		return hk_proc_start_time(l->pid) != l->start_time;
	return !net_lease_alive(l);
}
