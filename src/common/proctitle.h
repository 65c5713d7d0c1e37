/* What /proc/<pid>/cmdline shows of a process husk forks to live on (the
 * logger of launch -d, the --rm monitor): the arguments it was started
 * with stay there for anyone on the machine to read, and the operator's
 * `-e PASSWORD=...` with them (outside attack, second round: F4). main
 * remembers where its arguments are; a long-lived child writes a short
 * title over them. Strings that point into argv (getopt's optarg) must be
 * copied before. */
#ifndef HUSK_COMMON_PROCTITLE_H
#define HUSK_COMMON_PROCTITLE_H

void hk_proctitle_init(int argc, char **argv);
/* Overwrite the arguments with title (cut to their length), the rest
 * zeroed; a no-op before hk_proctitle_init. */
void hk_proctitle_set(const char *title);

#endif
