/* The virtio-mmio register file. Guest MMIO accesses arrive on vCPU threads and kicks on the
 * device thread; one lock per device orders them. Offsets were range-checked by the bus. */
#define _GNU_SOURCE
#include "vmm/virtio/mmio.h"

#include "vmm/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAGIC 0x74726976  /* "virt" */
#define VENDOR 0x00584253 /* "SBX" */

#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_NEEDS_RESET 0x40
#define INT_USED 1
#define INT_CONFIG 2

static uint64_t transport_features(const struct virtio_mmio *t)
{
	return t->ops->features | VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX |
	       VIRTIO_F_RING_INDIRECT_DESC;
}

int virtio_mmio_init(struct virtio_mmio *t, const struct vdev_ops *ops, void *dev,
		     struct guest_mem *gm, unsigned slot)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->dev = dev;
	t->gm = gm;
	t->base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_SIZE;
	t->irq = VIRTIO_MMIO_IRQ_BASE + slot;
	pthread_mutex_init(&t->lock, NULL);
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return -errno;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->notify_fd[q] = -1;
	for (unsigned q = 0; q < ops->num_queues && q < VIRTIO_MAX_QUEUES; q++) {
		t->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->notify_fd[q] < 0)
			return -errno;
	}
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->notify_fd[q] >= 0)
			close(t->notify_fd[q]);
	t->irq_fd = -1;
}

static void raise_irq(struct virtio_mmio *t, uint32_t why)
{
	t->interrupt_status |= why;
	uint64_t one = 1;
	ssize_t r = write(t->irq_fd, &one, sizeof(one));
	(void)r;
}

static void reset_locked(struct virtio_mmio *t)
{
	t->status = 0;
	t->interrupt_status = 0;
	t->driver_features = 0;
	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	memset(t->queues, 0, sizeof(t->queues));
	if (t->ops->reset)
		t->ops->reset(t->dev);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
	t->bad_input++;
	if (t->status & STATUS_NEEDS_RESET)
		return;
	t->status |= STATUS_NEEDS_RESET;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->queues[q].ready = false;
	raise_irq(t, INT_CONFIG);
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q)
{
	if (vq_should_notify(&t->queues[q], t->gm))
		raise_irq(t, INT_USED);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	t->config_generation++;
	raise_irq(t, INT_CONFIG);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_kick(struct virtio_mmio *t, unsigned q)
{
	pthread_mutex_lock(&t->lock);
	if (q < t->ops->num_queues && t->queues[q].ready && (t->status & STATUS_DRIVER_OK) &&
	    !(t->status & STATUS_NEEDS_RESET))
		t->ops->notify(t->dev, t, q);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t len)
{
	snprintf(buf, len, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)t->base, t->irq);
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct vq *q = t->queue_sel < VIRTIO_MAX_QUEUES ? &t->queues[t->queue_sel] : NULL;
	bool q_exists = q && t->queue_sel < t->ops->num_queues;
	uint64_t f = transport_features(t);
	switch (off) {
	case 0x000:
		return MAGIC;
	case 0x004:
		return 2;
	case 0x008:
		return t->ops->device_id;
	case 0x00c:
		return VENDOR;
	case 0x010:
		return t->device_features_sel == 0   ? (uint32_t)f
		       : t->device_features_sel == 1 ? (uint32_t)(f >> 32)
						     : 0;
	case 0x034:
		return q_exists ? VQ_MAX_SIZE : 0;
	case 0x044:
		return q_exists && q->ready;
	case 0x060:
		return t->interrupt_status;
	case 0x070:
		return t->status;
	case 0x0fc:
		return t->config_generation;
	default:
		return 0;
	}
}

static void set_addr_half(uint64_t *addr, bool high, uint32_t v)
{
	*addr = high ? (*addr & 0xffffffffull) | ((uint64_t)v << 32) : (*addr & ~0xffffffffull) | v;
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct vq *q = t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
	switch (off) {
	case 0x014:
		t->device_features_sel = v;
		return;
	case 0x020:
		if (t->driver_features_sel < 2) {
			unsigned shift = t->driver_features_sel * 32;
			t->driver_features = (t->driver_features & ~(0xffffffffull << shift)) |
					     ((uint64_t)v << shift);
		}
		return;
	case 0x024:
		t->driver_features_sel = v;
		return;
	case 0x030:
		t->queue_sel = v;
		return;
	case 0x038:
		if (q && !q->ready)
			q->num = v > 0xffff ? 0 : (uint16_t)v;
		return;
	case 0x044:
		if (!q)
			return;
		if (v == 0) {
			q->ready = false;
			return;
		}
		q->event_idx = t->driver_features & VIRTIO_F_RING_EVENT_IDX;
		q->indirect = t->driver_features & VIRTIO_F_RING_INDIRECT_DESC;
		if (vq_validate(q, t->gm) < 0) {
			virtio_mmio_needs_reset(t);
			return;
		}
		q->ready = true;
		return;
	case VIRTIO_MMIO_NOTIFY:
		/* Normally consumed by the ioeventfd; this path covers a missing one. */
		if (v < t->ops->num_queues && t->queues[v].ready && (t->status & STATUS_DRIVER_OK))
			t->ops->notify(t->dev, t, v);
		return;
	case 0x064:
		t->interrupt_status &= ~v;
		return;
	case 0x070:
		if (v == 0) {
			reset_locked(t);
			return;
		}
		/* FEATURES_OK only sticks for a subset of what we offer, with VERSION_1. */
		if ((v & STATUS_FEATURES_OK) && !(t->status & STATUS_FEATURES_OK) &&
		    ((t->driver_features & ~transport_features(t)) ||
		     !(t->driver_features & VIRTIO_F_VERSION_1)))
			v &= ~(uint32_t)STATUS_FEATURES_OK;
		bool was_ok = t->status & STATUS_DRIVER_OK;
		t->status = v | (t->status & STATUS_NEEDS_RESET);
		if (!was_ok && (v & STATUS_DRIVER_OK) && t->ops->activate)
			t->ops->activate(t->dev, t);
		return;
	case 0x080:
	case 0x084:
		if (q && !q->ready)
			set_addr_half(&q->desc, off == 0x084, v);
		return;
	case 0x090:
	case 0x094:
		if (q && !q->ready)
			set_addr_half(&q->avail, off == 0x094, v);
		return;
	case 0x0a0:
	case 0x0a4:
		if (q && !q->ready)
			set_addr_half(&q->used, off == 0x0a4, v);
		return;
	default:
		return;
	}
}

void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct virtio_mmio *t = opaque;
	pthread_mutex_lock(&t->lock);
	if (off >= 0x100) {
		uint64_t coff = off - 0x100;
		if (coff < t->ops->config_size && size <= t->ops->config_size - coff) {
			if (is_write && t->ops->config_write)
				t->ops->config_write(t->dev, (uint32_t)coff, data, size);
			else if (!is_write)
				t->ops->config_read(t->dev, (uint32_t)coff, data, size);
		} else if (!is_write) {
			memset(data, 0, size);
		}
	} else if (size != 4) {
		/* virtio 1.1 §4.2.2.2: the register file is 32-bit only. */
		if (!is_write)
			memset(data, 0, size);
		t->bad_input++;
	} else if (is_write) {
		uint32_t v;
		memcpy(&v, data, 4);
		write_reg(t, off, v);
	} else {
		uint32_t v = read_reg(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}
