/* /proc/<pid>/stat (proc(5)), parsed once for husk: the process's state,
 * its start time (what tells a pid reused since apart from the process it
 * was) and where its arguments are. */
#ifndef HUSK_COMMON_PROCSTAT_H
#define HUSK_COMMON_PROCSTAT_H

#include <sys/types.h>

struct hk_proc_stat {
	char state;                    /* field 3: R, S, D, Z, X, ... */
	unsigned long long start_time; /* field 22, in clock ticks after boot */
	unsigned long arg_start;       /* field 48 (0 when the line has none) */
	unsigned long arg_end;         /* field 49 */
};

/* One stat line. comm (field 2) may hold spaces and parentheses: fields
 * 3 on start after its last ')'. -1 when the line is malformed. */
int hk_proc_stat_parse(const char *text, struct hk_proc_stat *out);
/* /proc/<pid>/stat read and parsed (pid 0: /proc/self/stat); -1 when it
 * cannot be read (the process is gone) or is malformed. */
int hk_proc_stat_read(pid_t pid, struct hk_proc_stat *out);
/* The start time of a live process (field 22); 0 when pid is not a
 * process, is gone, or is a zombie or dead (state Z or X). */
unsigned long long hk_proc_start_time(pid_t pid);

#endif
