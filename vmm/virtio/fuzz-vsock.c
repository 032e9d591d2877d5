/* Fuzz target: virtio-vsock packets from the guest's tx queue. The input is a sequence of
 * packets, each a 2-byte little-endian length and that many bytes, split into two readable
 * buffers; guest connects reach a real listener on "<uds>_1024". */
#include "vmm/virtio/devices.h"
#include "vmm/virtio/queue.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtio_vsock *setup(void)
{
	static char dir[] = "/tmp/sbx-fuzz-vsock-XXXXXX";
	struct virtio_vsock *vs = NULL;
	if (!mkdtemp(dir))
		return NULL;
	char uds[96];
	snprintf(uds, sizeof(uds), "%s/v", dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1024", uds);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0)
		return NULL;
	if (virtio_vsock_new(3, uds, NULL, &vs, NULL) < 0)
		return NULL;
	return vs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_vsock *vs;
	static struct vq_chain c;
	static uint8_t buf[2][70000];
	if (!vs && !(vs = setup()))
		return 0;
	while (size >= 2) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		size_t cut = len ? data[0] % (len + 1) : 0;
		memset(&c, 0, offsetof(struct vq_chain, out));
		memcpy(buf[0], data, cut);
		memcpy(buf[1], data + cut, len - cut);
		c.out[c.n_out++] = (struct iovec){buf[0], cut ? cut : 1};
		c.out[c.n_out++] = (struct iovec){buf[1], len - cut ? len - cut : 1};
		c.out_len = c.out[0].iov_len + c.out[1].iov_len;
		virtio_vsock_handle_tx(vs, &c);
		data += len;
		size -= len;
	}
	return 0;
}
