/* The device models and their constructors. */
#pragma once

#include "vmm/virtio/virtio.h"

#include <stdbool.h>
#include <stdint.h>

struct sbx_err;
struct virtio_mmio;
struct virtio_blk;
struct vq_chain;
struct event_loop;
struct virtio_vsock;

extern const struct vdev_ops virtio_blk_ops;
extern const struct vdev_ops virtio_rng_ops;
extern const struct vdev_ops virtio_vsock_ops;

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

/* uds: the host socket ("CONNECT <port>\n" protocol), or NULL for none; guest connections to
 * host port P go to "<uds>_<P>". Host sockets are watched on `loop` (the device thread). */
int virtio_vsock_new(uint64_t guest_cid, const char *uds, struct event_loop *loop,
		     struct virtio_vsock **ret, struct sbx_err *err);
void virtio_vsock_set_transport(struct virtio_vsock *vs, struct virtio_mmio *t);
/* Closes every connection and removes the socket. */
void virtio_vsock_free(struct virtio_vsock *vs);
/* One packet from the guest's tx queue, for tests and the fuzzer: 0, or -EINVAL when the
 * header does not fit (the device then needs a reset). Caller holds the transport lock. */
int virtio_vsock_handle_tx(struct virtio_vsock *vs, const struct vq_chain *c);
