/* A client of the OCI distribution API (v2) with libcurl: the /v2/ ping
 * and the auth it asks for (a Bearer token from the realm it names,
 * anonymous or with credentials; or Basic), manifests and blobs. In
 * husk-pull only: neither husk nor husk-launch links libcurl. */
#ifndef HUSK_REGISTRY_REGISTRY_H
#define HUSK_REGISTRY_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hk_err;
struct img_ref;

/* What a pull shows of its downloads (the command line draws it): layer()
 * when a layer's download starts, returning the counter the download adds
 * its bytes to (atomically, from its own thread); waiting() when it waits
 * for another pull of a layer. */
struct reg_progress {
	int64_t *(*layer)(void *data, const char *hex, int64_t size);
	/* another pull is fetching a layer: waited for, secs at most (may be NULL) */
	void (*waiting)(void *data, const char *hex, int secs);
	void *data;
};

/* A registry's TLS material (registry-tls.c): the CA certificates (PEM)
 * added to the system's, and a client certificate and its key. */
struct reg_tls {
	char *dir; /* where they were found; NULL: nowhere */
	char *cas, *cert, *key;
	size_t cas_len, cert_len, key_len;
};

/* From --cert-dir (cert_dir, taken as the caller names it) or else the
 * first of ~/.config/containers/certs.d/DOMAIN, /etc/containers/certs.d/
 * DOMAIN and /etc/docker/certs.d/DOMAIN there is (walked and checked as
 * trusted.h's hk_open_config_dir and _file): *.crt CA certificates,
 * NAME.cert and NAME.key a client's pair (the first by name is used; one
 * without the other is an error). 0 (nothing found: t empty), or -1
 * (err). */
int reg_tls_load(const char *domain, const char *cert_dir, struct reg_tls *t, struct hk_err *err);
void reg_tls_clear(struct reg_tls *t);

struct reg_opts {
	const char *authfile;      /* --authfile (else $REGISTRY_AUTH_FILE, podman's, docker's) */
	const char *creds;         /* --creds USER[:PASS] */
	const char *cert_dir;      /* --cert-dir (else the certs.d directories: reg_tls_load) */
	const struct reg_tls *tls; /* loaded already, or NULL: reg_open loads them */
	bool tls_verify;           /* --tls-verify (default true) */
	int64_t max_ratio;         /* --max-layer-ratio: IMG_RATIO_DEFAULT unless told */
	const struct reg_progress *progress; /* NULL: nothing shown */
};

struct reg_client {
	const struct img_ref *ref;
	const struct reg_opts *o;
	char *base;           /* "https://host:port" or "http://..." */
	pthread_mutex_t lock; /* of bearer: blob threads renew it too */
	char *bearer;         /* "Authorization: Bearer <token>" or NULL */
	unsigned token_gen;   /* how many tokens were fetched */
	char *user, *pass;
	bool basic;             /* send the credentials as Basic */
	struct reg_tls own_tls; /* loaded by reg_open */
	const struct reg_tls *tls;
	int last_curl;        /* the CURLcode of the last request */
	bool last_cert_asked; /* and whether its server asked for a client certificate */
	int patience;         /* img_patience(): whole answers to small requests, in s */
	char *noproxy;        /* $no_proxy and the loopback */
};

/* Credentials for ref's registry: --creds, else the first auth file that
 * has an entry for DOMAIN/PATH, DOMAIN (or docker.io's legacy key).
 * 0 with *user NULL when there are none; -1 (err) for an auth file that
 * was named and cannot be read, or an entry that cannot be decoded. */
int reg_creds(const struct img_ref *ref, const struct reg_opts *o, char **user, char **pass,
	      struct hk_err *err);

/* The auth file login writes and pulls read first: --authfile, else
 * $REGISTRY_AUTH_FILE (*named true for these two), else
 * ${XDG_RUNTIME_DIR}/containers/auth.json, else
 * /run/containers/<uid>/auth.json (podman's). malloc'd. */
char *reg_authfile(const struct reg_opts *o, bool *named);

/* The directory of an auth file, opened, *base the file's name in it. A
 * default one (podman's, docker's) is walked as the state root is
 * (common/trusted.h: root's or husk's user's all the way, ours at the
 * end; made 0700 with create): under sudo, $XDG_RUNTIME_DIR and $HOME may
 * still be another user's, who must not redirect root's credentials nor
 * feed it theirs. A named one is opened as given. -1 (err; ENOENT when a
 * directory is missing). */
int reg_authdir_open(const char *file, bool named, bool create, const char **base,
		     struct hk_err *err);
/* The auth file's text (at most max bytes): a regular file (never a fifo
 * or device that would hang or feed the read), and a default one ours,
 * not a link, writable by nobody else. NULL (err; ENOENT when missing). */
char *reg_authfile_read(const char *file, bool named, size_t max, size_t *len, struct hk_err *err);

/* husk login: check user and password against registry (host[:port]) as
 * it asks for them, then store them in reg_authfile (0600); logout:
 * remove the entry (all of them with registry NULL). */
int reg_login(const char *registry, const char *user, const char *pass, const struct reg_opts *o,
	      struct hk_err *err);
int reg_logout(const char *registry, const struct reg_opts *o, struct hk_err *err);

/* Ping the registry and authenticate as it asks: 0, or -1 (err). */
int reg_open(struct reg_client *c, const struct img_ref *ref, const struct reg_opts *o,
	     struct hk_err *err);
void reg_close(struct reg_client *c);

/* GET /v2/<path>/<kind>/<what> (kind "manifests" or "blobs") whole, at
 * most max bytes, NUL-terminated; *ctype its Content-Type (malloc'd, may
 * be NULL). A status other than 200 fails, naming it. */
char *reg_get(struct reg_client *c, const char *kind, const char *what, const char *accept,
	      size_t max, size_t *len, char **ctype, struct hk_err *err);
/* GET the blob digest into fd, redirects followed, never more than size
 * bytes written (the reader checks the digest); *progress (atomic, may be
 * NULL) counts them. */
int reg_blob_to_fd(struct reg_client *c, const char *digest, int64_t size, int fd,
		   int64_t *progress, struct hk_err *err);

/* The whole pull of ref (image as the user wrote it, resolved by
 * img_ref_parse_alias; errors name it): the manifest (through an index to
 * linux and this machine's architecture), the config, each layer the
 * cache lacks streamed into it, then the store's entry (image/store.h).
 * id: the config's digest (hex). */
int reg_pull(const char *image, const struct img_ref *ref, const char *cache_dir,
	     const struct reg_opts *o, char id[65], struct hk_err *err);

#endif
