/* config.json "hooks": path, args, env and timeout of each hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "spec/decode.h"

static const char *const kind_names[HK_HOOK_KINDS] = {
	[HK_HOOK_PRESTART] = "prestart",
	[HK_HOOK_CREATE_RUNTIME] = "createRuntime",
	[HK_HOOK_CREATE_CONTAINER] = "createContainer",
	[HK_HOOK_START_CONTAINER] = "startContainer",
	[HK_HOOK_POSTSTART] = "poststart",
	[HK_HOOK_POSTSTOP] = "poststop",
};

const char *spec_hook_kind_name(enum hk_hook_kind kind)
{
	return (unsigned)kind < HK_HOOK_KINDS ? kind_names[kind] : "?";
}

static int decode_hook(hk_json *v, const char *path, void *array, size_t i, void *ctx,
		       struct hk_err *err)
{
	struct hk_hook *h = (struct hk_hook *)array + i;
	int64_t timeout = 0;

	(void)ctx;
	int r = hk_json_get_str(v, path, "path", &h->path, err);
	if (r < 0)
		return -1;
	if (r == 0 || h->path[0] != '/')
		return hk_fail(err, 0, "%s.path: must be an absolute path", path);
	if (hk_json_get_strv(v, path, "args", &h->args, &h->n_args, err) < 0 ||
	    hk_json_get_strv(v, path, "env", &h->env, &h->n_env, err) < 0)
		return -1;
	for (size_t k = 0; k < h->n_env; k++)
		if (!strchr(h->env[k], '='))
			return hk_fail(err, 0, "%s.env[%zu]: \"%s\" is not NAME=VALUE", path, k,
				       h->env[k]);
	r = hk_json_get_i64(v, path, "timeout", 1, INT32_MAX, &timeout, err);
	if (r < 0)
		return -1;
	h->timeout = (int)timeout;
	return 0;
}

int spec_decode_hook_list(hk_json *hooks, const char *path, enum hk_hook_kind kind,
			  struct hk_hook_list *out, struct hk_err *err)
{
	return spec_decode_array(hooks, path, kind_names[kind], sizeof(struct hk_hook), decode_hook,
				 NULL, &out->v, &out->n, err);
}

int spec_decode_hooks(hk_json *root, struct hk_spec *s, struct hk_err *err)
{
	hk_json *hooks;
	int r = hk_json_get_obj(root, "", "hooks", &hooks, err);

	if (r <= 0)
		return r;
	for (int k = 0; k < HK_HOOK_KINDS; k++)
		if (spec_decode_hook_list(hooks, "hooks", (enum hk_hook_kind)k, &s->hooks[k], err) <
		    0)
			return -1;
	return 0;
}

void spec_hook_list_clear(struct hk_hook_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		hk_strv_free(l->v[i].args, l->v[i].n_args);
		hk_strv_free(l->v[i].env, l->v[i].n_env);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static hk_json *strv_json(char **v, size_t n)
{
	hk_json *a = hk_json_new_arr();
	for (size_t i = 0; i < n; i++)
		hk_json_append(a, hk_json_new_str(v[i]));
	return a;
}

hk_json *spec_hook_list_json(const struct hk_hook_list *l)
{
	hk_json *arr = hk_json_new_arr();
	for (size_t i = 0; i < l->n; i++) {
		const struct hk_hook *h = &l->v[i];
		hk_json *o = hk_json_new_obj();
		hk_json_set_str(o, "path", h->path);
		if (h->args)
			hk_json_set(o, "args", strv_json(h->args, h->n_args));
		if (h->env)
			hk_json_set(o, "env", strv_json(h->env, h->n_env));
		if (h->timeout)
			hk_json_set_int(o, "timeout", h->timeout);
		hk_json_append(arr, o);
	}
	return arr;
}
