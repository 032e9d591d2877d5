/* The device models and their constructors. */
#pragma once

#include "vmm/virtio/virtio.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_err;
struct virtio_mmio;
struct virtio_blk;
struct vq_chain;
struct event_loop;
struct virtio_vsock;
struct virtio_net;

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

/* virtio-net. A backend is either a file descriptor that carries one frame per read/write (a
 * tap; with vnet_hdr each frame starts with the 12-byte virtio_net_hdr_v1 and the guest is
 * offered checksum and segmentation offloads), watched on `loop`; or, with fd < 0, a callback
 * that takes whole frames from the guest while virtio_net_receive() brings frames to it. */
#define VIRTIO_NET_FRAME_MAX 65550u
typedef int (*virtio_net_send_fn)(void *opaque, const uint8_t *frame, size_t len);
struct virtio_net_backend {
	int fd; /* owned by the device from virtio_net_new() on, even when it fails */
	bool vnet_hdr;
	struct event_loop *loop;
	virtio_net_send_fn send;
	void *opaque;
};
struct virtio_net_stats {
	uint64_t tx_frames, tx_bytes, tx_dropped, tx_malformed;
	uint64_t rx_frames, rx_bytes, rx_dropped, rx_waits;
};
int virtio_net_new(const uint8_t mac[6], const struct virtio_net_backend *be,
		   struct virtio_net **ret, struct sbx_err *err);
/* The ops table of this device: offloads are offered only over a vnet_hdr backend. */
const struct vdev_ops *virtio_net_ops(const struct virtio_net *n);
/* Starts watching the backend fd; call once the transport is set. */
void virtio_net_set_transport(struct virtio_net *n, struct virtio_mmio *t);
void virtio_net_free(struct virtio_net *n);
/* A frame for the guest from a callback backend; any thread. Kept while the guest has no rx
 * buffers (a bounded backlog), dropped and counted beyond it or while the driver is not up. */
void virtio_net_receive(struct virtio_net *n, const uint8_t *frame, size_t len);
/* The fd backend became readable; normally run by `loop`. */
void virtio_net_backend_readable(struct virtio_net *n);
/* One chain from the guest's tx queue, for tests and the fuzzer: 0 handled (sent or dropped by
 * the backend), -EINVAL malformed (dropped and counted). Caller holds the transport lock. */
int virtio_net_handle_tx(struct virtio_net *n, const struct vq_chain *c);
void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *ret);
/* TUN_F_* flags last asked of the tap (what the driver accepted of the guest offloads). */
unsigned virtio_net_tap_offloads(const struct virtio_net *n);
