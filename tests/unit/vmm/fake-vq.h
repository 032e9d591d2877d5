/* Fake guest RAM and a virtqueue builder for device-model tests: no KVM needed. */
#pragma once

#include "vmm/mem.h"
#include "vmm/virtio/queue.h"

#define FVQ_RAM (1u << 20)
#define FVQ_DESC 0x1000
#define FVQ_AVAIL 0x2000
#define FVQ_USED 0x3000
#define FVQ_DATA 0x10000

struct fvq {
	uint8_t *ram;
	struct guest_mem gm;
	struct vq q;
	uint16_t avail_idx;
};

void fvq_init(struct fvq *f, uint16_t num);
void fvq_free(struct fvq *f);
void fvq_desc(struct fvq *f, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next);
/* Makes descriptor `head` available and bumps avail->idx. */
void fvq_publish(struct fvq *f, uint16_t head);
/* Sets avail->idx directly (for malformed-index tests). */
void fvq_set_avail_idx(struct fvq *f, uint16_t idx);
uint16_t fvq_used_idx(const struct fvq *f);
