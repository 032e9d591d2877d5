/* virtio-rng (device id 4): every writable buffer filled from getrandom(), so the guest never
 * stalls waiting for entropy. */
#include "vmm/virtio/devices.h"

#include "vmm/virtio/mmio.h"

#include <stdlib.h>
#include <sys/random.h>

struct virtio_rng {
	uint64_t bytes;
};

static void rng_notify(void *dev, struct virtio_mmio *t, unsigned qi)
{
	struct virtio_rng *rng = dev;
	struct vq *q = &t->queues[qi];
	struct vq_chain c;
	int r;
	while ((r = vq_pop(q, t->gm, &c)) > 0) {
		uint64_t written = 0;
		for (unsigned i = 0; i < c.n_in; i++) {
			ssize_t n = getrandom(c.in[i].iov_base, c.in[i].iov_len, 0);
			if (n > 0)
				written += (uint64_t)n;
		}
		rng->bytes += written;
		if (vq_push(q, t->gm, c.head, (uint32_t)written) < 0) {
			r = -1;
			break;
		}
	}
	if (r < 0)
		virtio_mmio_needs_reset(t);
	virtio_mmio_signal_used(t, qi);
}

static void rng_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t size)
{
}

const struct vdev_ops virtio_rng_ops = {
    .name = "rng",
    .device_id = 4,
    .num_queues = 1,
    .config_size = 0,
    .config_read = rng_config_read,
    .notify = rng_notify,
};

void *virtio_rng_new(void)
{
	return calloc(1, sizeof(struct virtio_rng));
}
