/* Garbage collection of the image store, run by `sbx rmi` after it removed references: the
 * blobs no remaining reference needs and the cached rootfs images of configs none uses. */
#pragma once

#include <stddef.h>

struct sbx_err;
struct image_store;

/* Marks from every reference (a manifest, or an index and its manifests; each with its config
 * and layers) and from keep[] (manifest digests, e.g. of running containers), then deletes every
 * other blob and every rootfs/<config hex>.* whose config was not marked. Nothing is deleted
 * unless marking finished, so a blob still needed is never lost, whenever sbx stops.
 * -EWOULDBLOCK, with nothing done, while another sbx holds the store open (a pull between its
 * blobs and its reference, a run building a rootfs): the next collection gets the garbage.
 * Needs the only open of the store in this process; on failure the store stays usable for
 * closing only. on_delete (may be NULL) is called with each deleted blob's digest. Returns the
 * number of blobs deleted. */
int image_store_gc(struct image_store *s, const char *const *keep, size_t n_keep,
		   void (*on_delete)(void *opaque, const char *digest), void *opaque,
		   struct sbx_err *err);
