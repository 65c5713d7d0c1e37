/* Usage figures for `events`: the parts both cgroup versions share. */
#include <stdlib.h>
#include <string.h>

#include "cgroup/backend.h"
#include "common/xalloc.h"

void cg_stats_add_raw(struct hk_cg_stats *st, const char *key, uint64_t value)
{
	st->mem_raw = xrealloc(st->mem_raw, (st->n_mem_raw + 1) * sizeof(*st->mem_raw));
	st->mem_raw[st->n_mem_raw].key = xstrdup(key);
	st->mem_raw[st->n_mem_raw++].value = value;
}

void cg_stats_add_io(struct hk_cg_blkio_entry **v, size_t *n, uint64_t major, uint64_t minor,
		     const char *op, uint64_t value)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = (struct hk_cg_blkio_entry){major, minor, op, value};
	(*n)++;
}

void cg_stats_clear(struct hk_cg_stats *st)
{
	free(st->percpu);
	free(st->percpu_kernel);
	free(st->percpu_user);
	for (size_t i = 0; i < st->n_mem_raw; i++)
		free(st->mem_raw[i].key);
	free(st->mem_raw);
	free(st->io_bytes);
	free(st->io_serviced);
	free(st->hugetlb);
	memset(st, 0, sizeof(*st));
}
