/* What this husk supports, in the JSON of `runc features` (the OCI
 * runtime-spec features document). */
#ifndef HUSK_RUNTIME_FEATURES_H
#define HUSK_RUNTIME_FEATURES_H

/* Returns the document, pretty-printed; caller frees. */
char *features_json(const char *husk_version);

#endif
