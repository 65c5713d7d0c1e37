#include "common/procstat.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

int hk_proc_stat_parse(const char *text, struct hk_proc_stat *out)
{
	const char *p = strrchr(text, ')');

	*out = (struct hk_proc_stat){0};
	if (!p || p[1] != ' ' || !p[2])
		return -1;
	/* fields 3 (state) to 22 (starttime) */
	if (sscanf(p + 2,
		   "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		   "%*d %llu",
		   &out->state, &out->start_time) != 2)
		return -1;
	/* fields 48 and 49, on kernels that show them (3.5 and later) */
	for (int field = 3; p && field <= 48; field++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p, " %lu %lu", &out->arg_start, &out->arg_end) != 2)
		out->arg_start = out->arg_end = 0;
	return 0;
}

int hk_proc_stat_read(pid_t pid, struct hk_proc_stat *out)
{
	char path[64], buf[1024];

	*out = (struct hk_proc_stat){0};
	if (pid < 0)
		return -1;
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return hk_proc_stat_parse(buf, out);
}

unsigned long long hk_proc_start_time(pid_t pid)
{
	struct hk_proc_stat st;

	if (pid <= 0 || hk_proc_stat_read(pid, &st) < 0 || st.state == 'Z' || st.state == 'X')
		return 0;
	return st.start_time;
}
