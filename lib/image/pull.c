/* Registry client: one curl easy handle per request, bodies streamed into the blob writer or a
 * bounded memory buffer, bearer tokens fetched on a 401 and reused for the rest of the pull (and
 * fetched again on a later 401: tokens expire, Docker Hub's after 300 s). */
#define _GNU_SOURCE
#include "image/pull.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "image/config.h"
#include "image/store.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX (4u << 20)
#define ACCEPT_MANIFESTS                                                                           \
	"Accept: application/vnd.oci.image.index.v1+json, "                                        \
	"application/vnd.docker.distribution.manifest.list.v2+json, "                              \
	"application/vnd.oci.image.manifest.v1+json, "                                             \
	"application/vnd.docker.distribution.manifest.v2+json"

struct pull {
	struct image_store *store;
	const struct image_pull_opts *opts;
	char base[600]; /* scheme://host/v2/repo */
	char host[256];
	char repo[256];
	char token[8192];
	char www_auth[1024]; /* last WWW-Authenticate header */
	char content_digest[IMAGE_DIGEST_MAX];
	char content_type[128];
	int status; /* of the response whose headers came last */
};

struct body {
	char *buf;
	size_t len;
	struct image_blob_writer *writer;
	struct sbx_err *err;
	int failed;
	struct pull *p;
	const char *what;
	uint64_t total;
};

int image_ref_split(const char *ref, char *host, size_t host_size, char *repo, size_t repo_size,
		    char *tag, size_t tag_size, struct sbx_err *err)
{
	const char *slash = strchr(ref, '/');
	if (!slash)
		return sbx_failx(err, EINVAL, "reference '%s' is not normalized", ref);
	const char *at = strchr(slash, '@');
	const char *colon = at ? NULL : strrchr(slash, ':');
	const char *end = at ? at : colon;
	if (!end)
		return sbx_failx(err, EINVAL, "reference '%s' has no tag or digest", ref);
	if ((size_t)(slash - ref) >= host_size || (size_t)(end - slash - 1) >= repo_size ||
	    strlen(end + 1) >= tag_size)
		return sbx_failx(err, ENAMETOOLONG, "reference '%s' too long", ref);
	memcpy(host, ref, (size_t)(slash - ref));
	host[slash - ref] = '\0';
	memcpy(repo, slash + 1, (size_t)(end - slash - 1));
	repo[end - slash - 1] = '\0';
	snprintf(tag, tag_size, "%s", end + 1);
	return 0;
}

/* Loopback registries speak plain HTTP, as docker's default insecure range does. */
static int plain_http(const char *host)
{
	return strncmp(host, "localhost", 9) == 0 || strncmp(host, "127.", 4) == 0 ||
	       strncmp(host, "[::1]", 5) == 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *opaque)
{
	struct pull *p = opaque;
	size_t len = size * n;
	char h[1100];
	size_t copy = len < sizeof(h) - 1 ? len : sizeof(h) - 1;
	memcpy(h, line, copy);
	h[copy] = '\0';
	h[strcspn(h, "\r\n")] = '\0';
	/* With redirects every response's headers pass here; the last status line is the one
	 * whose body follows. */
	if (strncmp(h, "HTTP/", 5) == 0 && strchr(h, ' '))
		p->status = (int)strtol(strchr(h, ' ') + 1, NULL, 10);
	else if (strncasecmp(h, "WWW-Authenticate:", 17) == 0)
		snprintf(p->www_auth, sizeof(p->www_auth), "%s", h + 17 + strspn(h + 17, " "));
	else if (strncasecmp(h, "Docker-Content-Digest:", 22) == 0)
		snprintf(p->content_digest, sizeof(p->content_digest), "%s",
			 h + 22 + strspn(h + 22, " "));
	else if (strncasecmp(h, "Content-Type:", 13) == 0)
		snprintf(p->content_type, sizeof(p->content_type), "%s",
			 h + 13 + strspn(h + 13, " "));
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *opaque)
{
	struct body *b = opaque;
	size_t len = size * n;
	/* An error page is no part of the blob: it must reach neither the file nor the progress
	 * line. */
	if (b->writer && b->p->status != 200)
		return len;
	if (b->writer) {
		if (image_blob_write(b->writer, data, len, b->err) < 0) {
			b->failed = 1;
			return 0;
		}
		if (b->p->opts && b->p->opts->progress)
			b->p->opts->progress(b->p->opts->opaque, b->what, b->writer->size,
					     b->total);
		return len;
	}
	if (b->len + len > MANIFEST_MAX) {
		b->failed = 1;
		return 0;
	}
	char *grown = realloc(b->buf, b->len + len + 1);
	if (!grown) {
		b->failed = 1;
		return 0;
	}
	b->buf = grown;
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

/* One GET; returns the HTTP status (>= 0) or -errno. */
static int http_get(struct pull *p, const char *url, const char *accept, struct body *b,
		    struct sbx_err *err)
{
	CURL *c = curl_easy_init();
	if (!c)
		return sbx_fail(err, ENOMEM, "curl handle");
	struct curl_slist *hdrs = NULL;
	if (accept)
		hdrs = curl_slist_append(hdrs, accept);
	char auth[8300];
	if (p->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	p->www_auth[0] = p->content_digest[0] = p->content_type[0] = '\0';
	p->status = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 (long)(p->opts && p->opts->timeout_s ? p->opts->timeout_s : 30));
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, p);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kata-lite-sbx/0.1");
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (b->failed && b->writer)
		return -(b->err && b->err->code ? b->err->code : EIO);
	if (b->failed)
		return sbx_failx(err, EFBIG, "%s: response larger than %u bytes", url,
				 MANIFEST_MAX);
	if (rc != CURLE_OK)
		return sbx_failx(err, EHOSTUNREACH, "registry %s unreachable: %s", p->host,
				 curl_easy_strerror(rc));
	return (int)status;
}

/* WWW-Authenticate: Bearer realm="...",service="...",scope="..." */
static void auth_param(const char *hdr, const char *key, char *out, size_t out_size)
{
	out[0] = '\0';
	char pat[32];
	snprintf(pat, sizeof(pat), "%s=\"", key);
	const char *s = strstr(hdr, pat);
	if (!s)
		return;
	s += strlen(pat);
	const char *e = strchr(s, '"');
	if (!e || (size_t)(e - s) >= out_size)
		return;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
}

/* The token goes into a header line: visible ASCII only, so it can't add headers of its own. */
static int token_chars_ok(const char *tok)
{
	for (const char *c = tok; *c; c++)
		if (*c <= ' ' || *c > '~')
			return 0;
	return 1;
}

static int fetch_token(struct pull *p, struct sbx_err *err)
{
	if (strncasecmp(p->www_auth, "Bearer ", 7) != 0)
		return sbx_failx(err, EACCES, "registry %s requires authentication (%s)", p->host,
				 p->www_auth[0] ? p->www_auth : "no challenge");
	char realm[512], service[256], scope[512];
	auth_param(p->www_auth, "realm", realm, sizeof(realm));
	auth_param(p->www_auth, "service", service, sizeof(service));
	auth_param(p->www_auth, "scope", scope, sizeof(scope));
	if (!realm[0])
		return sbx_failx(err, EACCES, "registry %s: bearer challenge without realm",
				 p->host);
	/* An expired token must not go to the token server, nor outlive a failed refresh. */
	p->token[0] = '\0';
	CURL *c = curl_easy_init();
	if (!c)
		return sbx_fail(err, ENOMEM, "curl handle");
	char *es = curl_easy_escape(c, service, 0), *esc = curl_easy_escape(c, scope, 0);
	curl_easy_cleanup(c);
	if (!es || !esc) {
		curl_free(es);
		curl_free(esc);
		return sbx_fail(err, ENOMEM, "token request");
	}
	/* The realm may carry its own query; empty parameters are left out (token spec). */
	char url[2048];
	const char *sep = strchr(realm, '?') ? "&" : "?";
	int n = snprintf(url, sizeof(url), "%s%s%s%s%s%s%s", realm, es[0] || esc[0] ? sep : "",
			 es[0] ? "service=" : "", es, es[0] && esc[0] ? "&" : "",
			 esc[0] ? "scope=" : "", esc);
	curl_free(es);
	curl_free(esc);
	if ((size_t)n >= sizeof(url))
		return sbx_failx(err, ENAMETOOLONG, "token request for %s too long", p->host);
	struct body b = {.err = err, .p = p};
	int st = http_get(p, url, NULL, &b, err);
	_cleanup_free_ char *text = b.buf;
	if (st < 0)
		return st;
	if (st != 200)
		return sbx_failx(err, EACCES, "token server %s answered %d", realm, st);
	json_t *j = json_loads(text ? text : "", 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (!tok)
		tok = json_string_value(json_object_get(j, "access_token"));
	int r = 0;
	if (!tok || !tok[0] || strlen(tok) >= sizeof(p->token) || !token_chars_ok(tok))
		r = sbx_failx(err, EACCES, "token server %s gave no usable token", realm);
	else
		snprintf(p->token, sizeof(p->token), "%s", tok);
	json_decref(j);
	return r;
}

/* GET with one retry after fetching a (fresh) token on 401: never two, so a token the registry
 * keeps refusing can't loop. A blob writer is still empty after the 401 (on_body keeps error
 * pages out of it), so the retry writes into it from the start. */
static int get_authed(struct pull *p, const char *url, const char *accept, struct body *b,
		      struct sbx_err *err)
{
	int st = http_get(p, url, accept, b, err);
	if (st == 401) {
		int r = fetch_token(p, err);
		if (r < 0)
			return r;
		free(b->buf);
		b->buf = NULL;
		b->len = 0;
		st = http_get(p, url, accept, b, err);
	}
	return st;
}

static int fetch_manifest(struct pull *p, const char *reference, char **ret,
			  char digest[IMAGE_DIGEST_MAX], struct sbx_err *err)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s/manifests/%s", p->base, reference);
	struct body b = {.err = err, .p = p};
	int st = get_authed(p, url, ACCEPT_MANIFESTS, &b, err);
	_cleanup_free_ char *text = b.buf;
	if (st < 0)
		return st;
	if (st == 404)
		return sbx_failx(err, ENOENT, "manifest for %s/%s:%s not found", p->host, p->repo,
				 reference);
	if (st == 401 || st == 403)
		return sbx_failx(err, EACCES, "registry %s denied access to %s (%d)", p->host,
				 p->repo, st);
	if (st != 200 || !text)
		return sbx_failx(err, EIO, "registry %s answered %d for the manifest of %s",
				 p->host, st, p->repo);
	/* Store it verified: against the digest we asked for, else the registry's header. */
	const char *expected = strncmp(reference, "sha256:", 7) == 0   ? reference
			       : image_digest_valid(p->content_digest) ? p->content_digest
								       : NULL;
	int r = image_blob_put_mem(p->store, text, b.len, expected, digest, err);
	if (r < 0)
		return sbx_wrap(err, "manifest of %s", p->repo);
	*ret = TAKE_PTR(text);
	return 0;
}

static int fetch_blob(struct pull *p, const char *digest, uint64_t size, struct sbx_err *err)
{
	if (!image_digest_valid(digest))
		return sbx_failx(err, EINVAL, "manifest names a malformed digest '%s'", digest);
	if (image_blob_exists(p->store, digest)) {
		if (p->opts && p->opts->progress)
			p->opts->progress(p->opts->opaque, digest, size, size);
		return 0;
	}
	char url[1024];
	snprintf(url, sizeof(url), "%s/blobs/%s", p->base, digest);
	struct image_blob_writer w;
	int r = image_blob_begin(p->store, &w, err);
	if (r < 0)
		return r;
	struct body b = {.writer = &w, .err = err, .p = p, .what = digest, .total = size};
	int st = get_authed(p, url, NULL, &b, err);
	if (st != 200) {
		image_blob_abort(&w);
		if (st < 0)
			return st;
		return sbx_failx(err, st == 401 || st == 403 ? EACCES : EIO,
				 "registry %s answered %d for blob %s", p->host, st, digest);
	}
	r = image_blob_commit(&w, digest, NULL, err);
	return r < 0 ? sbx_wrap(err, "blob from %s", p->host) : 0;
}

int image_pull(struct image_store *s, const char *ref, const struct image_pull_opts *opts,
	       char ret_digest[IMAGE_DIGEST_MAX], struct sbx_err *err)
{
	static struct image_pull_opts none;
	struct pull *p = calloc(1, sizeof(*p));
	if (!p)
		return sbx_fail(err, ENOMEM, "pull state");
	p->store = s;
	p->opts = opts ? opts : &none;
	char *text = NULL;
	char tag[160];
	int r = image_ref_split(ref, p->host, sizeof(p->host), p->repo, sizeof(p->repo), tag,
				sizeof(tag), err);
	if (r < 0)
		goto out;
	/* Docker Hub's API lives on a different host than its name. */
	const char *api = strcmp(p->host, "docker.io") == 0 ? "registry-1.docker.io" : p->host;
	snprintf(p->base, sizeof(p->base), "%s://%s/v2/%s", plain_http(p->host) ? "http" : "https",
		 api, p->repo);

	char digest[IMAGE_DIGEST_MAX];
	r = fetch_manifest(p, tag, &text, digest, err);
	if (r < 0)
		goto out;
	json_t *m = json_loads(text, 0, NULL);
	if (!m) {
		r = sbx_failx(err, EINVAL, "manifest of %s is not JSON", ref);
		goto out;
	}
	const char *mt = json_string_value(json_object_get(m, "mediaType"));
	if ((mt && (strstr(mt, "manifest.list") || strstr(mt, "image.index"))) ||
	    (!json_object_get(m, "config") && json_object_get(m, "manifests"))) {
		char chosen[IMAGE_DIGEST_MAX];
		r = image_index_pick_amd64(m, chosen, err);
		json_decref(m);
		if (r < 0)
			goto out;
		free(text);
		text = NULL;
		r = fetch_manifest(p, chosen, &text, digest, err);
		if (r < 0)
			goto out;
		m = json_loads(text, 0, NULL);
		if (!m) {
			r = sbx_failx(err, EINVAL, "manifest %s is not JSON", chosen);
			goto out;
		}
	}
	json_t *cfg = json_object_get(m, "config");
	r = fetch_blob(p, json_string_value(json_object_get(cfg, "digest")) ?: "",
		       (uint64_t)json_integer_value(json_object_get(cfg, "size")), err);
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(m, "layers"), i, l)
	{
		if (r < 0)
			break;
		r = fetch_blob(p, json_string_value(json_object_get(l, "digest")) ?: "",
			       (uint64_t)json_integer_value(json_object_get(l, "size")), err);
	}
	json_decref(m);
	if (r < 0)
		goto out;
	r = image_ref_set(s, ref, digest, err);
	if (r == 0 && ret_digest)
		memcpy(ret_digest, digest, IMAGE_DIGEST_MAX);
out:
	free(text);
	free(p);
	return r;
}
