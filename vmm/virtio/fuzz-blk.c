/* Fuzz target: virtio-blk requests (header, data, status layout) against a scratch image. */
#include "vmm/virtio/devices.h"
#include "vmm/virtio/queue.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_blk *b;
	if (!b) {
		char path[] = "/tmp/sbx-fuzz-blk-XXXXXX";
		int fd = mkstemp(path);
		if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
			return 0;
		close(fd);
		if (virtio_blk_new(path, data && size && (data[0] & 1), "fuzz", &b, NULL) < 0)
			return 0;
		unlink(path);
	}
	if (size < 3)
		return 0;
	/* data[0]: how many readable buffers (1-4), data[1]: writable (1-4); the rest is split
	 * evenly into them. */
	static uint8_t bufs[8][1024];
	static struct vq_chain c;
	memset(&c, 0, sizeof(c));
	unsigned nr = 1 + data[0] % 4, nw = 1 + data[1] % 4;
	size_t rest = size - 2, each = rest / (nr + nw) + 1;
	if (each > sizeof(bufs[0]))
		each = sizeof(bufs[0]);
	const uint8_t *p = data + 2;
	for (unsigned i = 0; i < nr + nw; i++) {
		size_t take = rest < each ? rest : each;
		memcpy(bufs[i], p, take);
		p += take;
		rest -= take;
		struct iovec v = {bufs[i], take ? take : 1};
		if (i < nr) {
			c.out[c.n_out++] = v;
			c.out_len += v.iov_len;
		} else {
			c.in[c.n_in++] = v;
			c.in_len += v.iov_len;
		}
	}
	virtio_blk_handle(b, &c);
	return 0;
}
