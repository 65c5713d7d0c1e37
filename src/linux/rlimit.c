#include "linux/rlimit.h"

#include <errno.h>
#include <sys/resource.h>

#include "common/err.h"
#include "spec/spec.h"

int rlimit_apply(const struct hk_process *p, struct hk_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct hk_rlimit *r = &p->rlimits[i];
		struct rlimit rl = {.rlim_cur = r->soft, .rlim_max = r->hard};
		if (setrlimit(r->resource, &rl) < 0)
			return hk_fail(
				err, errno, "process.rlimits[%zu]: set soft %llu hard %llu%s", i,
				(unsigned long long)r->soft, (unsigned long long)r->hard,
				errno == EPERM ? " (raising a hard limit needs CAP_SYS_RESOURCE)"
					       : "");
	}
	return 0;
}
