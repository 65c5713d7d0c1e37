/* husk's version, shared by husk and husk-init. */
#ifndef HUSK_COMMON_VERSION_H
#define HUSK_COMMON_VERSION_H

#define HUSK_VERSION "0.1.0"

#endif
