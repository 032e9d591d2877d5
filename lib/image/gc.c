/* Mark and sweep over the image store: marks from references into a sorted digest set, then
 * unlinks what is unmarked. Deletion needs the store's flock exclusively (image_store_open takes
 * it shared), so no pull, load or rootfs build can be between writing a blob and using it. */
#define _GNU_SOURCE
#include "image/gc.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "image/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* An index nests manifests; deeper nesting than this is no image we could run anyway. */
#define GC_INDEX_DEPTH 4

struct digest_set {
	char (*d)[IMAGE_DIGEST_MAX];
	size_t n, cap;
};

static int set_add(struct digest_set *s, const char *digest)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *more = realloc(s->d, cap * sizeof(*s->d));
		if (!more)
			return -ENOMEM;
		s->d = more;
		s->cap = cap;
	}
	snprintf(s->d[s->n++], IMAGE_DIGEST_MAX, "%s", digest);
	return 0;
}

static int cmp_digest(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool set_has(const struct digest_set *s, const char *digest)
{
	return s->n && bsearch(digest, s->d, s->n, sizeof(*s->d), cmp_digest);
}

struct gc {
	struct image_store *store;
	struct digest_set blobs;   /* every blob a reference needs */
	struct digest_set configs; /* their configs: whose rootfs caches stay */
};

static int mark_digest(struct digest_set *s, const json_t *j)
{
	const char *d = json_string_value(j);
	return image_digest_valid(d) ? set_add(s, d) : 0;
}

/* digest and, when it is a manifest or an index, everything it names. */
static int mark_manifest(struct gc *g, const char *digest, int depth, struct sbx_err *err)
{
	if (!image_digest_valid(digest))
		return 0;
	int r = set_add(&g->blobs, digest);
	if (r < 0)
		return sbx_fail(err, -r, "mark blobs");
	_cleanup_free_ char *text = NULL;
	r = image_blob_read(g->store, digest, &text, NULL, err);
	/* Absent, or too big to be a manifest: it names nothing we could keep. */
	if (r == -ENOENT || r == -EFBIG)
		return 0;
	if (r < 0) /* what it needs is unknown: delete nothing */
		return r;
	json_t *m = json_loads(text, 0, NULL);
	if (!m)
		return 0;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(m, "manifests"), i, e)
	{
		if (depth >= GC_INDEX_DEPTH)
			break;
		r = mark_manifest(g, json_string_value(json_object_get(e, "digest")), depth + 1,
				  err);
		if (r < 0)
			goto out;
	}
	json_t *cfg = json_object_get(json_object_get(m, "config"), "digest");
	if ((r = mark_digest(&g->blobs, cfg)) < 0 || (r = mark_digest(&g->configs, cfg)) < 0)
		goto nomem;
	json_array_foreach(json_object_get(m, "layers"), i, e)
	{
		if ((r = mark_digest(&g->blobs, json_object_get(e, "digest"))) < 0)
			goto nomem;
	}
	r = 0;
	goto out;
nomem:
	r = sbx_fail(err, -r, "mark blobs");
out:
	json_decref(m);
	return r;
}

static int add_ref(void *opaque, const char *ref, const char *digest)
{
	return set_add(opaque, digest);
}

/* Unlinks dir's entries named <64 hex>[.anything] whose digest is not in keep. */
static int sweep(struct image_store *s, const char *dir, const struct digest_set *keep,
		 void (*on_delete)(void *opaque, const char *digest), void *opaque, int *ret_n,
		 struct sbx_err *err)
{
	int fd = openat(s->rootfd, dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : sbx_fail(err, errno, "open '%s/%s'", s->root, dir);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sbx_fail(err, errno, "list '%s/%s'", s->root, dir);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 64 || (len > 64 && de->d_name[64] != '.'))
			continue;
		char digest[IMAGE_DIGEST_MAX];
		snprintf(digest, sizeof(digest), "sha256:%.64s", de->d_name);
		if (!image_digest_valid(digest) || set_has(keep, digest))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			return sbx_fail(err, errno, "delete '%s/%s/%s'", s->root, dir, de->d_name);
		if (on_delete)
			on_delete(opaque, digest);
		(*ret_n)++;
	}
	return 0;
}

int image_store_gc(struct image_store *s, const char *const *keep, size_t n_keep,
		   void (*on_delete)(void *opaque, const char *digest), void *opaque,
		   struct sbx_err *err)
{
	if (flock(s->rootfd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK
			   ? sbx_failx(err, EWOULDBLOCK, "image store '%s' is in use", s->root)
			   : sbx_fail(err, errno, "lock image store '%s'", s->root);
	struct gc g = {.store = s};
	struct digest_set roots = {0};
	int r = image_ref_list(s, add_ref, &roots, err);
	if (r == -ENOMEM)
		r = sbx_fail(err, ENOMEM, "list references");
	for (size_t i = 0; r >= 0 && i < n_keep; i++)
		if (set_add(&roots, keep[i]) < 0)
			r = sbx_fail(err, ENOMEM, "list references");
	for (size_t i = 0; r >= 0 && i < roots.n; i++)
		r = mark_manifest(&g, roots.d[i], 0, err);
	int deleted = 0, rootfs = 0;
	if (r >= 0) {
		qsort(g.blobs.d, g.blobs.n, sizeof(*g.blobs.d), cmp_digest);
		qsort(g.configs.d, g.configs.n, sizeof(*g.configs.d), cmp_digest);
		r = sweep(s, "rootfs", &g.configs, NULL, NULL, &rootfs, err);
	}
	if (r >= 0)
		r = sweep(s, "blobs/sha256", &g.blobs, on_delete, opaque, &deleted, err);
	free(roots.d);
	free(g.blobs.d);
	free(g.configs.d);
	return r < 0 ? r : deleted;
}
