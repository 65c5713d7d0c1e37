/* Image references as docker and podman write them: [DOMAIN/]PATH[:TAG][@DIGEST].
 * DOMAIN is the first component when it has a '.' or a ':' or is
 * "localhost"; otherwise docker.io, with "library/" before a single-component
 * PATH. No search of other registries for short names: "alpine" is
 * docker.io/library/alpine:latest and nothing else. */
#ifndef HUSK_IMAGE_REF_H
#define HUSK_IMAGE_REF_H

#include <stdbool.h>

struct hk_err;

struct img_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000" */
	char *path;   /* "library/alpine" */
	char *tag;    /* "latest" unless a digest alone was given; NULL then */
	char *digest; /* "sha256:<hex>" or NULL */
};

/* Parse s (an optional "docker://" prefix is dropped). -1 (err) when s is
 * no reference. */
int img_ref_parse(const char *s, struct img_ref *ref, struct hk_err *err);
void img_ref_clear(struct img_ref *ref);
/* "docker.io/library/alpine:3.20", "host:5000/a/b@sha256:..." (malloc'd). */
char *img_ref_string(const struct img_ref *ref);
/* DOMAIN/PATH alone (malloc'd). */
char *img_ref_name(const struct img_ref *ref);
/* The host (and port) its API is served at: docker.io's is
 * registry-1.docker.io. */
const char *img_ref_api_host(const struct img_ref *ref);
/* A domain on the loopback (localhost, 127.0.0.0/8, [::1]). */
bool img_ref_loopback(const struct img_ref *ref);

#endif

/* img_ref_parse after the short-name aliases of file (NULL:
 * $HUSK_REGISTRIES_CONF, else ~/.config/husk/registries.conf when it
 * exists, else /etc/husk/registries.conf; none there: no aliases; a file
 * named and missing is an error): the [aliases] table of a podman
 * registries.conf (ref-alias.c reads that much TOML). A reference without
 * a domain whose name (before its tag or digest) is an alias's is its
 * DOMAIN/PATH with the same tag or digest. The only aliases there are:
 * none is built in. */
int img_ref_parse_alias(const char *s, const char *file, struct img_ref *ref, struct hk_err *err);
