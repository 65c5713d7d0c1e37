/* What husk derives from a validated spec (struct hk_derived): the spec
 * itself is never changed after spec_load. */
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "spec/spec.h"

void spec_derive(const struct hk_spec *s, const struct hk_process *p, struct hk_derived *d)
{
	size_t n = s ? s->n_mounts : 0;

	*d = (struct hk_derived){0};
	d->mounts = xcalloc(n + 1, sizeof(*d->mounts));
	if (n)
		memcpy(d->mounts, s->mounts, n * sizeof(*d->mounts));
	d->n_mounts = d->n_spec_mounts = n;
	d->env = hk_strv_dup(p->env, p->n_env);
	d->n_env = p->n_env;
}

struct hk_mount *spec_derived_add_mount(struct hk_derived *d)
{
	d->mounts = xrealloc(d->mounts, (d->n_mounts + 1) * sizeof(*d->mounts));
	struct hk_mount *m = &d->mounts[d->n_mounts++];
	memset(m, 0, sizeof(*m));
	return m;
}

void spec_derived_add_env(struct hk_derived *d, char *kv)
{
	d->env = xrealloc(d->env, (d->n_env + 2) * sizeof(char *));
	d->env[d->n_env++] = kv;
	d->env[d->n_env] = NULL;
}

const char *spec_derived_getenv(const struct hk_derived *d, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < d->n_env; i++)
		if (strncmp(d->env[i], name, len) == 0 && d->env[i][len] == '=')
			return d->env[i] + len + 1;
	return NULL;
}

void spec_derived_free(struct hk_derived *d)
{
	for (size_t i = d->n_spec_mounts; i < d->n_mounts; i++) {
		struct hk_mount *m = &d->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		hk_strv_free(m->options, m->n_options);
		spec_mount_opts_free(&m->opts);
	}
	free(d->mounts);
	hk_strv_free(d->env, d->n_env);
	*d = (struct hk_derived){0};
}
