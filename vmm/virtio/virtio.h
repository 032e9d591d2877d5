/* A virtio device model as the transport sees it: a private struct behind an ops table. Devices
 * never see transport registers, KVM fds or raw rings. */
#pragma once

#include "vmm/virtio/queue.h"

#include <stdbool.h>
#include <stdint.h>

struct virtio_mmio;

#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_F_VERSION_1 (1ull << 32)
#define VIRTIO_F_RING_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_RING_EVENT_IDX (1ull << 29)

struct vdev_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features; /* device-specific feature bits; the transport adds the ring ones */
	unsigned num_queues;
	uint32_t config_size;
	/* Reads/writes device config space (offset and size already bounds-checked). */
	void (*config_read)(void *dev, uint32_t offset, uint8_t *data, uint32_t size);
	void (*config_write)(void *dev, uint32_t offset, const uint8_t *data, uint32_t size);
	/* The driver kicked queue q; runs on the device thread. */
	void (*notify)(void *dev, struct virtio_mmio *t, unsigned q);
	/* Optional: the driver set DRIVER_OK; t->driver_features holds what it accepted. Runs on
	 * the vCPU thread that wrote the status, with the transport lock held. */
	void (*activate)(void *dev, struct virtio_mmio *t);
	/* Back to the initial state (driver reset or DEVICE_NEEDS_RESET recovery). */
	void (*reset)(void *dev);
};
