/* The device models and their constructors. */
#pragma once

#include "vmm/virtio/virtio.h"

#include <stdbool.h>
#include <stdint.h>

struct sbx_err;
struct virtio_mmio;
struct virtio_blk;
struct vq_chain;

extern const struct vdev_ops virtio_blk_ops;
extern const struct vdev_ops virtio_rng_ops;

/* path NULL: an empty slot whose media virtio_blk_insert() adds later. */
int virtio_blk_new(const char *path, bool read_only, const char *serial, struct virtio_blk **ret,
		   struct sbx_err *err);
void virtio_blk_free(struct virtio_blk *b);
void virtio_blk_set_transport(struct virtio_blk *b, struct virtio_mmio *t);
int virtio_blk_insert(struct virtio_blk *b, const char *path, bool read_only, const char *serial,
		      struct sbx_err *err);
bool virtio_blk_read_only(const struct virtio_blk *b);
/* One request, for tests and the fuzzer: returns bytes written to the driver. */
uint32_t virtio_blk_handle(struct virtio_blk *b, const struct vq_chain *c);

void *virtio_rng_new(void);
