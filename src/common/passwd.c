#include "common/passwd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

int passwd_lookup(const char *path, uid_t uid, char **name, char **home)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[1024];

	if (name)
		*name = NULL;
	if (home)
		*home = NULL;
	for (int n = 0; f && n < 100000 && fgets(line, sizeof(line), f); n++) {
		char *save = NULL, *fields[7];
		int k = 0;
		line[strcspn(line, "\n")] = '\0';
		for (char *t = strtok_r(line, ":", &save); t && k < 7;
		     t = strtok_r(NULL, ":", &save))
			fields[k++] = t;
		char *end;
		if (k < 6 || strtoul(fields[2], &end, 10) != uid || *end)
			continue;
		if (name)
			*name = xstrdup(fields[0]);
		if (home && fields[5][0] == '/')
			*home = xstrdup(fields[5]);
		return 0;
	}
	return -1;
}
