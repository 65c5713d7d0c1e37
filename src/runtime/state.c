#include "runtime/state.h"
#include "runtime/state-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "spec/json.h"
#include "spec/spec.h"

static const char *const status_names[] = {
	[HK_CREATING] = "creating", [HK_CREATED] = "created", [HK_RUNNING] = "running",
	[HK_STOPPED] = "stopped",   [HK_PAUSED] = "paused",
};

const char *state_status_name(enum hk_status s)
{
	return status_names[s];
}

int state_validate_id(const char *id, struct hk_err *err)
{
	size_t len = strlen(id);

	if (len == 0)
		return hk_fail(err, 0, "container id: must not be empty");
	if (len > HK_ID_MAX)
		return hk_fail(err, 0, "container id: longer than %d characters", HK_ID_MAX);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return hk_fail(err, 0, "container id \"%s\": not allowed", id);
	for (const char *c = id; *c; c++) {
		unsigned char ch = (unsigned char)*c;
		/* runc's set: letters, digits, and _ + - . */
		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && !strchr("_+-.", ch))
			return hk_fail(err, 0, "container id \"%.64s\": invalid character '%c'", id,
				       ch >= 0x20 && ch < 0x7f ? ch : '?');
	}
	return 0;
}

int state_root_open(const char *root, bool create, struct hk_err *err)
{
	return hk_open_trusted_dir("--root", root, create, 0700, err);
}

/* See state-int.h. */
int state_refused(struct hk_err *err)
{
	if (err)
		err->errnum = EPERM;
	return -1;
}

/* husk's uid as it was when the state dir was opened and checked (its
 * owner): list checks two files of each of its entries. Not cached for the
 * process: husk-launch moves into a user namespace of its own, where its
 * euid is another. */
static uid_t own_uid(const struct hk_state_dir *sd)
{
	return sd && sd->has_owner ? sd->owner : geteuid();
}

/* Only husk's user may change what husk acts on. */
static int check_owned(const struct stat *st, uid_t me, const char *path, struct hk_err *err)
{
	if (st->st_uid != me) {
		hk_fail(err, 0, "%s is owned by uid %u, not by husk's uid %u: refused", path,
			(unsigned)st->st_uid, (unsigned)me);
		return state_refused(err);
	}
	if (st->st_mode & 022) {
		hk_fail(err, 0, "%s is writable by others (mode %04o): refused", path,
			(unsigned)(st->st_mode & 07777));
		return state_refused(err);
	}
	return 0;
}

static int lock_dir(struct hk_state_dir *sd, bool exclusive, struct hk_err *err)
{
	struct stat st;

	if (flock(sd->fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		return hk_fail(err, errno, "lock container %s", sd->id);
	/* Removed by a `delete` we waited for? Then it no longer exists. */
	if (fstat(sd->fd, &st) < 0 || st.st_nlink == 0)
		return hk_fail(err, ENOENT, "container %s does not exist", sd->id);
	return 0;
}

int state_dir_create(const char *root, const char *id, struct hk_state_dir *sd, struct hk_err *err)
{
	sd->fd = -1;
	sd->has_owner = sd->has_state = false;
	sd->id = xstrdup(id);
	sd->path = xasprintf("%s/%s", root, id);
	sd->rootfd = state_root_open(root, true, err);
	if (sd->rootfd < 0)
		return -1;
	if (mkdirat(sd->rootfd, id, 0711) < 0)
		return errno == EEXIST ? hk_fail(err, 0, "container %s already exists", id)
				       : hk_fail(err, errno, "create state dir %s", sd->path);
	sd->fd = openat(sd->rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (sd->fd < 0)
		return hk_fail(err, errno, "open state dir %s", sd->path);
	return lock_dir(sd, true, err);
}

/* <root>/<id> failed to open: say what is there instead of a directory. */
static int open_failed(int rootfd, struct hk_state_dir *sd, int e, struct hk_err *err)
{
	struct stat st;

	if (e == ENOENT)
		return hk_fail(err, ENOENT, "container %s does not exist", sd->id);
	if ((e == ELOOP || e == ENOTDIR) &&
	    fstatat(rootfd, sd->id, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		hk_fail(err, 0, "state dir %s is %s: refused", sd->path,
			S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
		return state_refused(err);
	}
	return hk_fail(err, e, "open state dir %s", sd->path);
}

static int open_in_root(int rootfd, const char *root, struct hk_state_dir *sd, const char *id,
			int lock, struct hk_err *err)
{
	struct stat st;

	sd->id = xstrdup(id);
	sd->path = xasprintf("%s/%s", root, id);
	sd->fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (sd->fd < 0)
		return open_failed(rootfd, sd, errno, err);
	if (fstat(sd->fd, &st) < 0)
		return hk_fail(err, errno, "stat state dir %s", sd->path);
	if (check_owned(&st, geteuid(), sd->path, err) < 0)
		return -1;
	sd->has_owner = true;
	sd->owner = st.st_uid;
	sd->has_state = true;
	return lock < 0 ? 0 : lock_dir(sd, lock, err);
}

int state_dir_open(const char *root, const char *id, bool exclusive, struct hk_state_dir *sd,
		   struct hk_err *err)
{
	sd->fd = -1;
	sd->id = NULL;
	sd->path = NULL;
	struct hk_err rerr = {0};
	sd->rootfd = state_root_open(root, false, &rerr);
	if (sd->rootfd < 0 && rerr.errnum == ENOENT)
		return hk_fail(err, ENOENT, "container %s does not exist", id);
	if (sd->rootfd < 0) {
		if (err)
			*err = rerr;
		return -1;
	}
	return open_in_root(sd->rootfd, root, sd, id, exclusive ? 1 : 0, err);
}

int state_dir_peek(int rootfd, const char *root, const char *id, struct hk_state_dir *sd,
		   struct hk_err *err)
{
	sd->fd = -1;
	sd->rootfd = -1; /* the caller's: not closed, not used for removal */
	return open_in_root(rootfd, root, sd, id, -1, err);
}

void state_dir_close(struct hk_state_dir *sd)
{
	if (sd->fd >= 0)
		close(sd->fd);
	if (sd->rootfd >= 0)
		close(sd->rootfd);
	free(sd->id);
	free(sd->path);
	sd->fd = sd->rootfd = -1;
	sd->id = sd->path = NULL;
}

/* Empty the directory dirfd; subdirectories (notify/) go too, depth-limited
 * since husk makes only one level. */
static int empty_dir(int dirfd, const char *what, int depth, struct hk_err *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int r = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return hk_fail(err, errno, "read %s", what);
	}
	while (r == 0 && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR || depth == 0) {
			r = hk_fail(err, errno, "remove %s/%s", what, e->d_name);
			break;
		}
		int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || empty_dir(sub, e->d_name, depth - 1, err) < 0 ||
		    unlinkat(dirfd, e->d_name, AT_REMOVEDIR) < 0)
			r = err && err->msg[0]
				    ? -1
				    : hk_fail(err, errno, "remove %s/%s", what, e->d_name);
		if (sub >= 0)
			close(sub);
	}
	closedir(d);
	return r;
}

/* What a create, even one killed half-way, may leave in a state dir. */
static bool state_file_name(const char *name)
{
	static const char *const names[] = {"state.json", "config.json", "exec.fifo", "notify"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	/* hk_write_atomic's temp files: ".NAME.<random>" */
	return strncmp(name, ".state.json.", 12) == 0 || strncmp(name, ".config.json.", 13) == 0;
}

bool state_dir_foreign(struct hk_state_dir *sd, struct hk_err *err)
{
	int fd = openat(sd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	bool foreign = false;

	if (!d) {
		if (fd >= 0)
			close(fd);
		hk_fail(err, errno, "read %s", sd->path);
		return true;
	}
	while (!foreign && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    !state_file_name(e->d_name)) {
			foreign = true;
			hk_fail(err, 0,
				"%s is not a container's state directory (it holds \"%s\"): left "
				"as "
				"it is",
				sd->path, e->d_name);
		}
	closedir(d);
	return foreign;
}

int state_dir_remove(struct hk_state_dir *sd, struct hk_err *err)
{
	if (empty_dir(sd->fd, sd->id, 1, err) < 0)
		return -1;
	if (unlinkat(sd->rootfd, sd->id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return hk_fail(err, errno, "remove state dir of %s", sd->id);
	return 0;
}

/* Flat name, inode pairs (as cgroup.dirs, for the same reason); NULL
 * before create has recorded any. */
static hk_json *ns_to_json(const unsigned long long ns[HK_NS_COUNT])
{
	hk_json *a = NULL;

	for (int t = 0; t < HK_NS_COUNT; t++) {
		if (!ns[t])
			continue;
		if (!a)
			a = hk_json_new_arr();
		hk_json_append(a, hk_json_new_str(spec_ns_name((enum hk_ns_type)t)));
		hk_json_append(a, hk_json_new_u64(ns[t]));
	}
	return a;
}

static int read_namespaces(hk_json *j, struct hk_state *st, struct hk_err *err)
{
	hk_json *a;
	size_t n = 0;
	int r = hk_json_get_arr(j, "state", "namespaces", &a, &n, err);

	for (size_t i = 0; r > 0 && i + 1 < n; i += 2) {
		_cleanup_free_ char *name = NULL;
		int64_t ino;
		if (hk_json_as_str(hk_json_at(a, i), "state.namespaces", &name, err) < 0 ||
		    hk_json_as_i64(hk_json_at(a, i + 1), "state.namespaces", 1, INT64_MAX, &ino,
				   err) < 0)
			return -1;
		for (int t = 0; t < HK_NS_COUNT; t++)
			if (strcmp(name, spec_ns_name((enum hk_ns_type)t)) == 0)
				st->ns[t] = (unsigned long long)ino;
	}
	return r < 0 ? -1 : 0;
}

static hk_json *state_to_json(const struct hk_state *st)
{
	hk_json *j = hk_json_new_obj();
	hk_json_set_str(j, "id", st->id);
	hk_json_set_str(j, "status", state_status_name(st->status));
	hk_json_set_int(j, "pid", st->pid);
	hk_json_set_int(j, "start_time", (int64_t)st->start_time);
	hk_json_set_int(j, "exe_dev", (int64_t)st->exe_dev);
	hk_json_set_int(j, "exe_ino", (int64_t)st->exe_ino);
	if (st->no_new_keyring)
		hk_json_set_bool(j, "no_new_keyring", true);
	if (st->keyring)
		hk_json_set_str(j, "keyring", st->keyring);
	hk_json_set_str(j, "bundle", st->bundle ? st->bundle : "");
	hk_json_set_str(j, "rootfs", st->rootfs ? st->rootfs : "");
	hk_json_set_str(j, "created", st->created ? st->created : "");
	hk_json *ann = hk_json_new_obj();
	for (size_t i = 0; i < st->n_annotations; i++)
		hk_json_set_str(ann, st->annotations[i].key, st->annotations[i].value);
	hk_json_set(j, "annotations", ann);
	if (st->poststart.n || st->poststop.n) {
		hk_json *hooks = hk_json_new_obj();
		hk_json_set(hooks, "poststart", spec_hook_list_json(&st->poststart));
		hk_json_set(hooks, "poststop", spec_hook_list_json(&st->poststop));
		hk_json_set(j, "hooks", hooks);
	}
	hk_json *ns = ns_to_json(st->ns);
	if (ns)
		hk_json_set(j, "namespaces", ns);
	if (st->cgroup) {
		hk_json *cg = hk_json_new_obj();
		hk_json *dirs = hk_json_new_arr();
		hk_json_set_int(cg, "version", st->cgroup->version);
		if (st->cgroup->unit) {
			hk_json_set_str(cg, "manager", cg_manager_name(st->cgroup));
			hk_json_set_str(cg, "unit", st->cgroup->unit);
			hk_json_set_str(cg, "slice", st->cgroup->slice);
			if (st->cgroup->unit_ino)
				hk_json_set_int(cg, "unit_ino", (int64_t)st->cgroup->unit_ino);
		}
		/* Flat name, dir pairs: JSON objects cost json-c a hash table
		 * each, and list reads every state file. */
		for (size_t i = 0; i < st->cgroup->n_dirs; i++) {
			hk_json_append(dirs, hk_json_new_str(st->cgroup->dirs[i].name));
			hk_json_append(dirs, hk_json_new_str(st->cgroup->dirs[i].dir));
		}
		hk_json_set(cg, "dirs", dirs);
		hk_json *shared = hk_json_new_arr();
		for (size_t i = 0; i < st->cgroup->n_dirs; i++)
			if (st->cgroup->dirs[i].shared)
				hk_json_append(shared, hk_json_new_int(i));
		hk_json_set(cg, "shared", shared);
		hk_json_set(j, "cgroup", cg);
	}
	return j;
}

/* What state_read takes: more than any config husk reads (16 MiB) can
 * put in a state (its annotations, the largest part, are copied as they
 * were written). A state it could not read back would be a container
 * nobody can reach: not written. */
#define STATE_MAX (32 << 20)

int state_write(struct hk_state_dir *sd, const struct hk_state *st, struct hk_err *err)
{
	hk_json *j = state_to_json(st);
	_cleanup_free_ char *text = hk_json_dump(j, 0);
	hk_json_put(j);
	size_t len = strlen(text);
	if (len > STATE_MAX)
		return hk_fail(err, EFBIG,
			       "state.json would be %zu bytes, more than husk reads back (%d): "
			       "annotations too large",
			       len, STATE_MAX);
	/* A new state dir's first write renames: nothing to exchange yet. */
	int r = sd->has_state ? hk_rewrite_atomic(sd->fd, "state.json", text, len, err)
			      : hk_write_atomic(sd->fd, "state.json", text, len, err);
	if (r == 0)
		sd->has_state = true;
	return r;
}

static int read_cgroup(hk_json *j, struct hk_state *st, struct hk_err *err)
{
	hk_json *cg, *dirs;
	int64_t version;
	size_t n;
	char p[64];

	if (hk_json_get_obj(j, "state", "cgroup", &cg, err) <= 0)
		return 0;
	if (hk_json_get_i64(cg, "state.cgroup", "version", 1, 2, &version, err) < 0 ||
	    hk_json_get_arr(cg, "state.cgroup", "dirs", &dirs, &n, err) < 0)
		return -1;
	_cleanup_free_ char *manager = NULL;
	if (hk_json_get_str(cg, "state.cgroup", "manager", &manager, err) < 0)
		return -1;
	st->cgroup = cg_new((int)version, manager);
	if (manager && strcmp(manager, "systemd") == 0 &&
	    (hk_json_get_str(cg, "state.cgroup", "unit", &st->cgroup->unit, err) <= 0 ||
	     hk_json_get_str(cg, "state.cgroup", "slice", &st->cgroup->slice, err) <= 0))
		return hk_fail(err, 0, "state.cgroup: a systemd cgroup without its unit");
	int64_t ino = 0;
	if (st->cgroup->unit &&
	    hk_json_get_i64(cg, "state.cgroup", "unit_ino", 0, INT64_MAX, &ino, err) < 0)
		return -1;
	st->cgroup->unit_ino = (uint64_t)ino;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *name = NULL, *dir = NULL;
		hk_json *d = hk_json_at(dirs, i);
		snprintf(p, sizeof(p), "state.cgroup.dirs[%zu]", i);
		if (hk_json_as_obj(d, p, NULL) > 0) {
			/* husk 0.1's form: {"name": ..., "dir": ...} */
			if (hk_json_get_str(d, p, "name", &name, err) <= 0 ||
			    hk_json_get_str(d, p, "dir", &dir, err) <= 0)
				return hk_fail(err, 0, "%s: malformed", p);
		} else if (i + 1 >= n || hk_json_as_str(d, p, &name, err) < 0 ||
			   hk_json_as_str(hk_json_at(dirs, ++i), p, &dir, err) < 0) {
			return hk_fail(err, 0, "%s: malformed", p);
		}
		cg_add_dir(st->cgroup, name, dir);
	}
	hk_json *shared;
	size_t ns = 0;
	if (hk_json_get_arr(cg, "state.cgroup", "shared", &shared, &ns, err) < 0)
		return -1;
	for (size_t i = 0; i < ns; i++) {
		int64_t k;
		if (hk_json_as_i64(hk_json_at(shared, i), "state.cgroup.shared", 0,
				   (int64_t)st->cgroup->n_dirs - 1, &k, err) < 0)
			return -1;
		st->cgroup->dirs[k].shared = true;
	}
	cg_unit_check(st->cgroup);
	return 0;
}

static int read_fields(hk_json *j, struct hk_state *st, struct hk_err *err)
{
	_cleanup_free_ char *status = NULL;
	int64_t pid = 0, start = 0, exe_dev = 0, exe_ino = 0;

	if (hk_json_get_str(j, "state", "id", &st->id, err) <= 0 ||
	    hk_json_get_str(j, "state", "status", &status, err) <= 0 ||
	    hk_json_get_i64(j, "state", "pid", 0, INT32_MAX, &pid, err) < 0 ||
	    hk_json_get_i64(j, "state", "start_time", 0, INT64_MAX, &start, err) < 0 ||
	    hk_json_get_i64(j, "state", "exe_dev", 0, INT64_MAX, &exe_dev, err) < 0 ||
	    hk_json_get_i64(j, "state", "exe_ino", 0, INT64_MAX, &exe_ino, err) < 0 ||
	    hk_json_get_bool(j, "state", "no_new_keyring", &st->no_new_keyring, err) < 0 ||
	    hk_json_get_str(j, "state", "keyring", &st->keyring, err) < 0 ||
	    hk_json_get_str(j, "state", "bundle", &st->bundle, err) < 0 ||
	    hk_json_get_str(j, "state", "rootfs", &st->rootfs, err) < 0 ||
	    hk_json_get_str(j, "state", "created", &st->created, err) < 0)
		return hk_fail(err, 0, "state.json: malformed");
	st->pid = (pid_t)pid;
	st->start_time = (unsigned long long)start;
	st->exe_dev = (unsigned long long)exe_dev;
	st->exe_ino = (unsigned long long)exe_ino;
	st->status = HK_STOPPED;
	for (int s = 0; s <= HK_STOPPED; s++)
		if (strcmp(status, status_names[s]) == 0)
			st->status = (enum hk_status)s;
	if (hk_json_get_kv(j, "state", "annotations", &st->annotations, &st->n_annotations, err) <
	    0)
		return -1;
	hk_json *hooks;
	if (hk_json_get_obj(j, "state", "hooks", &hooks, err) > 0 &&
	    (spec_decode_hook_list(hooks, "state.hooks", HK_HOOK_POSTSTART, &st->poststart, err) <
		     0 ||
	     spec_decode_hook_list(hooks, "state.hooks", HK_HOOK_POSTSTOP, &st->poststop, err) < 0))
		return -1;
	if (read_namespaces(j, st, err) < 0)
		return -1;
	return read_cgroup(j, st, err);
}

/* A file of the state dir, as husk wrote it: a regular file, not a link,
 * that no one but husk's user can have written. */
static int open_state_file(struct hk_state_dir *sd, const char *name, struct stat *out,
			   struct hk_err *err)
{
	struct stat st;
	char path[PATH_MAX];
	int fd = openat(sd->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	snprintf(path, sizeof(path), "%s/%s", sd->path, name);
	if (fd < 0 && errno == ELOOP) {
		hk_fail(err, 0, "%s is a symbolic link: refused", path);
		return state_refused(err);
	}
	if (fd < 0)
		return hk_fail(err, errno, "open %s", path);
	int r = fstat(fd, &st) < 0 ? hk_fail(err, errno, "stat %s", path) : 0;
	if (r == 0 && !S_ISREG(st.st_mode)) {
		hk_fail(err, 0, "%s is not a regular file: refused", path);
		r = state_refused(err);
	}
	if (r < 0 || check_owned(&st, own_uid(sd), path, err) < 0) {
		close(fd);
		return -1;
	}
	if (out)
		*out = st;
	return fd;
}

int state_write_config(struct hk_state_dir *sd, const struct hk_spec *spec, struct hk_err *err)
{
	if (!spec->text)
		return 0;
	return hk_write_atomic_mode(sd->fd, "config.json", spec->text, spec->text_len, 0600, err);
}

struct hk_spec *state_load_config(struct hk_state_dir *sd, const struct hk_state *st,
				  struct hk_err *err)
{
	size_t len;

	if (!st->bundle) {
		hk_fail(err, 0, "state of %s: no bundle", st->id);
		return NULL;
	}
	_cleanup_close_ int fd = open_state_file(sd, "config.json", NULL, err);

	/* A container an older husk made has no copy: its bundle's, then. */
	if (fd < 0 && err->errnum == ENOENT) {
		hk_err_clear(err);
		return spec_load(st->bundle, err);
	}
	if (fd < 0)
		return NULL;
	_cleanup_free_ char *text = hk_read_fd(fd, "config.json", 16 << 20, &len, err);
	if (!text)
		return NULL;
	return spec_parse(text, len, st->bundle, err);
}

struct hk_state *state_read(struct hk_state_dir *sd, struct hk_err *err)
{
	size_t len;
	struct stat sst;
	_cleanup_close_ int fd = open_state_file(sd, "state.json", &sst, err);
	if (fd < 0)
		return NULL;
	_cleanup_free_ char *text = hk_read_fd_stat(fd, "state.json", STATE_MAX, &sst, &len, err);

	if (!text)
		return NULL;
	hk_json *j = hk_json_parse(text, len, "state.json", err);
	if (!j)
		return NULL;
	struct hk_state *st = xzalloc(sizeof(*st));
	int r = read_fields(j, st, err);
	hk_json_put(j);
	/* A state dir copied under another name (by husk's own uid: others'
	 * are refused above) is not that container: list showed the id
	 * inside, which `state` of it did not find (outside attack, round 17,
	 * F2). runc names a container by its directory. */
	if (r == 0 && sd->id && strcmp(st->id, sd->id) != 0) {
		hk_fail(err, 0, "%s/state.json is the state of container %s, not of %s: refused",
			sd->path, st->id, sd->id);
		r = state_refused(err);
	}
	if (r < 0) {
		state_free(st);
		return NULL;
	}
	return st;
}

void state_free(struct hk_state *st)
{
	if (!st)
		return;
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->keyring);
	for (size_t i = 0; i < st->n_annotations; i++) {
		free(st->annotations[i].key);
		free(st->annotations[i].value);
	}
	free(st->annotations);
	cg_free(st->cgroup);
	spec_hook_list_clear(&st->poststart);
	spec_hook_list_clear(&st->poststop);
	free(st);
}

int state_open_fifo(const struct hk_state_dir *sd, struct hk_err *err)
{
	struct stat st;
	char path[PATH_MAX];
	int fd = openat(sd->fd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);

	snprintf(path, sizeof(path), "%s/exec.fifo", sd->path);
	if (fd < 0 && errno == ELOOP) {
		hk_fail(err, 0, "%s is a symbolic link, not a fifo: refused", path);
		return state_refused(err);
	}
	if (fd < 0)
		return hk_fail(err, errno, "open %s", path);
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = hk_fail(err, errno, "stat %s", path);
	else if (!S_ISFIFO(st.st_mode))
		r = hk_fail(err, 0, "%s is not a fifo: refused", path);
	else if (st.st_uid != own_uid(sd))
		r = hk_fail(err, 0, "%s is owned by uid %u: refused", path, (unsigned)st.st_uid);
	if (r < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int state_write_pid_file(const char *path, pid_t pid, struct hk_err *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : path;
	char buf[24];

	if (!*name)
		return hk_fail(err, 0, "--pid-file %s: names a directory, not a file", path);
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return hk_fail(err, errno, "--pid-file %s: open its directory", path);
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (hk_write_atomic(dfd, name, buf, strlen(buf), err) < 0)
		return hk_err_prefix(err, "--pid-file %s", path);
	return 0;
}

int state_with(const char *root, const char *id, bool exclusive, state_with_fn fn, void *data,
	       struct hk_err *err)
{
	struct hk_state_dir sd;
	struct hk_state *st = NULL;
	int r = -1;

	if (state_validate_id(id, err) < 0)
		return -1;
	if (state_dir_open(root, id, exclusive, &sd, err) == 0) {
		st = state_read(&sd, err);
		if (st)
			r = fn(&sd, st, data, err);
	}
	state_free(st);
	state_dir_close(&sd);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list_ids(int rootfd, char ***ids, size_t *n, struct hk_err *err)
{
	int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t count = 0;

	*ids = NULL;
	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return hk_fail(err, errno, "read the state root");
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		*ids = xrealloc(*ids, (count + 1) * sizeof(char *));
		(*ids)[count++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (count > 1)
		qsort(*ids, count, sizeof(char *), cmp_str);
	*n = count;
	return 0;
}
