/* virtio-mmio version 2 (virtio 1.1 §4.2.2): one 0x1000-byte window per device at
 * VIRTIO_MMIO_BASE + n * 0x1000 with interrupt VIRTIO_MMIO_IRQ_BASE + n, announced to the guest
 * on the kernel command line. Queue kicks arrive through ioeventfds and interrupts leave
 * through an irqfd; the owner binds both to KVM. */
#pragma once

#include "vmm/virtio/virtio.h"

#include <pthread.h>
#include <stdint.h>

struct guest_mem;

#define VIRTIO_MMIO_BASE 0xd0000000ull
#define VIRTIO_MMIO_SIZE 0x1000ull
#define VIRTIO_MMIO_IRQ_BASE 5
#define VIRTIO_MMIO_NOTIFY 0x50

struct virtio_mmio {
	const struct vdev_ops *ops;
	void *dev;
	struct guest_mem *gm;
	pthread_mutex_t lock;
	uint64_t base;
	uint32_t irq;
	int irq_fd;                       /* eventfd: bound to `irq` with KVM_IRQFD */
	int notify_fd[VIRTIO_MAX_QUEUES]; /* eventfds: bound with KVM_IOEVENTFD */
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t config_generation;
	struct vq queues[VIRTIO_MAX_QUEUES];
	uint64_t bad_input; /* times the driver broke the protocol */
};

int virtio_mmio_init(struct virtio_mmio *t, const struct vdev_ops *ops, void *dev,
		     struct guest_mem *gm, unsigned slot);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* The bus handler for the device window. */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write);
/* Runs the device's queue handler; called when notify_fd[q] fires (or on a QueueNotify write). */
void virtio_mmio_kick(struct virtio_mmio *t, unsigned q);

/* For devices: signal "used buffers" on queue q if the driver wants it. */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q);
/* For devices: the config space changed (e.g. media inserted). */
void virtio_mmio_config_changed(struct virtio_mmio *t);
/* For devices: the driver broke the protocol; stop using the device until it resets. */
void virtio_mmio_needs_reset(struct virtio_mmio *t);

/* "virtio_mmio.device=4K@0x...:IRQ" for the kernel command line. */
void virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t len);
