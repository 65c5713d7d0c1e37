#include "common/passwd.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

/* Split line at ':' into at most n fields, keeping empty ones (strtok would
 * merge them and shift every later field). Returns the count. */
static int split(char *line, char **fields, int n)
{
	int k = 0;

	fields[k++] = line;
	for (char *c = line; *c && k < n; c++) {
		if (*c == ':') {
			*c = '\0';
			fields[k++] = c + 1;
		}
	}
	return k;
}

/* The file may be the container's, hence anything: only a regular file is
 * read (a FIFO would block), opened without blocking. */
static FILE *open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "re");
	if (!f)
		close(fd);
	return f;
}

int passwd_lookup(const char *path, uid_t uid, char **name, char **home)
{
	_cleanup_fclose_ FILE *f = open_regular(path);
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (name)
		*name = NULL;
	if (home)
		*home = NULL;
	for (int n = 0; f && n < 100000 && (len = getline(&line, &cap, f)) > 0; n++) {
		char *fields[7], *end;
		if (len > 65536)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (split(line, fields, 7) < 6 || !fields[2][0])
			continue;
		unsigned long id = strtoul(fields[2], &end, 10);
		if (*end || id != uid)
			continue;
		if (name)
			*name = xstrdup(fields[0]);
		if (home && fields[5][0] == '/')
			*home = xstrdup(fields[5]);
		return 0;
	}
	return -1;
}
