/* husk launch IMAGE (in husk-launch): a SOURCE that is no path names an
 * image in a registry. It is pulled, as --pull says, by husk-pull (the
 * only binary with libcurl) run as a child, into the image cache's store;
 * launch then opens the store's entry as any image layout. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/companions.h"
#include "cmd/husk-launch/pull.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "image/ref.h"
#include "image/store.h"
#include "launch/launch.h"
#include "launch/user.h"

static bool names_a_path(const char *source)
{
	struct stat st;

	if (strncmp(source, "docker://", 9) == 0)
		return false;
	return source[0] == '/' || strncmp(source, "./", 2) == 0 ||
	       strncmp(source, "../", 3) == 0 || lstat(source, &st) == 0;
}

static int run_pull(const struct hk_globals *g, const struct cli_pull_opts *p, const char *source,
		    const char *cache_dir)
{
	_cleanup_free_ char *path = cli_companion_path(PULL_BINARY);
	_cleanup_free_ char *tls =
		p->tls_verify ? xasprintf("--tls-verify=%s", p->tls_verify) : NULL;
	const char *args[24];
	size_t n = 0;

	if (!path)
		return cli_errorf("launch: readlink /proc/self/exe: %s", strerror(errno));
	args[n++] = path;
	if (g->debug)
		args[n++] = "--debug";
	args[n++] = "pull";
	args[n++] = "--cache-dir";
	args[n++] = cache_dir;
	if (p->authfile) {
		args[n++] = "--authfile";
		args[n++] = p->authfile;
	}
	if (p->creds) {
		args[n++] = "--creds";
		args[n++] = p->creds;
	}
	if (tls)
		args[n++] = tls;
	if (p->cert_dir) {
		args[n++] = "--cert-dir";
		args[n++] = p->cert_dir;
	}
	if (p->max_ratio) {
		args[n++] = "--max-layer-ratio";
		args[n++] = p->max_ratio;
	}
	args[n++] = "--";
	args[n++] = source;
	args[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return cli_errorf("launch: fork for %s: %s", PULL_BINARY, strerror(errno));
	if (pid == 0) {
		/* its id line is no output of the container's */
		dup2(2, 1);
		execv(path, (char **)(uintptr_t)args);
		fprintf(stderr, "husk: launch: cannot run %s (make builds it next to husk): %s\n",
			path, strerror(errno));
		_exit(125);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cli_errorf("launch: waitpid %s: %s", PULL_BINARY, strerror(errno));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int cli_launch_image(const struct hk_globals *g, const struct cli_pull_opts *p, const char *source,
		     const char *cache_dir, char **image)
{
	const char *policy = p->policy ? p->policy : "missing";
	struct img_ref ref;
	struct hk_err err = {0};

	*image = NULL;
	if (strcmp(policy, "always") != 0 && strcmp(policy, "missing") != 0 &&
	    strcmp(policy, "never") != 0) {
		cli_errorf("launch: --pull %s: expected always, missing or never", policy);
		return -1;
	}
	if (names_a_path(source))
		return 0;
	_cleanup_free_ char *dflt = NULL;
	if (!cache_dir) { /* launch's own default: root's, or the user's */
		dflt = launch_by_user() ? launch_user_default_dir(true, &err)
					: xstrdup(LAUNCH_CACHE_DIR);
		if (!dflt) {
			cli_error(&err);
			return -1;
		}
		cache_dir = dflt;
	}
	if (img_ref_parse(source, &ref, &err) < 0) {
		cli_errorf("launch: %s: neither a file nor an image reference (%s)", source,
			   err.msg);
		return -1;
	}
	img_ref_clear(&ref);
	if (img_ref_parse_alias(source, NULL, &ref, &err) < 0) { /* its registries.conf */
		cli_errorf("launch: %s: %s", source, err.msg);
		return -1;
	}
	bool have = img_store_complete(cache_dir, &ref);
	int r = 0;
	if (!have && strcmp(policy, "never") == 0) {
		_cleanup_free_ char *name = img_ref_string(&ref);
		cli_errorf("launch: image %s: not in the image cache %s (--pull never)", name,
			   cache_dir);
		r = -1;
	} else if (!have || strcmp(policy, "always") == 0)
		r = run_pull(g, p, source, cache_dir) < 0 ? -1 : 0;
	if (r == 0)
		*image = img_store_path(cache_dir, &ref);
	img_ref_clear(&ref);
	return r;
}
