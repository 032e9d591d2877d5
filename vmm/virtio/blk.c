/* virtio-blk (device id 2) over a raw image file: read, write, flush, get-id, discard; read-only
 * images answer writes with an I/O error; an empty (spare) slot has capacity 0 until media is
 * inserted, which the guest learns from a config-change interrupt. */
#define _GNU_SOURCE
#include "vmm/virtio/devices.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "vmm/virtio/mmio.h"

#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512ull
#define BLK_SEG_MAX 126
#define BLK_MAX_DISCARD_SEGS 32

struct virtio_blk {
	int fd; /* -1: no media */
	bool read_only;
	uint64_t capacity; /* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config cfg;
	struct virtio_mmio *t; /* for config-change interrupts on insert */
	uint64_t reads, writes, flushes, errors;
};

static void update_config(struct virtio_blk *b)
{
	memset(&b->cfg, 0, sizeof(b->cfg));
	b->cfg.capacity = b->capacity;
	b->cfg.seg_max = BLK_SEG_MAX;
	b->cfg.blk_size = 512;
	b->cfg.max_discard_sectors = 0xffffffffu;
	b->cfg.max_discard_seg = BLK_MAX_DISCARD_SEGS;
	b->cfg.discard_sector_alignment = 8;
}

/* Sector range [sector, sector + bytes/512) inside the disk, with overflow checks. */
static bool in_disk(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	if (bytes % SECTOR)
		return false;
	uint64_t n = bytes / SECTOR;
	return sector <= b->capacity && n <= b->capacity - sector;
}

static uint8_t do_rw(struct virtio_blk *b, const struct vq_chain *c, uint32_t type, uint64_t sector,
		     uint64_t *written)
{
	if (b->fd < 0)
		return VIRTIO_BLK_S_IOERR;
	off_t off = (off_t)(sector * SECTOR);
	if (type == VIRTIO_BLK_T_IN) {
		/* Data: every writable byte but the trailing status byte. */
		uint64_t len = c->in_len - 1;
		if (!in_disk(b, sector, len))
			return VIRTIO_BLK_S_IOERR;
		struct iovec iov[VQ_MAX_CHAIN];
		unsigned n = c->n_in;
		memcpy(iov, c->in, n * sizeof(iov[0]));
		iov[n - 1].iov_len--; /* status byte; in_len >= 1 was checked */
		ssize_t r = preadv(b->fd, iov, (int)n, off);
		if (r < 0 || (uint64_t)r != len)
			return VIRTIO_BLK_S_IOERR;
		*written = len;
		b->reads++;
		return VIRTIO_BLK_S_OK;
	}
	if (b->read_only)
		return VIRTIO_BLK_S_IOERR;
	uint64_t len = c->out_len - sizeof(struct virtio_blk_outhdr);
	if (!in_disk(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	/* Skip the 16-byte header inside the readable iovecs. */
	struct iovec iov[VQ_MAX_CHAIN];
	unsigned n = 0;
	uint64_t skip = sizeof(struct virtio_blk_outhdr);
	for (unsigned i = 0; i < c->n_out; i++) {
		if (skip >= c->out[i].iov_len) {
			skip -= c->out[i].iov_len;
			continue;
		}
		iov[n].iov_base = (uint8_t *)c->out[i].iov_base + skip;
		iov[n].iov_len = c->out[i].iov_len - skip;
		skip = 0;
		n++;
	}
	ssize_t r = n ? pwritev(b->fd, iov, (int)n, off) : 0;
	if (r < 0 || (uint64_t)r != len)
		return VIRTIO_BLK_S_IOERR;
	b->writes++;
	return VIRTIO_BLK_S_OK;
}

static uint8_t do_discard(struct virtio_blk *b, const struct vq_chain *c)
{
	if (b->fd < 0 || b->read_only)
		return VIRTIO_BLK_S_IOERR;
	uint64_t len = c->out_len - sizeof(struct virtio_blk_outhdr);
	if (len == 0 || len % sizeof(struct virtio_blk_discard_write_zeroes) ||
	    len / sizeof(struct virtio_blk_discard_write_zeroes) > BLK_MAX_DISCARD_SEGS)
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t off = 0; off < len; off += sizeof(struct virtio_blk_discard_write_zeroes)) {
		struct virtio_blk_discard_write_zeroes seg;
		iov_to_buf(c->out, c->n_out, sizeof(struct virtio_blk_outhdr) + off, &seg,
			   sizeof(seg));
		if (!in_disk(b, seg.sector, (uint64_t)seg.num_sectors * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)(seg.sector * SECTOR),
			      (off_t)seg.num_sectors * (off_t)SECTOR) < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Handles one request; returns bytes written into the driver's buffers. */
uint32_t virtio_blk_handle(struct virtio_blk *b, const struct vq_chain *c)
{
	/* A request is a readable header, then writable data/status; the status byte is last. */
	if (c->out_len < sizeof(struct virtio_blk_outhdr) || c->in_len < 1) {
		b->errors++;
		return 0;
	}
	struct virtio_blk_outhdr h;
	iov_to_buf(c->out, c->n_out, 0, &h, sizeof(h));
	uint64_t written = 0;
	uint8_t status;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = do_rw(b, c, h.type, h.sector, &written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = b->fd >= 0 && fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		b->flushes++;
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = buf_to_iov(c->in, c->n_in, 0, b->serial,
				     c->in_len - 1 < sizeof(b->serial) ? c->in_len - 1
								       : sizeof(b->serial));
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
		status = do_discard(b, c);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (status != VIRTIO_BLK_S_OK)
		b->errors++;
	const struct iovec *last = &c->in[c->n_in - 1];
	((uint8_t *)last->iov_base)[last->iov_len - 1] = status;
	return (uint32_t)(written + 1);
}

static void blk_notify(void *dev, struct virtio_mmio *t, unsigned qi)
{
	struct virtio_blk *b = dev;
	struct vq *q = &t->queues[qi];
	static __thread struct vq_chain c;
	int r;
	while ((r = vq_pop(q, t->gm, &c)) > 0) {
		if (c.n_in == 0 || c.in[c.n_in - 1].iov_len == 0) {
			r = -1; /* no status byte: the driver broke the protocol */
			break;
		}
		uint32_t written = virtio_blk_handle(b, &c);
		if (vq_push(q, t->gm, c.head, written) < 0) {
			r = -1;
			break;
		}
	}
	if (r < 0)
		virtio_mmio_needs_reset(t);
	virtio_mmio_signal_used(t, qi);
}

static void blk_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_blk *b = dev;
	memcpy(data, (uint8_t *)&b->cfg + off, size);
}

const struct vdev_ops virtio_blk_ops = {
    .name = "blk",
    .device_id = 2,
    .features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		(1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD),
    .num_queues = 1,
    .config_size = sizeof(struct virtio_blk_config),
    .config_read = blk_config_read,
    .notify = blk_notify,
};

static int attach(struct virtio_blk *b, const char *path, bool read_only, const char *serial,
		  struct sbx_err *err)
{
	_cleanup_close_ int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "disk '%s'", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sbx_fail(err, errno, "disk '%s'", path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return sbx_failx(err, EINVAL, "disk '%s' is not a file or block device", path);
	b->capacity = (uint64_t)st.st_size / SECTOR;
	b->read_only = read_only;
	memset(b->serial, 0, sizeof(b->serial));
	/* The id is 20 bytes, NUL-padded, and need not be NUL-terminated (virtio 1.1 §5.2.6). */
	if (serial)
		memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
	b->fd = TAKE_FD(fd);
	update_config(b);
	return 0;
}

int virtio_blk_new(const char *path, bool read_only, const char *serial, struct virtio_blk **ret,
		   struct sbx_err *err)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return sbx_fail(err, ENOMEM, "virtio-blk");
	b->fd = -1;
	update_config(b);
	if (path) {
		int r = attach(b, path, read_only, serial, err);
		if (r < 0) {
			free(b);
			return r;
		}
	}
	*ret = b;
	return 0;
}

void virtio_blk_set_transport(struct virtio_blk *b, struct virtio_mmio *t)
{
	b->t = t;
}

int virtio_blk_insert(struct virtio_blk *b, const char *path, bool read_only, const char *serial,
		      struct sbx_err *err)
{
	if (b->fd >= 0)
		return sbx_failx(err, EBUSY, "the slot already has media");
	int r = attach(b, path, read_only, serial, err);
	if (r == 0 && b->t)
		virtio_mmio_config_changed(b->t);
	return r;
}

bool virtio_blk_read_only(const struct virtio_blk *b)
{
	return b->read_only;
}

void virtio_blk_free(struct virtio_blk *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}
