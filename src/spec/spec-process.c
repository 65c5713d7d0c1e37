/* config.json "process": args, env, cwd, user, capabilities, rlimits; how it
 * is scheduled is spec-sched.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "spec/decode.h"

static int decode_user(hk_json *proc, struct hk_process *p, struct hk_err *err)
{
	hk_json *u, *arr;
	int64_t v;
	size_t n;
	char ep[64];
	int r;

	r = hk_json_get_obj(proc, "process", "user", &u, err);
	if (r <= 0)
		return r;
	if (hk_json_get_i64(u, "process.user", "uid", 0, UINT32_MAX - 1, &v, err) < 0)
		return -1;
	p->uid = (uid_t)(hk_json_has(u, "uid") ? v : 0);
	if (hk_json_get_i64(u, "process.user", "gid", 0, UINT32_MAX - 1, &v, err) < 0)
		return -1;
	p->gid = (gid_t)(hk_json_has(u, "gid") ? v : 0);
	r = hk_json_get_i64(u, "process.user", "umask", 0, 07777, &v, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		p->has_umask = true;
		p->umask = (mode_t)v;
	}
	if (spec_unsupported(u, "process.user", "username", err) < 0)
		return -1;
	r = hk_json_get_arr(u, "process.user", "additionalGids", &arr, &n, err);
	if (r <= 0)
		return r;
	p->additional_gids = xcalloc(n, sizeof(gid_t));
	for (size_t i = 0; i < n; i++) {
		snprintf(ep, sizeof(ep), "process.user.additionalGids[%zu]", i);
		if (hk_json_as_i64(hk_json_at(arr, i), ep, 0, UINT32_MAX - 1, &v, err) < 0)
			return -1;
		p->additional_gids[i] = (gid_t)v;
	}
	p->n_additional_gids = n;
	return 0;
}

static int decode_capset(hk_json *caps, const char *set, uint64_t *mask, struct hk_err *err)
{
	_cleanup_free_ char **names = NULL;
	size_t n = 0;
	int r = hk_json_get_strv(caps, "process.capabilities", set, &names, &n, err);
	if (r <= 0)
		return r;
	r = 0;
	for (size_t i = 0; i < n; i++) {
		int cap = spec_cap_from_name(names[i]);
		if (cap < 0 && r == 0)
			r = hk_fail(err, 0,
				    "process.capabilities.%s[%zu]: unknown capability \"%s\"", set,
				    i, names[i]);
		if (cap >= 0)
			*mask |= 1ULL << cap;
		free(names[i]);
	}
	return r;
}

static int decode_caps(hk_json *proc, struct hk_caps *c, struct hk_err *err)
{
	hk_json *caps;
	int r = hk_json_get_obj(proc, "process", "capabilities", &caps, err);
	if (r <= 0)
		return r;
	c->present = true;
	if (decode_capset(caps, "bounding", &c->bounding, err) < 0 ||
	    decode_capset(caps, "effective", &c->effective, err) < 0 ||
	    decode_capset(caps, "inheritable", &c->inheritable, err) < 0 ||
	    decode_capset(caps, "permitted", &c->permitted, err) < 0 ||
	    decode_capset(caps, "ambient", &c->ambient, err) < 0)
		return -1;
	return 0;
}

static int decode_rlimit(hk_json *v, const char *path, void *array, size_t i, void *ctx,
			 struct hk_err *err)
{
	struct hk_rlimit *rl = (struct hk_rlimit *)array + i;
	_cleanup_free_ char *type = NULL;
	(void)ctx;
	int r = hk_json_get_str(v, path, "type", &type, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "%s.type: missing", path);
	rl->resource = spec_rlimit_from_name(type);
	if (rl->resource < 0)
		return hk_fail(err, 0, "%s.type: unknown rlimit \"%s\"", path, type);
	if (hk_json_get_u64(v, path, "soft", &rl->soft, err) < 0 ||
	    hk_json_get_u64(v, path, "hard", &rl->hard, err) < 0)
		return -1;
	if (!hk_json_has(v, "soft") || !hk_json_has(v, "hard"))
		return hk_fail(err, 0, "%s: soft and hard are required", path);
	if (rl->soft > rl->hard)
		return hk_fail(err, 0, "%s: soft limit %llu above hard limit %llu", path,
			       (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	for (size_t k = 0; k < i; k++)
		if (((struct hk_rlimit *)array)[k].resource == rl->resource)
			return hk_fail(err, 0, "%s.type: duplicate rlimit", path);
	return 0;
}

static int decode_rlimits(hk_json *proc, struct hk_process *p, struct hk_err *err)
{
	return spec_decode_array(proc, "process", "rlimits", sizeof(*p->rlimits), decode_rlimit,
				 NULL, &p->rlimits, &p->n_rlimits, err);
}

static int decode_args_env_cwd(hk_json *proc, struct hk_process *p, struct hk_err *err)
{
	int r = hk_json_get_strv(proc, "process", "args", &p->args, &p->n_args, err);
	if (r < 0)
		return -1;
	if (r == 0 || p->n_args == 0)
		return hk_fail(err, 0, "process.args: must name a program");
	/* runc's words (Docker reads them: exit code 127). */
	if (!p->args[0][0])
		return hk_fail(err, 0,
			       "process.args[0]: exec: \"\": executable file not found in $PATH");
	if (hk_json_get_strv(proc, "process", "env", &p->env, &p->n_env, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_env; i++)
		if (!strchr(p->env[i], '=') || p->env[i][0] == '=')
			return hk_fail(err, 0, "process.env[%zu]: \"%s\" is not NAME=VALUE", i,
				       p->env[i]);
	r = hk_json_get_str(proc, "process", "cwd", &p->cwd, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "process.cwd: missing");
	if (p->cwd[0] != '/')
		return hk_fail(err, 0, "process.cwd: \"%s\" is not an absolute path", p->cwd);
	return 0;
}

static int decode_console_size(hk_json *proc, struct hk_process *p, struct hk_err *err)
{
	hk_json *cs;
	int64_t h = 0, w = 0;

	int r = hk_json_get_obj(proc, "process", "consoleSize", &cs, err);
	if (r <= 0)
		return r;
	if (hk_json_get_i64(cs, "process.consoleSize", "height", 0, UINT16_MAX, &h, err) < 0 ||
	    hk_json_get_i64(cs, "process.consoleSize", "width", 0, UINT16_MAX, &w, err) < 0)
		return -1;
	p->has_console_size = true;
	p->console_height = (unsigned short)h;
	p->console_width = (unsigned short)w;
	return 0;
}

/* An LSM label: an empty string means none. */
static int decode_label(hk_json *proc, const char *key, char **out, struct hk_err *err)
{
	if (hk_json_get_str(proc, "process", key, out, err) < 0)
		return -1;
	if (*out && !**out) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

int spec_decode_process(hk_json *root, struct hk_spec *s, struct hk_err *err)
{
	struct hk_process *p = &s->process;
	hk_json *proc;
	int64_t v = 0;

	int r = hk_json_get_obj(root, "", "process", &proc, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return hk_fail(err, 0, "process: missing");
	if (hk_json_get_bool(proc, "process", "terminal", &p->terminal, err) < 0)
		return -1;
	if (decode_console_size(proc, p, err) < 0)
		return -1;
	if (decode_args_env_cwd(proc, p, err) < 0 || decode_user(proc, p, err) < 0 ||
	    decode_caps(proc, &p->caps, err) < 0 || decode_rlimits(proc, p, err) < 0)
		return -1;
	if (hk_json_get_bool(proc, "process", "noNewPrivileges", &p->no_new_privileges, err) < 0)
		return -1;
	r = hk_json_get_i64(proc, "process", "oomScoreAdj", -1000, 1000, &v, err);
	if (r < 0)
		return -1;
	p->has_oom_score_adj = r > 0;
	p->oom_score_adj = (int)v;
	if (decode_label(proc, "apparmorProfile", &p->apparmor_profile, err) < 0 ||
	    decode_label(proc, "selinuxLabel", &p->selinux_label, err) < 0)
		return -1;
	if (spec_decode_sched(proc, p, err) < 0)
		return -1;
	/* Windows only (config.md): refused rather than ignored. */
	return spec_unsupported(proc, "process", "commandLine", err);
}
