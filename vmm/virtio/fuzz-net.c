/* Fuzz target: virtio-net tx chains from the guest. The input is a sequence of chains, each a
 * 2-byte little-endian length and that many bytes; the first byte picks the device (slirp-like
 * callback or vnet_hdr fd), whether a writable buffer is appended and whether the frame buffer
 * claims 66000 bytes (over the 65550 limit); the rest is split into two readable buffers. */
#include "vmm/virtio/devices.h"
#include "vmm/virtio/queue.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *opaque, const uint8_t *frame, size_t len)
{
	/* touch every byte, so a bad length shows up under ASan */
	uint8_t x = 0;
	for (size_t i = 0; i < len; i++)
		x ^= frame[i];
	return x == 0xff ? -1 : 0;
}

static int peer = -1;

static int setup(struct virtio_net **cb, struct virtio_net **fd)
{
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
	struct virtio_net_backend b = {.fd = -1, .send = sink};
	int sv[2];
	if (virtio_net_new(mac, &b, cb, NULL) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	b = (struct virtio_net_backend){.fd = sv[0], .vnet_hdr = true};
	peer = sv[1];
	return virtio_net_new(mac, &b, fd, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_net *cb, *fd;
	static struct vq_chain c;
	static uint8_t buf[3][70000], drain[70000];
	if (!cb && setup(&cb, &fd) < 0)
		return 0;
	while (size >= 3) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		uint8_t mode = data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		size_t cut = len ? data[0] % (len + 1) : 0;
		memset(&c, 0, offsetof(struct vq_chain, out));
		memcpy(buf[0], data, cut);
		memcpy(buf[1], data + cut, len - cut);
		c.out[c.n_out++] = (struct iovec){buf[0], cut};
		c.out[c.n_out++] = (struct iovec){buf[1], len - cut};
		c.out_len = len;
		if (mode & 4) {
			c.out[1].iov_len = 66000 - cut;
			c.out_len = 66000;
		}
		if (mode & 2) {
			c.in[c.n_in++] = (struct iovec){buf[2], 64};
			c.in_len = 64;
		}
		virtio_net_handle_tx(mode & 1 ? fd : cb, &c);
		while (read(peer, drain, sizeof(drain)) > 0)
			;
		data += len;
		size -= len;
	}
	return 0;
}
