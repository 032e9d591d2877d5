/* An image's flattened rootfs as a read-only ext4 image (--rootfs-transfer block) or as one tar
 * (stream), each built once per image config digest and cached under the store: the next run
 * reuses it without any work. */
#pragma once

#include <stddef.h>

struct sbx_err;
struct image_store;

/* Returns in ret_path the cached image for manifest_digest, building it on first use.
 * ret_built (may be NULL) is set to 1 when this call built it. */
int image_rootfs_ext4(struct image_store *s, const char *manifest_digest, char *ret_path,
		      size_t ret_size, int *ret_built, struct sbx_err *err);

/* The same for <store>/rootfs/<config hex>.tar: an uncompressed pax tar of the flattened tree
 * (no whiteouts left), directories before their contents, as the guest agent's untar reads it. */
int image_rootfs_tar(struct image_store *s, const char *manifest_digest, char *ret_path,
		     size_t ret_size, int *ret_built, struct sbx_err *err);
