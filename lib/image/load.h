/* `sbx load`: docker-save and OCI image layout archives (tar, optionally compressed) into the
 * image store. Every blob is verified against its name where the archive names it by digest;
 * references are set only after all blobs an image needs are in the store. */
#pragma once

struct sbx_err;
struct image_store;

/* Called once per reference set (ref is normalized, digest is the manifest's). */
typedef int (*image_ref_cb)(void *opaque, const char *ref, const char *digest);

int image_load_archive(struct image_store *s, int fd, image_ref_cb on_ref, void *opaque,
		       struct sbx_err *err);
