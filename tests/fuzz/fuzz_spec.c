/* libFuzzer target: the config.json decoder (spec_parse) and the process
 * decoder of `exec --process` (spec_parse_process), both on every input.
 *
 * spec_parse stats root.path, so a bundle with a rootfs/ directory is made
 * once (mkdtemp under $TMPDIR or /tmp) and removed at exit; nothing else
 * here touches the file system.
 *
 * HK_FUZZ_CONTRACT=1 also aborts on a broken error contract: a NULL result
 * without a message, or a message that is not one line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "spec/spec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char bundle[4096];
static char rootfs[4200];
static int contract;

static void remove_bundle(void)
{
	rmdir(rootfs);
	rmdir(bundle);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(bundle, sizeof(bundle), "%s/husk-fuzz-spec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(bundle)) {
		perror("fuzz_spec: mkdtemp");
		abort();
	}
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
	if (mkdir(rootfs, 0755) < 0) {
		perror("fuzz_spec: mkdir rootfs");
		abort();
	}
	atexit(remove_bundle);
	contract = getenv("HK_FUZZ_CONTRACT") && strcmp(getenv("HK_FUZZ_CONTRACT"), "1") == 0;
	return 0;
}

static void check_err(const void *result, const struct hk_err *err, const char *what)
{
	if (!contract || result)
		return;
	if (!err->msg[0]) {
		fprintf(stderr, "fuzz_spec: %s failed without a message\n", what);
		abort();
	}
	if (strchr(err->msg, '\n')) {
		fprintf(stderr, "fuzz_spec: %s: message of more than one line: %s\n", what,
			err->msg);
		abort();
	}
}

/* What every decoded spec must hold, whatever the input. */
static void check_spec(const struct hk_spec *s)
{
	if (!s->root_path || s->root_path[0] != '/' || !s->process.args || s->process.n_args == 0 ||
	    !s->process.args[0][0] || !s->process.cwd || s->process.cwd[0] != '/')
		abort();
	/* without a mount namespace of its own nothing may be mounted or made
	 * (it would be in the host's mount table) */
	if (!spec_ns(s, HK_NS_MNT) && (s->n_mounts || s->n_masked_paths || s->n_readonly_paths ||
				       s->root_readonly || s->n_devices))
		abort();
	for (size_t i = 0; i < s->n_mounts; i++)
		if (s->mounts[i].destination[0] != '/')
			abort();
	for (size_t i = 0; i < s->n_devices; i++)
		/* anywhere in the container (config-linux.md), never "/" or "/dev" */
		if (s->devices[i].path[0] != '/' || strcmp(s->devices[i].path, "/") == 0 ||
		    strcmp(s->devices[i].path, "/dev") == 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hk_err err = {0};
	struct hk_spec *s = spec_parse((const char *)data, size, bundle, &err);

	check_err(s, &err, "spec_parse");
	if (s)
		check_spec(s);
	spec_free(s);

	memset(&err, 0, sizeof(err));
	struct hk_process *p = spec_parse_process((const char *)data, size, &err);
	check_err(p, &err, "spec_parse_process");
	if (p) {
		if (!p->args || p->n_args == 0 || !p->cwd)
			abort();
		spec_process_clear(p);
		free(p);
	}
	return 0;
}
