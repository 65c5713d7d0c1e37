/* husk's version, shared by husk and husk-init. */
#ifndef HUSK_COMMON_VERSION_H
#define HUSK_COMMON_VERSION_H

#define HUSK_VERSION "0.1.0"
/* The OCI runtime specification husk implements: `husk --version`, the
 * ociVersion of the state (runtime.md) and of what hooks are given. */
#define HK_OCI_VERSION "1.2.0"

#endif
