#include "launch/layers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/trusted.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "image/prune.h"
#include "launch/newfile.h"

#define OWNER_FILE ".owner"
#define RECORD_MAX (1 << 20)

int launch_layers_record(const char *dir, const struct img_image *img, struct hk_err *err)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	size_t n = img ? img->n_layers : 0;
	_cleanup_free_ char *text = xmalloc(n * (IMG_HEX_LEN + 1) + 1);

	if (dfd < 0)
		return hk_fail(err, errno, "open %s", dir);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		memcpy(text + i * (IMG_HEX_LEN + 1), img->layers[i].hex, IMG_HEX_LEN);
		text[i * (IMG_HEX_LEN + 1) + IMG_HEX_LEN] = '\n';
		text[(i + 1) * (IMG_HEX_LEN + 1)] = '\0';
	}
	if (launch_new_file(dfd, LAYERS_FILE, text, err) < 0)
		return hk_err_prefix(err, "%s", dir);
	return 0;
}

/* One container directory's record; 0 as well for a directory that is no
 * container's (no .owner: .userns, .trash, a launch killed before it
 * wrote one, which never mounted anything). */
static int keep_dir(int datafd, const char *name, const char *data_dir, struct img_prune *pr,
		    struct hk_err *err)
{
	_cleanup_close_ int dfd =
		openat(datafd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (dfd < 0)
		return 0;
	if (fstatat(dfd, OWNER_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	_cleanup_free_ char *text = hk_read_fileat(dfd, LAYERS_FILE, RECORD_MAX, NULL, NULL);
	if (!text)
		return hk_fail(err, errno,
			       "%s/%s has no record of the layers it uses (a launch killed as it "
			       "started, or made by an older husk; `husk delete --force %s` it): "
			       "nothing removed",
			       data_dir, name, name);
	for (char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			return hk_fail(err, EINVAL, "%s/%s/%s: a line without its end", data_dir,
				       name, LAYERS_FILE);
		*nl = '\0';
		if (img_prune_keep(pr, line, err) < 0)
			return hk_err_prefix(err, "%s/%s/%s", data_dir, name, LAYERS_FILE);
	}
	return 0;
}

int launch_layers_keep(const char *data_dir, struct img_prune *pr, struct hk_err *err)
{
	struct hk_err probe = {0};
	int fd = hk_open_trusted_dir("--data-dir", data_dir, false, 0700, &probe);

	if (fd < 0) {
		if (probe.errnum == ENOENT)
			return 0; /* no launch ever: no container */
		*err = probe;
		return -1;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return hk_fail(err, errno, "--data-dir %s", data_dir);
	}
	struct dirent *e;
	int r = 0;
	while (r == 0 && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			r = keep_dir(dirfd(d), e->d_name, data_dir, pr, err);
	closedir(d);
	return r;
}
