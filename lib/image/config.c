/* Image config parsing with jansson; every string copied, every shape checked. */
#include "image/config.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "image/store.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void image_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* A JSON array of strings -> NULL-terminated strv; NULL/null gives *ret = NULL. */
static int strv_from_json(const json_t *a, const char *field, char ***ret, struct sbx_err *err)
{
	*ret = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return sbx_failx(err, EINVAL, "image config: %s is not an array", field);
	size_t n = json_array_size(a);
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return sbx_fail(err, ENOMEM, "image config");
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		if (!s) {
			image_strv_free(v);
			return sbx_failx(err, EINVAL, "image config: %s[%zu] is not a string",
					 field, i);
		}
		v[i] = strdup(s);
		if (!v[i]) {
			image_strv_free(v);
			return sbx_fail(err, ENOMEM, "image config");
		}
	}
	*ret = v;
	return 0;
}

static int dup_opt(const json_t *s, char **ret)
{
	*ret = NULL;
	const char *v = json_string_value(s);
	if (!v || !*v)
		return 0;
	*ret = strdup(v);
	return *ret ? 0 : -ENOMEM;
}

void image_config_free(struct image_config *c)
{
	if (!c)
		return;
	image_strv_free(c->entrypoint);
	image_strv_free(c->cmd);
	image_strv_free(c->env);
	image_strv_free(c->layers);
	free(c->working_dir);
	free(c->user);
	memset(c, 0, sizeof(*c));
}

static json_t *load_blob_json(struct image_store *s, const char *digest, struct sbx_err *err)
{
	_cleanup_free_ char *text = NULL;
	if (image_blob_read(s, digest, &text, NULL, err) < 0)
		return NULL;
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (!j)
		sbx_failx(err, EINVAL, "blob %s is not JSON: %s", digest, jerr.text);
	return j;
}

int image_config_load(struct image_store *s, const char *manifest_digest, struct image_config *ret,
		      struct sbx_err *err)
{
	memset(ret, 0, sizeof(*ret));
	json_t *m = load_blob_json(s, manifest_digest, err);
	if (!m)
		return -(err && err->code ? err->code : EINVAL);
	int r = 0;
	const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	json_t *layers = json_object_get(m, "layers");
	if (!cd || !image_digest_valid(cd) || !json_is_array(layers)) {
		json_decref(m);
		return sbx_failx(err, EINVAL, "manifest %s has no valid config or layers",
				 manifest_digest);
	}
	snprintf(ret->config_digest, sizeof(ret->config_digest), "%s", cd);
	ret->layers = calloc(json_array_size(layers) + 1, sizeof(char *));
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
	{
		const char *d = json_string_value(json_object_get(l, "digest"));
		if (!ret->layers || !d || !image_digest_valid(d) || !(ret->layers[i] = strdup(d))) {
			r = sbx_failx(err, EINVAL, "manifest %s: layer %zu has no valid digest",
				      manifest_digest, i);
			break;
		}
	}
	json_decref(m);
	if (r < 0)
		goto fail;
	json_t *cfg = load_blob_json(s, ret->config_digest, err);
	if (!cfg) {
		r = -(err && err->code ? err->code : EINVAL);
		goto fail;
	}
	json_t *c = json_object_get(cfg, "config");
	if ((r = strv_from_json(json_object_get(c, "Entrypoint"), "Entrypoint", &ret->entrypoint,
				err)) < 0 ||
	    (r = strv_from_json(json_object_get(c, "Cmd"), "Cmd", &ret->cmd, err)) < 0 ||
	    (r = strv_from_json(json_object_get(c, "Env"), "Env", &ret->env, err)) < 0 ||
	    dup_opt(json_object_get(c, "WorkingDir"), &ret->working_dir) < 0 ||
	    dup_opt(json_object_get(c, "User"), &ret->user) < 0) {
		if (r == 0)
			r = sbx_fail(err, ENOMEM, "image config");
	}
	json_decref(cfg);
	if (r < 0)
		goto fail;
	return 0;
fail:
	image_config_free(ret);
	return r;
}

static size_t strv_len(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int image_process_args(const struct image_config *c, const char *entrypoint_flag, char **user_args,
		       size_t n_user_args, char ***ret, struct sbx_err *err)
{
	char *flag_ep[2] = {(char *)entrypoint_flag, NULL};
	char **ep = entrypoint_flag ? (entrypoint_flag[0] ? flag_ep : NULL) : c->entrypoint;
	char **rest = user_args;
	size_t n_rest = n_user_args;
	if (n_user_args == 0 && !entrypoint_flag) {
		rest = c->cmd;
		n_rest = strv_len(c->cmd);
	}
	size_t n_ep = strv_len(ep);
	if (n_ep + n_rest == 0)
		return sbx_failx(err, EINVAL,
				 "no command specified (the image has no Entrypoint or Cmd)");
	char **v = calloc(n_ep + n_rest + 1, sizeof(*v));
	if (!v)
		return sbx_fail(err, ENOMEM, "process args");
	size_t k = 0;
	for (size_t i = 0; i < n_ep; i++)
		if (!(v[k++] = strdup(ep[i])))
			goto nomem;
	for (size_t i = 0; i < n_rest; i++)
		if (!(v[k++] = strdup(rest[i])))
			goto nomem;
	*ret = v;
	return 0;
nomem:
	image_strv_free(v);
	return sbx_fail(err, ENOMEM, "process args");
}

/* Media types an index entry may give for the manifest we run; absent means the same. */
static int is_image_manifest_type(const char *mt)
{
	return !mt || !strcmp(mt, "application/vnd.oci.image.manifest.v1+json") ||
	       !strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json");
}

/* OCI image-spec image-index.md: "manifests" is an array of descriptors with an optional
 * "platform". Entries without one (attestations, "unknown/unknown") are skipped; a malformed
 * entry fails the whole index rather than being skipped in favour of a later one. */
int image_index_pick_amd64(const json_t *index, char out[72], struct sbx_err *err)
{
	json_t *list = json_object_get(index, "manifests");
	if (!json_is_array(list))
		return sbx_failx(err, EINVAL, "image index: manifests is not an array");
	char seen[160] = "";
	size_t i, n = 0;
	json_t *m;
	json_array_foreach(list, i, m)
	{
		json_t *pl = json_object_get(m, "platform");
		json_t *os_j = json_object_get(pl, "os"),
		       *arch_j = json_object_get(pl, "architecture");
		if (!json_is_object(m) || !json_is_string(json_object_get(m, "digest")) ||
		    (pl && !json_is_object(pl)) || (os_j && !json_is_string(os_j)) ||
		    (arch_j && !json_is_string(arch_j)))
			return sbx_failx(err, EINVAL, "image index: manifests[%zu] is malformed",
					 i);
		const char *os = json_string_value(os_j), *arch = json_string_value(arch_j);
		if (!os || !arch)
			continue;
		if (strcmp(os, "linux") != 0 || strcmp(arch, "amd64") != 0) {
			if (n < sizeof(seen))
				n += (size_t)snprintf(seen + n, sizeof(seen) - n, "%s%s/%s",
						      n ? ", " : "", os, arch);
			continue;
		}
		const char *d = json_string_value(json_object_get(m, "digest"));
		const char *mt = json_string_value(json_object_get(m, "mediaType"));
		if (!image_digest_valid(d))
			return sbx_failx(
			    err, EINVAL,
			    "image index: manifests[%zu] (linux/amd64): malformed digest '%.80s'",
			    i, d);
		if (!is_image_manifest_type(mt))
			return sbx_failx(
			    err, EINVAL,
			    "image index: manifests[%zu] (linux/amd64) is a %.80s, not an "
			    "image manifest",
			    i, mt);
		snprintf(out, 72, "%s", d);
		return 0;
	}
	return sbx_failx(err, ENOENT, "the image has no linux/amd64 variant (it has %s)",
			 seen[0] ? seen : "none");
}
