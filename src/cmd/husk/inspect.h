/* husk inspect's two outputs, one file each. */
#ifndef HUSK_CMD_HUSK_INSPECT_H
#define HUSK_CMD_HUSK_INSPECT_H

#include <stdint.h>

struct hk_inspect;

void cli_inspect_text(const struct hk_inspect *in);
void cli_inspect_json(const struct hk_inspect *in);
/* A capability's name, "CAP_<n>" past the names husk knows; static. */
const char *cli_cap_name(int cap, char buf[16]);
/* The seccomp mode of /proc/<pid>/status ("disabled", "strict", "filter"). */
const char *cli_seccomp_mode(uint64_t mode);

#endif
