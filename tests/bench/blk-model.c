/* In-process virtio-blk model vs raw pread/pwrite on the same file: 4 KiB random reads and
 * 1 MiB sequential writes, as throughput ratios (model / raw). Prints BENCH lines. */
#define _GNU_SOURCE
#include "vmm/virtio/devices.h"
#include "vmm/virtio/queue.h"

#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DISK (256ull << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct vq_chain chain;
static uint8_t status;

static void req(uint32_t type, uint64_t sector, void *buf, size_t len)
{
	static struct virtio_blk_outhdr h;
	h = (struct virtio_blk_outhdr){.type = type, .sector = sector};
	memset(&chain, 0, sizeof(chain));
	chain.out[chain.n_out++] = (struct iovec){&h, sizeof(h)};
	chain.out_len = sizeof(h);
	if (type == VIRTIO_BLK_T_OUT) {
		chain.out[chain.n_out++] = (struct iovec){buf, len};
		chain.out_len += len;
	} else {
		chain.in[chain.n_in++] = (struct iovec){buf, len};
		chain.in_len += len;
	}
	chain.in[chain.n_in++] = (struct iovec){&status, 1};
	chain.in_len += 1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	char path[4096];
	snprintf(path, sizeof(path), "%s/sbx-blk-bench.img", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)DISK) < 0) {
		fprintf(stderr, "blk-model: cannot create %s\n", path);
		return 1;
	}
	static uint8_t buf[1 << 20];
	memset(buf, 0x42, sizeof(buf));
	for (uint64_t off = 0; off < DISK; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) < 0)
			return 1;
	struct virtio_blk *b;
	if (virtio_blk_new(path, false, NULL, &b, NULL) < 0)
		return 1;
	const int n4k = 200000;
	srand(1);
	uint64_t *offs = malloc(sizeof(uint64_t) * n4k);
	for (int i = 0; i < n4k; i++)
		offs[i] = ((uint64_t)rand() % (DISK / 4096)) * 4096;
	double t0 = now_s();
	for (int i = 0; i < n4k; i++)
		if (pread(fd, buf, 4096, (off_t)offs[i]) != 4096)
			return 1;
	double raw4k = now_s() - t0;
	t0 = now_s();
	for (int i = 0; i < n4k; i++) {
		req(VIRTIO_BLK_T_IN, offs[i] / 512, buf, 4096);
		virtio_blk_handle(b, &chain);
	}
	double model4k = now_s() - t0;
	t0 = now_s();
	for (uint64_t off = 0; off < DISK; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) < 0)
			return 1;
	double rawseq = now_s() - t0;
	t0 = now_s();
	for (uint64_t off = 0; off < DISK; off += sizeof(buf)) {
		req(VIRTIO_BLK_T_OUT, off / 512, buf, sizeof(buf));
		virtio_blk_handle(b, &chain);
	}
	double modelseq = now_s() - t0;
	printf("BENCH vmm blk_4k_random_read_iops %.0f iops %.0f raw-pread\n", n4k / model4k,
	       n4k / raw4k);
	printf("BENCH vmm blk_1m_seq_write_mbps %.0f MB/s %.0f raw-pwrite\n",
	       (double)DISK / 1e6 / modelseq, (double)DISK / 1e6 / rawseq);
	virtio_blk_free(b);
	close(fd);
	unlink(path);
	free(offs);
	return 0;
}
