/* Archive loading: one pass stores every file as a blob, then the archive's manifest.json
 * (docker save) or index.json (OCI layout) says which images the blobs make up. */
#define _GNU_SOURCE
#include "image/load.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "image/config.h"
#include "image/store.h"
#include "rootfs-builder/layers.h"

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define LOAD_MAX_FILES 4096

struct loaded_file {
	char *path;
	char digest[IMAGE_DIGEST_MAX];
	uint64_t size;
};

struct load_ctx {
	struct image_store *store;
	struct loaded_file *files;
	size_t n;
};

static void load_ctx_free(struct load_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].path);
	free(c->files);
}

static const struct loaded_file *find_file(const struct load_ctx *c, const char *path)
{
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->files[i].path, path) == 0)
			return &c->files[i];
	return NULL;
}

static int store_entry(struct load_ctx *c, struct archive *a, const char *name, struct sbx_err *err)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (c->n >= LOAD_MAX_FILES)
		return sbx_failx(err, E2BIG, "archive has more than %d files", LOAD_MAX_FILES);
	/* blobs/sha256/<hex> is named by its digest: verify it. */
	char expected[IMAGE_DIGEST_MAX];
	const char *want = NULL;
	if (strncmp(name, "blobs/sha256/", 13) == 0) {
		snprintf(expected, sizeof(expected), "sha256:%s", name + 13);
		if (!image_digest_valid(expected))
			return sbx_failx(err, EINVAL, "archive entry '%s' is not named by a digest",
					 name);
		want = expected;
	}
	struct image_blob_writer w;
	int r = image_blob_begin(c->store, &w, err);
	if (r < 0)
		return r;
	const void *buf;
	size_t size;
	la_int64_t offset;
	int ar;
	while ((ar = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
		r = image_blob_write(&w, buf, size, err);
		if (r < 0) {
			image_blob_abort(&w);
			return r;
		}
	}
	if (ar != ARCHIVE_EOF) {
		image_blob_abort(&w);
		return sbx_failx(err, EIO, "archive entry '%s': %s", name, archive_error_string(a));
	}
	struct loaded_file *grown = realloc(c->files, (c->n + 1) * sizeof(*grown));
	if (!grown) {
		image_blob_abort(&w);
		return sbx_fail(err, ENOMEM, "archive index");
	}
	c->files = grown;
	struct loaded_file *f = &c->files[c->n];
	f->size = w.size;
	r = image_blob_commit(&w, want, f->digest, err);
	if (r < 0)
		return sbx_wrap(err, "archive entry '%s'", name);
	f->path = strdup(name);
	if (!f->path)
		return sbx_fail(err, ENOMEM, "archive index");
	c->n++;
	return 0;
}

/* 0 and *ret NULL when the archive has no such file. */
static int load_json_file(struct load_ctx *c, const char *path, json_t **ret, struct sbx_err *err)
{
	*ret = NULL;
	const struct loaded_file *f = find_file(c, path);
	if (!f)
		return 0;
	_cleanup_free_ char *text = NULL;
	int r = image_blob_read(c->store, f->digest, &text, NULL, err);
	if (r < 0)
		return sbx_wrap(err, "%s", path);
	json_error_t jerr;
	*ret = json_loads(text, 0, &jerr);
	if (!*ret)
		return sbx_failx(err, EINVAL, "%s: %s (line %d)", path, jerr.text, jerr.line);
	return 0;
}

/* Every blob the manifest names must be present. */
static int check_manifest(struct load_ctx *c, const char *digest, struct sbx_err *err)
{
	_cleanup_free_ char *text = NULL;
	int r = image_blob_read(c->store, digest, &text, NULL, err);
	if (r < 0)
		return sbx_wrap(err, "manifest");
	json_error_t jerr;
	json_t *m = json_loads(text, 0, &jerr);
	if (!m)
		return sbx_failx(err, EINVAL, "manifest %s: %s", digest, jerr.text);
	const char *cfg =
	    json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
	json_t *layers = json_object_get(m, "layers");
	r = 0;
	if (!cfg || !json_is_array(layers))
		r = sbx_failx(err, EINVAL, "manifest %s has no config or layers", digest);
	else if (!image_blob_exists(c->store, cfg))
		r = sbx_failx(err, ENOENT, "archive is missing the config blob %s", cfg);
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
	{
		const char *ld = json_string_value(json_object_get(l, "digest"));
		if (r == 0 && (!ld || !image_blob_exists(c->store, ld)))
			r = sbx_failx(err, ENOENT, "archive is missing the layer blob %s",
				      ld ? ld : "(none)");
	}
	json_decref(m);
	return r;
}

static int set_ref(struct load_ctx *c, const char *name, const char *digest, image_ref_cb on_ref,
		   void *opaque, struct sbx_err *err)
{
	char ref[512];
	int r = image_ref_normalize(name, ref, sizeof(ref), err);
	if (r < 0)
		return r;
	r = image_ref_set(c->store, ref, digest, err);
	if (r < 0)
		return r;
	return on_ref ? on_ref(opaque, ref, digest) : 0;
}

/* docker save: [{"Config": path, "RepoTags": [...], "Layers": [paths]}] -> OCI manifests. */
static int load_docker(struct load_ctx *c, json_t *top, image_ref_cb on_ref, void *opaque,
		       struct sbx_err *err)
{
	if (!json_is_array(top))
		return sbx_failx(err, EINVAL, "manifest.json: not an array");
	size_t i;
	json_t *img;
	json_array_foreach(top, i, img)
	{
		const char *cfg_path = json_string_value(json_object_get(img, "Config"));
		json_t *layers = json_object_get(img, "Layers");
		if (!cfg_path || !json_is_array(layers))
			return sbx_failx(err, EINVAL, "manifest.json[%zu]: no Config or Layers", i);
		const struct loaded_file *cfg = find_file(c, cfg_path);
		if (!cfg)
			return sbx_failx(err, ENOENT, "manifest.json[%zu]: missing %s", i,
					 cfg_path);
		json_t *m =
		    json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2,
			      "mediaType", "application/vnd.oci.image.manifest.v1+json", "config",
			      "mediaType", "application/vnd.oci.image.config.v1+json", "digest",
			      cfg->digest, "size", (json_int_t)cfg->size, "layers");
		if (!m)
			return sbx_fail(err, ENOMEM, "build manifest");
		size_t j;
		json_t *lp;
		json_array_foreach(layers, j, lp)
		{
			const struct loaded_file *lf =
			    json_is_string(lp) ? find_file(c, json_string_value(lp)) : NULL;
			if (!lf) {
				json_decref(m);
				return sbx_failx(err, ENOENT,
						 "manifest.json[%zu]: missing layer %zu", i, j);
			}
			json_array_append_new(json_object_get(m, "layers"),
					      json_pack("{s:s, s:s, s:I}", "mediaType",
							"application/vnd.oci.image.layer.v1.tar",
							"digest", lf->digest, "size",
							(json_int_t)lf->size));
		}
		_cleanup_free_ char *text = json_dumps(m, JSON_COMPACT);
		json_decref(m);
		char digest[IMAGE_DIGEST_MAX];
		int r = text ? image_blob_put_mem(c->store, text, strlen(text), NULL, digest, err)
			     : sbx_fail(err, ENOMEM, "encode manifest");
		if (r < 0)
			return r;
		json_t *tags = json_object_get(img, "RepoTags");
		size_t k;
		json_t *tag;
		json_array_foreach(tags, k, tag)
		{
			if (!json_is_string(tag))
				continue;
			r = set_ref(c, json_string_value(tag), digest, on_ref, opaque, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* A manifest list / image index: pick linux/amd64. */
static int pick_platform(struct load_ctx *c, const char *index_digest, char out[IMAGE_DIGEST_MAX],
			 struct sbx_err *err)
{
	_cleanup_free_ char *text = NULL;
	int r = image_blob_read(c->store, index_digest, &text, NULL, err);
	if (r < 0)
		return r;
	json_t *idx = json_loads(text, 0, NULL);
	if (!idx)
		return sbx_failx(err, EINVAL, "image index %s is not JSON", index_digest);
	r = image_index_pick_amd64(idx, out, err);
	json_decref(idx);
	return r;
}

static int load_oci(struct load_ctx *c, json_t *index, image_ref_cb on_ref, void *opaque,
		    struct sbx_err *err)
{
	json_t *manifests = json_object_get(index, "manifests");
	if (!json_is_array(manifests))
		return sbx_failx(err, EINVAL, "index.json: no manifests");
	size_t i;
	json_t *m;
	json_array_foreach(manifests, i, m)
	{
		const char *d = json_string_value(json_object_get(m, "digest"));
		const char *mt = json_string_value(json_object_get(m, "mediaType"));
		if (!d || !image_digest_valid(d))
			return sbx_failx(err, EINVAL, "index.json manifests[%zu]: bad digest", i);
		char digest[IMAGE_DIGEST_MAX];
		snprintf(digest, sizeof(digest), "%s", d);
		if (mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"))) {
			int r = pick_platform(c, d, digest, err);
			if (r < 0)
				return r;
		}
		int r = check_manifest(c, digest, err);
		if (r < 0)
			return r;
		json_t *ann = json_object_get(m, "annotations");
		const char *name =
		    json_string_value(json_object_get(ann, "io.containerd.image.name"));
		if (!name)
			name = json_string_value(
			    json_object_get(ann, "org.opencontainers.image.ref.name"));
		if (!name || (!strchr(name, '/') && !strchr(name, ':') && !strchr(name, '.')))
			return sbx_failx(err, EINVAL,
					 "index.json manifests[%zu]: no image name annotation", i);
		r = set_ref(c, name, digest, on_ref, opaque, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int image_load_archive(struct image_store *s, int fd, image_ref_cb on_ref, void *opaque,
		       struct sbx_err *err)
{
	struct load_ctx c = {.store = s};
	struct archive *a = layer_tar_reader_new();
	if (!a)
		return sbx_fail(err, ENOMEM, "archive reader");
	int r = 0;
	if (archive_read_open_fd(a, fd, 64 << 10) != ARCHIVE_OK) {
		r = sbx_failx(err, EINVAL, "not an image archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = sbx_failx(err, EINVAL, "not an image archive: %s",
				      archive_error_string(a));
			goto out;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		r = store_entry(&c, a, archive_entry_pathname(e), err);
		if (r < 0)
			goto out;
	}
	/* docker-save's manifest.json wins where both exist: it carries the repository tags. */
	json_t *top, *index;
	r = load_json_file(&c, "manifest.json", &top, err);
	if (r < 0)
		goto out;
	if (top) {
		r = load_docker(&c, top, on_ref, opaque, err);
		json_decref(top);
		goto out;
	}
	r = load_json_file(&c, "index.json", &index, err);
	if (r < 0)
		goto out;
	if (index) {
		r = load_oci(&c, index, on_ref, opaque, err);
		json_decref(index);
		goto out;
	}
	r = sbx_failx(err, EINVAL, "not an image archive: no manifest.json or index.json");
out:
	archive_read_free(a);
	load_ctx_free(&c);
	return r;
}
