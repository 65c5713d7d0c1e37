/* The registry's HTTP side (registry.h): one libcurl easy handle per
 * request, redirects followed (http and https only, 5 at most; curl sends
 * no credentials to another host), a transfer slower than 1 KiB/s for
 * 60 s given up, and a small request (ping, token, manifest, config) not
 * answered whole within img_patience() seconds. A body is never taken
 * beyond what the caller allows: small documents are bounded by max,
 * blobs by their descriptor's size. */
#include "registry/registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "image/image.h"
#include "image/ref.h"
#include "spec/json.h"

#define TOKEN_MAX (1 << 20)
#define ERRBODY_MAX 4096

struct xfer {
	CURL *curl;
	char *buf; /* a document, or the start of an error body */
	size_t len, max;
	bool too_big;
	int fd; /* a blob: where it goes (-1: into buf) */
	int64_t left;
	int64_t *progress;
	bool fd_failed, err_cut;
	bool cert_asked; /* the server asked for a client certificate we had not */
	int fd_errno;
	char *www_auth, *ctype; /* of the last response */
};

static void xfer_clear(struct xfer *x)
{
	if (x->curl)
		curl_easy_cleanup(x->curl);
	free(x->buf);
	free(x->www_auth);
	free(x->ctype);
	*x = (struct xfer){.fd = -1};
}

static bool ok_status(struct xfer *x)
{
	long code = 0;
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	return code == 200;
}

static size_t keep(struct xfer *x, const char *p, size_t n, size_t max)
{
	if (x->len + n > max) {
		x->too_big = true;
		return 0; /* curl stops: CURLE_WRITE_ERROR */
	}
	x->buf = xrealloc(x->buf, x->len + n + 1);
	memcpy(x->buf + x->len, p, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;

	if (!ok_status(x)) { /* an error's body: its start, for the message */
		if (x->len + n > ERRBODY_MAX) {
			x->err_cut = true;
			return 0;
		}
		return keep(x, p, n, ERRBODY_MAX);
	}
	if (x->fd < 0)
		return keep(x, p, n, x->max);
	if ((int64_t)n > x->left) {
		x->too_big = true;
		n = (size_t)x->left;
	}
	if (n && hk_write_all(x->fd, p, n) < 0) {
		x->fd_failed = true;
		x->fd_errno = errno;
		return 0;
	}
	x->left -= (int64_t)n;
	if (x->progress)
		__atomic_fetch_add(x->progress, (int64_t)n, __ATOMIC_RELAXED);
	return x->too_big ? 0 : size * nmemb;
}

static char *header_value(const char *p, size_t n, const char *name)
{
	size_t len = strlen(name);

	if (n <= len || strncasecmp(p, name, len) != 0 || p[len] != ':')
		return NULL;
	p += len + 1;
	n -= len + 1;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	char *v = xzalloc(n + 1);
	memcpy(v, p, n);
	return v;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;
	char *v;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (redirects) */
		free(x->www_auth);
		free(x->ctype);
		x->www_auth = x->ctype = NULL;
	} else if ((v = header_value(p, n, "WWW-Authenticate"))) {
		free(x->www_auth);
		x->www_auth = v;
	} else if ((v = header_value(p, n, "Content-Type"))) {
		free(x->ctype);
		x->ctype = v;
	}
	return n;
}

static struct curl_slist *add_header(struct curl_slist *h, const char *line)
{
	struct curl_slist *n = curl_slist_append(h, line);
	if (!n) {
		fprintf(stderr, "husk: out of memory\n");
		abort();
	}
	return n;
}

/* The CA certificates found (with the system's), and a client's pair. */
static void set_tls(CURL *e, const struct reg_tls *t)
{
	struct curl_blob cas = {.data = t->cas, .len = t->cas_len, .flags = CURL_BLOB_NOCOPY};
	struct curl_blob cert = {.data = t->cert, .len = t->cert_len, .flags = CURL_BLOB_NOCOPY};
	struct curl_blob key = {.data = t->key, .len = t->key_len, .flags = CURL_BLOB_NOCOPY};

	if (t->cas)
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &cas);
	if (t->cert && t->key) {
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
}

/* OpenSSL asks this when the server wants a client certificate and the
 * connection has none (it is not asked when one was given): none is
 * sent, and the failure that follows says why (a TLS 1.3 server's alert
 * may be lost to the reset that follows it). */
static int on_cert_request(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct xfer *x = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	(void)x509;
	(void)pkey;
	if (x)
		x->cert_asked = true;
	return 0;
}

static CURLcode on_ssl_ctx(CURL *e, void *ctx, void *data)
{
	(void)e;
	SSL_CTX_set_app_data((SSL_CTX *)ctx, data);
	SSL_CTX_set_client_cert_cb((SSL_CTX *)ctx, on_cert_request);
	return CURLE_OK;
}

/* Why a TLS connection failed, when it was for a client certificate. */
static const char *client_cert_hint(const struct reg_client *c, const char *ebuf)
{
	if (c->tls && c->tls->cert &&
	    (strstr(ebuf, "alert bad certificate") || strstr(ebuf, "alert unknown ca") ||
	     strstr(ebuf, "alert certificate")))
		return " (the registry refused the client certificate)";
	return "";
}

/* What a request carries: nothing (the ping), the registry's auth (the
 * token, or Basic), or the credentials alone (to the token realm). */
enum auth { AUTH_NONE, AUTH_API, AUTH_TOKEN };

/* GET url into x (its fd or buf); *code the last response's status. */
static int perform(struct reg_client *c, const char *url, const char *accept, enum auth auth,
		   struct xfer *x, long *code, struct hk_err *err)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;

	/* credentials (Basic, a token) over plain http: only when asked for
	 * (--tls-verify=false); on the loopback without TLS, any local user
	 * may be the one listening on the port */
	bool creds = auth != AUTH_NONE && c->user; /* or a token got with them */
	if (creds && c->o->tls_verify && strncmp(url, "http://", 7) == 0)
		return hk_fail(
			err, 0,
			"GET %s: credentials go over plain http only with --tls-verify=false "
			"(on the loopback, any local user may be the one listening)",
			url);
	x->curl = curl_easy_init();
	if (!x->curl)
		return hk_fail(err, ENOMEM, "curl_easy_init");
	CURL *e = x->curl;
	if (accept) {
		_cleanup_free_ char *line = xasprintf("Accept: %s", accept);
		h = add_header(h, line);
	}
	if (auth == AUTH_API) {
		pthread_mutex_lock(&c->lock);
		if (c->bearer)
			h = add_header(h, c->bearer);
		pthread_mutex_unlock(&c->lock);
	}
	if ((auth == AUTH_API && c->basic) || (auth == AUTH_TOKEN && c->user)) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->pass);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	/* the loopback is never reached through a proxy (Go's rule, which
	 * docker and podman follow): plain http is allowed there only because
	 * it does not leave the machine */
	curl_easy_setopt(e, CURLOPT_NOPROXY, c->noproxy);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "husk/" HUSK_VERSION);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	if (x->fd < 0) /* a trickle must not hold a pull (and its layer locks) forever */
		curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->patience);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->o->tls_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->o->tls_verify ? 2L : 0L);
	set_tls(e, c->tls);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	CURLcode rc = curl_easy_perform(e);
	if (x->fd < 0) { /* blobs run in threads of their own: only the pull's thread */
		c->last_curl = (int)rc;
		c->last_cert_asked = x->cert_asked;
	}
	curl_slist_free_all(h);
	*code = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, code);
	if (rc == CURLE_OK || x->err_cut)
		return 0;
	if (x->too_big && x->fd < 0)
		return hk_fail(err, 0, "GET %s: more than %zu bytes", url, x->max);
	if (x->fd_failed)
		return hk_fail(err, x->fd_errno, "GET %s: writing it", url);
	if (rc == CURLE_WRITE_ERROR && x->too_big)
		return hk_fail(err, 0, "GET %s: longer than its descriptor's size", url);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return hk_fail(
			err, 0,
			x->fd < 0 ? "GET %s: not answered whole within %d s (HUSK_PULL_TIMEOUT)"
				  : "GET %s: slower than 1 KiB/s for a minute",
			url, c->patience);
	if (x->cert_asked) /* its own words are a reset's, or an alert's */
		return hk_fail(
			err, 0,
			"GET %s: the registry asks for a client certificate and there is none "
			"(--cert-dir, or a certs.d directory)",
			url);
	return hk_fail(err, 0, "GET %s: %s%s", url, *ebuf ? ebuf : curl_easy_strerror(rc),
		       client_cert_hint(c, ebuf));
}

/* "HTTP 404" and the registry's own words ({"errors":[{"message": ...}]}) */
static int status_error(const char *url, long code, const struct xfer *x, struct hk_err *err)
{
	const char *msg = NULL;
	struct hk_err perr = {0}; /* a body that is no JSON: just the status */
	json_object *root = x->buf ? hk_json_parse(x->buf, x->len, "error", &perr) : NULL, *errs,
		    *e0, *m;

	if (root && json_object_object_get_ex(root, "errors", &errs) &&
	    json_object_is_type(errs, json_type_array) && json_object_array_length(errs) > 0 &&
	    (e0 = json_object_array_get_idx(errs, 0)) &&
	    json_object_object_get_ex(e0, "message", &m) &&
	    json_object_is_type(m, json_type_string))
		msg = json_object_get_string(m);
	int r = hk_fail(err, 0, "GET %s: HTTP %ld%s%s%s", url, code, msg ? " (" : "",
			msg ? msg : "", msg ? ")" : "");
	if (root)
		json_object_put(root);
	return r;
}

static char *api_url(struct reg_client *c, const char *kind, const char *what)
{
	return xasprintf("%s/v2/%s/%s/%s", c->base, c->ref->path, kind, what);
}

static int fetch_token(struct reg_client *c, const char *challenge, struct hk_err *err);

/* The last answer came from the registry itself, not from where a
 * redirect led (a CDN, a mirror's upstream): only its challenges name a
 * realm the credentials may go to. */
static bool from_registry(struct reg_client *c, struct xfer *x)
{
	char *eff = NULL;
	size_t len = strlen(c->base);

	curl_easy_getinfo(x->curl, CURLINFO_EFFECTIVE_URL, &eff);
	bool ours = eff && strncmp(eff, c->base, len) == 0 && eff[len] == '/';
	if (!ours)
		hk_debug("registry: a 401 from %s, where a redirect led: no new token for it",
			 eff ? eff : "?");
	return ours;
}

/* A request of the API, and once more with a new token when the registry
 * answers 401 with a Bearer challenge (the token expired, or it wants
 * another scope); one renewal for all the threads that met the 401. */
static int perform_api(struct reg_client *c, const char *url, const char *accept, struct xfer *x,
		       long *code, struct hk_err *err)
{
	pthread_mutex_lock(&c->lock);
	unsigned gen = c->token_gen;
	bool bearer = c->bearer != NULL;
	pthread_mutex_unlock(&c->lock);

	int r = perform(c, url, accept, AUTH_API, x, code, err);
	if (r < 0 || *code != 401 || !bearer || !x->www_auth ||
	    strncasecmp(x->www_auth, "Bearer ", 7) != 0 || !from_registry(c, x))
		return r;
	_cleanup_free_ char *challenge = xstrdup(x->www_auth);
	pthread_mutex_lock(&c->lock);
	if (c->token_gen == gen)
		r = fetch_token(c, challenge, err);
	pthread_mutex_unlock(&c->lock);
	if (r < 0)
		return -1;
	struct xfer again = {.fd = x->fd, .left = x->left, .max = x->max, .progress = x->progress};
	xfer_clear(x);
	*x = again;
	return perform(c, url, accept, AUTH_API, x, code, err);
}

char *reg_get(struct reg_client *c, const char *kind, const char *what, const char *accept,
	      size_t max, size_t *len, char **ctype, struct hk_err *err)
{
	struct xfer x = {.fd = -1, .max = max};
	_cleanup_free_ char *url = api_url(c, kind, what);
	long code;
	char *out = NULL;

	if (perform_api(c, url, accept, &x, &code, err) == 0) {
		if (code != 200)
			status_error(url, code, &x, err);
		else {
			out = x.buf ? x.buf : xstrdup("");
			*len = x.len;
			x.buf = NULL;
			if (ctype) {
				*ctype = x.ctype;
				x.ctype = NULL;
			}
		}
	}
	xfer_clear(&x);
	return out;
}

int reg_blob_to_fd(struct reg_client *c, const char *digest, int64_t size, int fd,
		   int64_t *progress, struct hk_err *err)
{
	struct xfer x = {.fd = fd, .left = size, .progress = progress};
	_cleanup_free_ char *url = api_url(c, "blobs", digest);
	long code;

	int r = perform_api(c, url, NULL, &x, &code, err);
	if (r == 0 && code != 200)
		r = status_error(url, code, &x, err);
	xfer_clear(&x);
	return r;
}

/* key="value" out of a WWW-Authenticate challenge (malloc'd, or NULL) */
static char *challenge_param(const char *ch, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = ch; (p = strcasestr(p, key)); p += klen) {
		if ((p != ch && p[-1] != ' ' && p[-1] != ',') || p[klen] != '=' ||
		    p[klen + 1] != '"')
			continue;
		const char *v = p + klen + 2, *end = strchr(v, '"');
		if (!end)
			return NULL;
		char *out = xzalloc((size_t)(end - v) + 1);
		memcpy(out, v, (size_t)(end - v));
		return out;
	}
	return NULL;
}

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out = xstrdup(e ? e : "");
	curl_free(e);
	return out;
}

/* A token goes into a header line: printable ASCII, no space (RFC 6750's
 * b64token is narrower still), never a CR or LF that would end the line
 * and start a header of the token server's choosing. */
static bool token_ok(const char *t)
{
	if (!*t)
		return false;
	for (; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			return false;
	return true;
}

/* A Bearer token from the challenge's realm, for pulling ref's path
 * (c->lock held, or no other thread yet). */
static int fetch_token(struct reg_client *c, const char *challenge, struct hk_err *err)
{
	_cleanup_free_ char *realm = challenge_param(challenge, "realm");
	_cleanup_free_ char *service = challenge_param(challenge, "service");
	if (!realm || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0))
		return hk_fail(err, 0, "the registry's Bearer challenge names no http(s) realm");
	/* credentials go to the realm: never in clear from an https registry */
	if (c->user && strncmp(c->base, "https://", 8) == 0 && strncmp(realm, "http://", 7) == 0)
		return hk_fail(err, 0,
			       "the registry's token realm %s is plain http: the credentials are "
			       "not sent there",
			       realm);
	/* login asks for a token for no repository */
	_cleanup_free_ char *scope =
		c->ref->path ? xasprintf("repository:%s:pull", c->ref->path) : NULL;
	_cleanup_free_ char *escope = scope ? url_escape(scope) : NULL;
	_cleanup_free_ char *eservice = service ? url_escape(service) : NULL;
	_cleanup_free_ char *url = xasprintf("%s%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?",
					     escope ? "scope=" : "", escope ? escope : "",
					     eservice ? (escope ? "&service=" : "service=") : "",
					     eservice ? eservice : "");
	struct xfer x = {.fd = -1, .max = TOKEN_MAX};
	long code;
	int r = perform(c, url, "application/json", AUTH_TOKEN, &x, &code, err);
	if (r == 0 && code != 200)
		r = code == 401 || code == 403
			    ? hk_fail(err, 0, "the token server %s refused %s (HTTP %ld)", realm,
				      c->user ? "the credentials" : "an anonymous pull", code)
			    : status_error(url, code, &x, err);
	struct hk_err perr = {0};
	json_object *root = r == 0 && x.buf ? hk_json_parse(x.buf, x.len, "token", &perr) : NULL,
		    *t;
	if (r == 0 && !(root && ((json_object_object_get_ex(root, "token", &t) &&
				  json_object_is_type(t, json_type_string)) ||
				 (json_object_object_get_ex(root, "access_token", &t) &&
				  json_object_is_type(t, json_type_string)))))
		r = hk_fail(err, 0, "the token server %s answered no token", realm);
	if (r == 0 && !token_ok(json_object_get_string(t)))
		r = hk_fail(err, 0,
			    "the token server %s answered a token that is no header value "
			    "(control characters or spaces in it)",
			    realm);
	if (r == 0) {
		free(c->bearer);
		c->bearer = xasprintf("Authorization: Bearer %s", json_object_get_string(t));
		c->token_gen++;
	}
	if (root)
		json_object_put(root);
	xfer_clear(&x);
	return r;
}

/* GET /v2/: 0 with *code its status, *challenge its WWW-Authenticate */
static int ping(struct reg_client *c, bool auth, long *code, char **challenge, struct hk_err *err)
{
	struct xfer x = {.fd = -1, .max = ERRBODY_MAX};
	_cleanup_free_ char *url = xasprintf("%s/v2/", c->base);

	int r = perform(c, url, NULL, auth ? AUTH_API : AUTH_NONE, &x, code, err);
	if (r == 0 && challenge) {
		*challenge = x.www_auth;
		x.www_auth = NULL;
	}
	xfer_clear(&x);
	return r;
}

/* https; http only for a registry on the loopback or with
 * --tls-verify=false, when https does not answer (as docker does for its
 * insecure registries). */
static int ping_any(struct reg_client *c, long *code, char **challenge, struct hk_err *err)
{
	c->base = xasprintf("https://%s", img_ref_api_host(c->ref));
	if (ping(c, false, code, challenge, err) == 0)
		return 0;
	/* a certificate that does not verify is that, never a reason to
	 * talk without TLS; nor is a TLS server that asked for a client
	 * certificate (its 400 to plain http would hide why) */
	if ((c->o->tls_verify && !img_ref_loopback(c->ref)) ||
	    c->last_curl == CURLE_PEER_FAILED_VERIFICATION || c->last_cert_asked)
		return -1;
	free(c->base);
	c->base = xasprintf("http://%s", img_ref_api_host(c->ref));
	struct hk_err herr = {0};
	if (ping(c, false, code, challenge, &herr) == 0)
		return 0;
	return -1; /* the https error says more */
}

static int authenticate(struct reg_client *c, const char *challenge, struct hk_err *err)
{
	if (challenge && strncasecmp(challenge, "Bearer ", 7) == 0)
		return fetch_token(c, challenge, err);
	if (!challenge || strncasecmp(challenge, "Basic", 5) != 0)
		return hk_fail(err, 0,
			       "the registry answered 401 with no challenge husk knows (%s)",
			       challenge ? challenge : "none");
	if (!c->user)
		return hk_fail(err, 0,
			       "the registry wants credentials (HTTP 401) and there are none "
			       "for %s (--creds, --authfile, podman's or docker's auth file)",
			       c->ref->domain);
	c->basic = true;
	long code;
	if (ping(c, true, &code, NULL, err) < 0)
		return -1;
	if (code == 401)
		return hk_fail(err, 0, "the registry refused the credentials for %s (HTTP 401)",
			       c->ref->domain);
	return 0;
}

int reg_open(struct reg_client *c, const struct img_ref *ref, const struct reg_opts *o,
	     struct hk_err *err)
{
	*c = (struct reg_client){.ref = ref, .o = o};
	pthread_mutex_init(&c->lock, NULL);
	const char *np = getenv("no_proxy") ? getenv("no_proxy") : getenv("NO_PROXY");
	c->noproxy = xasprintf("%s%slocalhost,127.0.0.0/8,::1", np && *np ? np : "",
			       np && *np ? "," : "");
	if ((c->patience = img_patience(err)) < 0)
		return -1;
	if (reg_creds(ref, o, &c->user, &c->pass, err) < 0)
		return -1;
	c->tls = o->tls ? o->tls : &c->own_tls;
	if (!o->tls && reg_tls_load(ref->domain, o->cert_dir, &c->own_tls, err) < 0)
		return -1;
	long code;
	_cleanup_free_ char *challenge = NULL;
	if (ping_any(c, &code, &challenge, err) < 0)
		return hk_err_prefix(err, "registry %s", ref->domain);
	if (code == 401)
		return authenticate(c, challenge, err);
	if (code != 200)
		return hk_fail(err, 0, "registry %s: %s/v2/ answered HTTP %ld, not a registry?",
			       ref->domain, c->base, code);
	return 0;
}

void reg_close(struct reg_client *c)
{
	free(c->base);
	free(c->bearer);
	free(c->noproxy);
	reg_tls_clear(&c->own_tls);
	free(c->user);
	if (c->pass)
		explicit_bzero(c->pass, strlen(c->pass));
	free(c->pass);
	pthread_mutex_destroy(&c->lock);
	*c = (struct reg_client){0};
}
