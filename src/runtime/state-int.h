/* Shared by state.c and state-process.c only. */
#ifndef HUSK_RUNTIME_STATE_INT_H
#define HUSK_RUNTIME_STATE_INT_H

#include "common/err.h"

/* A refusal (raised just before) carries EPERM, without its text: delete
 * --force removes a state it cannot read, but not one it refuses. */
int state_refused(struct hk_err *err);

#endif
