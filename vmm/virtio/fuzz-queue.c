/* Fuzz target: a guest-controlled ring. The input is a queue size, ring contents and an avail
 * index laid into fake RAM; the walker must reject or accept without touching memory outside. */
#include "vmm/mem.h"
#include "vmm/virtio/queue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	if (!ram)
		ram = malloc(RAM);
	if (size < 4)
		return 0;
	memset(ram, 0, RAM);
	struct guest_mem gm;
	gm_init_fake(&gm, ram, RAM);
	struct vq q = {.num = (uint16_t)(1u << (data[0] % 9)),
		       .desc = 0x1000,
		       .avail = 0x2000,
		       .used = 0x3000,
		       .ready = true,
		       .event_idx = data[1] & 1,
		       .indirect = data[1] & 2};
	size_t n = size - 2 < 0x4000 ? size - 2 : 0x4000;
	memcpy(ram + 0x1000, data + 2, n); /* descriptors, avail and used rings */
	if (vq_validate(&q, &gm) < 0)
		return 0;
	static struct vq_chain c;
	for (int i = 0; i < 512; i++) {
		int r = vq_pop(&q, &gm, &c);
		if (r <= 0)
			break;
		for (unsigned k = 0; k < c.n_in; k++)
			memset(c.in[k].iov_base, 0xaa, c.in[k].iov_len);
		vq_push(&q, &gm, c.head, (uint32_t)c.in_len);
		vq_should_notify(&q, &gm);
	}
	return 0;
}
