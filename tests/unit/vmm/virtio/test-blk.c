/* The virtio-blk request model against a temp image: data lands at the right offset, the
 * status byte tells errors apart, read-only and out-of-range requests are refused. */
#include "tap.h"
#include "base/err.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/queue.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <unistd.h>

static struct vq_chain bt_c;
static uint8_t bt_status;

/* header readable; data (len bytes) readable for OUT, writable for IN; status writable. */
static void bt_req(uint32_t type, uint64_t sector, void *data, size_t len)
{
	static struct virtio_blk_outhdr h;
	h = (struct virtio_blk_outhdr){.type = type, .sector = sector};
	memset(&bt_c, 0, sizeof(bt_c));
	bt_c.out[bt_c.n_out++] = (struct iovec){&h, sizeof(h)};
	bt_c.out_len = sizeof(h);
	if (type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD) {
		bt_c.out[bt_c.n_out++] = (struct iovec){data, len};
		bt_c.out_len += len;
	} else if (len) {
		bt_c.in[bt_c.n_in++] = (struct iovec){data, len};
		bt_c.in_len += len;
	}
	bt_status = 0xee;
	bt_c.in[bt_c.n_in++] = (struct iovec){&bt_status, 1};
	bt_c.in_len += 1;
}

static const char *bt_image(size_t size)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/disk.img", tap_tmpdir());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) < 0)
			path[0] = '\0';
		close(fd);
	}
	return path;
}

TEST(write_read_flush_get_id)
{
	const char *img = bt_image(1 << 20);
	struct virtio_blk *b;
	struct sbx_err err = {0};
	ASSERT_EQ(virtio_blk_new(img, false, "serial-123", &b, &err), 0);
	uint8_t buf[1024];
	memset(buf, 0x5a, sizeof(buf));
	bt_req(VIRTIO_BLK_T_OUT, 8, buf, sizeof(buf));
	ASSERT_EQ(virtio_blk_handle(b, &bt_c), 1);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_OK);
	uint8_t back[1024] = {0};
	bt_req(VIRTIO_BLK_T_IN, 8, back, sizeof(back));
	ASSERT_EQ(virtio_blk_handle(b, &bt_c), 1025);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_OK);
	ASSERT_TRUE(memcmp(buf, back, sizeof(buf)) == 0);
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	uint8_t raw = 0;
	ASSERT_EQ(pread(fd, &raw, 1, 8 * 512), 1);
	ASSERT_EQ(raw, 0x5a);
	close(fd);
	bt_req(VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	virtio_blk_handle(b, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_OK);
	char id[VIRTIO_BLK_ID_BYTES] = {0};
	bt_req(VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id));
	virtio_blk_handle(b, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_OK);
	ASSERT_STR_EQ(id, "serial-123");
	virtio_blk_free(b);
}

TEST(refusals)
{
	const char *img = bt_image(64 * 512);
	struct virtio_blk *b, *ro, *spare;
	struct sbx_err err = {0};
	ASSERT_EQ(virtio_blk_new(img, false, NULL, &b, &err), 0);
	uint8_t buf[1024] = {0};
	bt_req(VIRTIO_BLK_T_IN, 63, buf, 1024); /* runs past the end */
	virtio_blk_handle(b, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_IOERR);
	bt_req(VIRTIO_BLK_T_IN, UINT64_MAX, buf, 512); /* sector overflow */
	virtio_blk_handle(b, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_IOERR);
	bt_req(VIRTIO_BLK_T_IN, 0, buf, 100); /* not a whole sector */
	virtio_blk_handle(b, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_IOERR);
	bt_req(0x7777, 0, buf, 512);
	virtio_blk_handle(b, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_UNSUPP);

	ASSERT_EQ(virtio_blk_new(img, true, NULL, &ro, &err), 0);
	bt_req(VIRTIO_BLK_T_OUT, 0, buf, 512);
	virtio_blk_handle(ro, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_IOERR);

	ASSERT_EQ(virtio_blk_new(NULL, false, NULL, &spare, &err), 0);
	bt_req(VIRTIO_BLK_T_IN, 0, buf, 512);
	virtio_blk_handle(spare, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_IOERR);
	ASSERT_EQ(virtio_blk_insert(spare, img, false, "late", &err), 0);
	virtio_blk_handle(spare, &bt_c);
	ASSERT_EQ(bt_status, VIRTIO_BLK_S_OK);
	ASSERT_EQ(virtio_blk_insert(spare, img, false, "twice", &err), -EBUSY);
	virtio_blk_free(spare);
	virtio_blk_free(ro);

	/* A header too short to hold a request: nothing written, no status touched. */
	memset(&bt_c, 0, sizeof(bt_c));
	bt_status = 0xee;
	bt_c.in[bt_c.n_in++] = (struct iovec){&bt_status, 1};
	bt_c.in_len = 1;
	ASSERT_EQ(virtio_blk_handle(b, &bt_c), 0);
	ASSERT_EQ(bt_status, 0xee);
	virtio_blk_free(b);
	ASSERT_EQ(virtio_blk_new("/nonexistent.img", false, NULL, &b, &err), -ENOENT);
}
