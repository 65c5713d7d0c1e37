/* --net pasta, the user-mode network of rootless podman: see pasta.c. */
#ifndef HUSK_LAUNCH_PASTA_H
#define HUSK_LAUNCH_PASTA_H

#include <stdbool.h>
#include <stddef.h>

struct hk_err;

/* -p's [IPv4:]HOST:CTR[/tcp|udp] as pasta's -t / -u take it
 * ([IPv4/]HOST:CTR) in out; *udp for /udp. A port without its host port
 * is refused: pasta picks none. */
int launch_pasta_port(const char *spec, char *out, size_t size, bool *udp, struct hk_err *err);
/* A network namespace for the container whose directory is dir, and
 * pasta started on it, forwarding ports (-p values); returns the
 * namespace's fd. */
int launch_pasta_start(const char *dir, char **ports, size_t n_ports, struct hk_err *err);
/* Stop the pasta the hook started for the container whose directory is
 * dirfd (its pid in pasta.pid), if it still runs. */
void launch_pasta_stop(int dirfd);

#endif
