/* Split virtqueues (virtio 1.1 §2.6). The only code that reads rings: every index, address and
 * length from the guest is checked here, and devices only ever see a checked chain of host
 * buffers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;

#define VQ_MAX_SIZE 256
#define VQ_MAX_CHAIN VQ_MAX_SIZE

struct vq {
	uint16_t num; /* size the driver chose; 0 until set */
	uint64_t desc, avail, used;
	bool ready;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used; /* used idx at the last interrupt, for event idx */
	bool signalled_valid;
};

/* One request: readable buffers first, then writable ones. */
struct vq_chain {
	uint16_t head;
	unsigned n_in, n_out; /* n_out readable (driver->device), n_in writable */
	uint64_t out_len, in_len;
	struct iovec out[VQ_MAX_CHAIN];
	struct iovec in[VQ_MAX_CHAIN];
};

/* Checks size and ring placement when the driver sets QueueReady. */
int vq_validate(const struct vq *q, const struct guest_mem *gm);

/* 1: a chain was taken, 0: ring empty, -EINVAL: the driver broke the ring (device must reset). */
int vq_pop(struct vq *q, const struct guest_mem *gm, struct vq_chain *c);
/* Gives back the chain vq_pop() just took, unused (the device found nothing to put in it). */
void vq_unpop(struct vq *q);
/* Returns the chain with `written` bytes written; -EINVAL if the used ring vanished. */
int vq_push(struct vq *q, const struct guest_mem *gm, uint16_t head, uint32_t written);
/* Whether the driver wants an interrupt for what was pushed since the last one. */
bool vq_should_notify(struct vq *q, const struct guest_mem *gm);

/* Copies between a chain's iovecs and a flat buffer, starting `skip` bytes in. Return bytes. */
uint64_t iov_to_buf(const struct iovec *iov, unsigned n, uint64_t skip, void *buf, uint64_t len);
uint64_t buf_to_iov(const struct iovec *iov, unsigned n, uint64_t skip, const void *buf,
		    uint64_t len);
/* Fills out[] with the part of iov[] from byte `skip` on, at most `len` bytes; returns the
 * number of entries (never more than n). */
unsigned iov_slice(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len,
		   struct iovec *out);
