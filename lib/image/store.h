/* The image store under the CLI's root ($SBX_ROOT, default /var/lib/sbx): content-addressed
 * blobs (blobs/sha256/<hex>, verified on the way in) and references (refs/<escaped name>
 * holding a manifest digest). Every write is a temp file + rename: a crash never leaves a
 * half blob or half reference visible. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sbx_err;

#define IMAGE_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

struct image_store {
	int rootfd; /* the store root directory */
	char root[4096];
};

/* Holds the store root's flock() shared until image_store_close: see image_store_gc. */
int image_store_open(struct image_store *s, const char *root, struct sbx_err *err);
void image_store_close(struct image_store *s);

/* Checks "sha256:<64 lowercase hex>". */
int image_digest_valid(const char *digest);

/* Incremental blob writing: begin, write any number of times, then commit or abort. */
struct image_blob_writer {
	struct image_store *store;
	int fd;
	char tmp[64];
	void *md_ctx;
	uint64_t size;
};
int image_blob_begin(struct image_store *s, struct image_blob_writer *w, struct sbx_err *err);
int image_blob_write(struct image_blob_writer *w, const void *buf, size_t len, struct sbx_err *err);
/* Verifies against expected (may be NULL), fsyncs and renames into place. Always releases w. */
int image_blob_commit(struct image_blob_writer *w, const char *expected,
		      char ret_digest[IMAGE_DIGEST_MAX], struct sbx_err *err);
void image_blob_abort(struct image_blob_writer *w);

/* Streams fd into the store. expected may be NULL (the digest is computed and returned) or a
 * digest the content must match (else -EBADMSG and nothing stored). ret_digest gets the digest. */
int image_blob_put_fd(struct image_store *s, int fd, const char *expected,
		      char ret_digest[IMAGE_DIGEST_MAX], uint64_t *ret_size, struct sbx_err *err);
int image_blob_put_mem(struct image_store *s, const void *buf, size_t len, const char *expected,
		       char ret_digest[IMAGE_DIGEST_MAX], struct sbx_err *err);
/* Opens a blob for reading; -ENOENT if absent. */
int image_blob_open(struct image_store *s, const char *digest, struct sbx_err *err);
/* Reads a whole (small: manifests, configs, at most 4 MiB) blob into a NUL-terminated buffer. */
int image_blob_read(struct image_store *s, const char *digest, char **ret, size_t *ret_len,
		    struct sbx_err *err);
int image_blob_exists(struct image_store *s, const char *digest);

/* References: a normalized name ("docker.io/library/busybox:latest") -> manifest digest. */
int image_ref_set(struct image_store *s, const char *ref, const char *digest, struct sbx_err *err);
int image_ref_get(struct image_store *s, const char *ref, char ret_digest[IMAGE_DIGEST_MAX],
		  struct sbx_err *err);
int image_ref_delete(struct image_store *s, const char *ref, struct sbx_err *err);
/* Calls fn for each reference, sorted by name. */
int image_ref_list(struct image_store *s,
		   int (*fn)(void *opaque, const char *ref, const char *digest), void *opaque,
		   struct sbx_err *err);

/* Normalizes a user reference like docker does: "busybox" -> "docker.io/library/busybox:latest",
 * "localhost:5000/x" -> "localhost:5000/x:latest"; name@sha256:... kept. -EINVAL if malformed. */
int image_ref_normalize(const char *in, char *out, size_t out_size, struct sbx_err *err);
