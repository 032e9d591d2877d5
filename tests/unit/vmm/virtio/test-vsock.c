/* The virtio-vsock model through its transport, over fake guest RAM and real unix sockets:
 * guest and host connects, data both ways, shutdown and RST, and malformed packets that must
 * reset the device rather than crash it. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "base/log.h"
#include "vmm/event.h"
#include "vmm/mem.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"

#include <fcntl.h>
#include <linux/virtio_vsock.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RAM (2u << 20) /* holds every queue's QN buffers: buf_addr(2, QN - 1) + 0x8000 */
#define QN 16
#define RX_BUF 4096
#define GUEST_CID 3
#define HDR sizeof(struct virtio_vsock_hdr)

struct rig {
	uint8_t *ram;
	struct guest_mem gm;
	struct event_loop *loop;
	struct virtio_vsock *vs;
	struct virtio_mmio t;
	uint16_t avail[2];
	uint16_t seen_used[2];
	char uds[90];
};

static uint64_t ring_base(unsigned q)
{
	return 0x1000 + q * 0x4000ull; /* desc, avail, used at +0, +0x1000, +0x2000 */
}

static uint64_t buf_addr(unsigned q, unsigned i)
{
	return 0x20000 + (q * QN + i) * 0x8000ull;
}

static void put_desc(struct rig *r, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags)
{
	uint8_t *d = r->ram + ring_base(q) + 16u * i;
	uint16_t next = 0;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void publish(struct rig *r, unsigned q, uint16_t head)
{
	uint8_t *avail = r->ram + ring_base(q) + 0x1000;
	memcpy(avail + 4 + 2u * (r->avail[q] % QN), &head, 2);
	r->avail[q]++;
	memcpy(avail + 2, &r->avail[q], 2);
}

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->ram = calloc(1, RAM);
	gm_init_fake(&r->gm, r->ram, RAM);
	event_loop_new(&r->loop, NULL);
	snprintf(r->uds, sizeof(r->uds), "%s/v.sock", tap_tmpdir());
	virtio_vsock_new(GUEST_CID, r->uds, r->loop, &r->vs, NULL);
	virtio_mmio_init(&r->t, &virtio_vsock_ops, r->vs, &r->gm, 0);
	virtio_vsock_set_transport(r->vs, &r->t);
	r->t.status = 0x0f; /* ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK */
	for (unsigned q = 0; q < 3; q++) {
		struct vq *v = &r->t.queues[q];
		v->num = QN;
		v->desc = ring_base(q);
		v->avail = ring_base(q) + 0x1000;
		v->used = ring_base(q) + 0x2000;
		v->ready = true;
	}
	/* every rx slot gets a buffer, as the Linux driver does */
	for (uint16_t i = 0; i < QN; i++) {
		put_desc(r, 0, i, buf_addr(0, i), RX_BUF, 2 /* VRING_DESC_F_WRITE */);
		publish(r, 0, i);
	}
}

static void rig_free(struct rig *r)
{
	virtio_vsock_free(r->vs);
	virtio_mmio_destroy(&r->t);
	event_loop_free(r->loop);
	free(r->ram);
}

static void guest_send(struct rig *r, uint32_t src_port, uint32_t dst_port, uint16_t op,
		       const void *data, uint32_t len)
{
	static uint16_t slot;
	uint16_t i = slot++ % QN;
	struct virtio_vsock_hdr h = {.src_cid = GUEST_CID,
				     .dst_cid = 2,
				     .src_port = src_port,
				     .dst_port = dst_port,
				     .len = len,
				     .type = VIRTIO_VSOCK_TYPE_STREAM,
				     .op = op,
				     .buf_alloc = 65536};
	if (op == VIRTIO_VSOCK_OP_SHUTDOWN)
		h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	memcpy(r->ram + buf_addr(1, i), &h, HDR);
	if (len)
		memcpy(r->ram + buf_addr(1, i) + HDR, data, len);
	put_desc(r, 1, i, buf_addr(1, i), (uint32_t)HDR + len, 0);
	publish(r, 1, i);
	virtio_mmio_kick(&r->t, 1);
}

/* The next packet the device put on the rx queue; false if none. */
static bool guest_recv(struct rig *r, struct virtio_vsock_hdr *h, char *data, size_t cap)
{
	uint16_t used;
	uint8_t *u = r->ram + ring_base(0) + 0x2000;
	memcpy(&used, u + 2, 2);
	if (used == r->seen_used[0])
		return false;
	uint32_t elem[2];
	memcpy(elem, u + 4 + 8u * (r->seen_used[0] % QN), 8);
	r->seen_used[0]++;
	uint8_t *b = r->ram + buf_addr(0, elem[0]);
	memcpy(h, b, HDR);
	size_t n = h->len < cap - 1 ? h->len : cap - 1;
	memcpy(data, b + HDR, n);
	data[n] = '\0';
	/* hand the buffer back, as the driver would */
	publish(r, 0, (uint16_t)elem[0]);
	virtio_mmio_kick(&r->t, 0);
	return true;
}

/* Runs the device thread's loop until the guest got a packet (or 2 s pass). */
static bool wait_recv(struct rig *r, struct virtio_vsock_hdr *h, char *data, size_t cap)
{
	for (int i = 0; i < 200; i++) {
		if (guest_recv(r, h, data, cap))
			return true;
		event_loop_poll_once(r->loop, 10);
	}
	return false;
}

/* A host program listening on host port `port`: "<uds>_<port>". */
static int listen_at(const struct rig *r, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", r->uds, port);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		return -1;
	return fd;
}

/* The guest connects from guest_port to a host listener on host_port: true once the device
 * answered RESPONSE. */
static bool guest_connects(struct rig *r, uint32_t guest_port, uint32_t host_port)
{
	struct virtio_vsock_hdr h;
	char buf[64];
	guest_send(r, guest_port, host_port, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	return wait_recv(r, &h, buf, sizeof(buf)) && h.op == VIRTIO_VSOCK_OP_RESPONSE &&
	       h.src_port == host_port && h.dst_port == guest_port;
}

TEST(guest_connects_to_a_host_listener_and_data_flows_both_ways)
{
	struct rig r;
	rig_init(&r);
	char buf[256];
	int lfd = listen_at(&r, 5000);
	ASSERT_GE(lfd, 0);
	struct virtio_vsock_hdr h;

	guest_send(&r, 1111, 5000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	ASSERT_EQ(h.src_port, 5000);
	ASSERT_EQ(h.dst_port, 1111);
	ASSERT_U64_EQ(h.dst_cid, GUEST_CID);
	ASSERT_EQ(h.buf_alloc, 256 * 1024);
	int fd = accept(lfd, NULL, NULL);
	ASSERT_GE(fd, 0);

	guest_send(&r, 1111, 5000, VIRTIO_VSOCK_OP_RW, "hello host", 10);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 10);
	ASSERT_TRUE(!memcmp(buf, "hello host", 10));

	ASSERT_EQ(write(fd, "hello guest", 11), 11);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RW);
	ASSERT_STR_EQ(buf, "hello guest");
	ASSERT_EQ(h.fwd_cnt, 10); /* the 10 bytes the host took, returned as credit */

	/* the guest closes: the host sees EOF and the guest gets the RST that completes it */
	guest_send(&r, 1111, 5000, VIRTIO_VSOCK_OP_SHUTDOWN, NULL, 0);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	close(lfd);
	rig_free(&r);
}

TEST(nobody_listening_means_rst)
{
	struct rig r;
	rig_init(&r);
	struct virtio_vsock_hdr h;
	char buf[64];
	guest_send(&r, 2222, 6000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	ASSERT_EQ(h.dst_port, 2222);
	/* data for a connection that does not exist is refused the same way */
	guest_send(&r, 2222, 6000, VIRTIO_VSOCK_OP_RW, "x", 1);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	ASSERT_EQ(r.t.status & 0x40, 0);
	rig_free(&r);
}

TEST(host_connects_with_connect_line_and_gets_ok)
{
	struct rig r;
	rig_init(&r);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r.uds);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(write(fd, "CONNECT 77\n", 11), 11);
	struct virtio_vsock_hdr h;
	char buf[64];
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_REQUEST);
	ASSERT_EQ(h.dst_port, 77);
	guest_send(&r, 77, h.src_port, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	char ok[32];
	snprintf(ok, sizeof(ok), "OK %u\n", h.src_port);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_EQ(n, (ssize_t)strlen(ok));
	buf[n] = '\0';
	ASSERT_STR_EQ(buf, ok);
	/* the host hangs up: the guest is told nothing more will come */
	close(fd);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	ASSERT_EQ(h.flags & VIRTIO_VSOCK_SHUTDOWN_SEND, VIRTIO_VSOCK_SHUTDOWN_SEND);
	rig_free(&r);
}

TEST(a_bad_connect_line_is_answered_and_closed)
{
	struct rig r;
	rig_init(&r);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r.uds);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(write(fd, "CONNECT -1\n", 11), 11);
	for (int i = 0; i < 20; i++)
		event_loop_poll_once(r.loop, 10);
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_GT(n, 0);
	ASSERT_TRUE(!strncmp(buf, "ERR", 3));
	ASSERT_EQ(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	rig_free(&r);
}

TEST(foreign_cid_is_dropped_and_unknown_type_is_reset)
{
	struct rig r;
	rig_init(&r);
	struct virtio_vsock_hdr h = {.src_cid = 99, .dst_cid = 2, .type = 1, .op = 1};
	memcpy(r.ram + buf_addr(1, 0), &h, HDR);
	put_desc(&r, 1, 0, buf_addr(1, 0), HDR, 0);
	publish(&r, 1, 0);
	virtio_mmio_kick(&r.t, 1);
	char buf[64];
	ASSERT_TRUE(!wait_recv(&r, &h, buf, sizeof(buf)));
	h = (struct virtio_vsock_hdr){.src_cid = GUEST_CID, .dst_cid = 2, .type = 2, .op = 1};
	memcpy(r.ram + buf_addr(1, 1), &h, HDR);
	put_desc(&r, 1, 1, buf_addr(1, 1), HDR, 0);
	publish(&r, 1, 1);
	virtio_mmio_kick(&r.t, 1);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	ASSERT_EQ(r.t.status & 0x40, 0);
	rig_free(&r);
}

/* Each malformed tx buffer must put the device in DEVICE_NEEDS_RESET and stop it. */
static void expect_broken(uint64_t addr, uint32_t desc_len, uint32_t hdr_len)
{
	struct rig r;
	rig_init(&r);
	struct virtio_vsock_hdr h = {
	    .src_cid = GUEST_CID, .dst_cid = 2, .type = 1, .op = 5, .len = hdr_len};
	if (addr < RAM - HDR)
		memcpy(r.ram + addr, &h, HDR);
	put_desc(&r, 1, 0, addr, desc_len, 0);
	publish(&r, 1, 0);
	virtio_mmio_kick(&r.t, 1);
	if (!(r.t.status & 0x40))
		tap_fail(__FILE__, __LINE__, "addr 0x%llx len %u hdr.len %u: no DEVICE_NEEDS_RESET",
			 (unsigned long long)addr, desc_len, hdr_len);
	rig_free(&r);
}

TEST(malformed_packets_need_reset)
{
	expect_broken(buf_addr(1, 0), 20, 0);             /* header cut short */
	expect_broken(buf_addr(1, 0), HDR + 4, 100);      /* len beyond the buffer */
	expect_broken(buf_addr(1, 0), HDR + 4, 1u << 31); /* absurd len */
	expect_broken(RAM + 4096, HDR, 0);                /* outside guest RAM */
	expect_broken(RAM - 8, HDR, 0);                   /* straddles the end of RAM */
}

TEST(rx_buffers_too_small_for_a_header_need_reset)
{
	struct rig r;
	rig_init(&r);
	/* replace every rx buffer by a 16-byte one */
	for (uint16_t i = 0; i < QN; i++)
		put_desc(&r, 0, i, buf_addr(0, i), 16, 2);
	guest_send(&r, 1, 6000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0); /* owes an RST */
	ASSERT_EQ(r.t.status & 0x40, 0x40);
	rig_free(&r);
}

/* Host data arriving when the guest's rx buffers are too small breaks the device, and with it
 * every connection, in the middle of moving that data: nothing may touch the connection after
 * (ASan reports it). */
TEST(host_data_meeting_a_too_small_rx_buffer_needs_reset_without_touching_the_closed_conn)
{
	struct rig r;
	rig_init(&r);
	int lfd = listen_at(&r, 5001);
	ASSERT_GE(lfd, 0);
	ASSERT_TRUE(guest_connects(&r, 1112, 5001));
	int fd = accept(lfd, NULL, NULL);
	ASSERT_GE(fd, 0);
	for (uint16_t i = 0; i < QN; i++)
		put_desc(&r, 0, i, buf_addr(0, i), 16, 2);
	ASSERT_EQ(write(fd, "to the guest", 12), 12);
	for (int i = 0; i < 50 && !(r.t.status & 0x40); i++)
		event_loop_poll_once(r.loop, 10);
	ASSERT_EQ(r.t.status & 0x40, 0x40);
	close(fd);
	close(lfd);
	rig_free(&r);
}

/* A reset other than an orderly close names its reason in the VMM's log, so a host program
 * that sees ECONNRESET can be told why; an orderly close logs nothing. */
TEST(resets_that_are_not_an_orderly_close_are_logged_with_their_reason)
{
	int logp[2];
	ASSERT_EQ(pipe2(logp, O_NONBLOCK | O_CLOEXEC), 0);
	log_init("vmm", NULL, LOG_LEVEL_WARN, logp[1]);
	struct rig r;
	rig_init(&r);
	char buf[64], logged[2048];
	int lfd = listen_at(&r, 5002);
	ASSERT_GE(lfd, 0);
	struct virtio_vsock_hdr h;
	ASSERT_TRUE(guest_connects(&r, 1113, 5002));
	/* the guest asks again for the connection it has: reset, and said why */
	guest_send(&r, 1113, 5002, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	/* a second connection the guest resets without shutting it down first */
	ASSERT_TRUE(guest_connects(&r, 1114, 5002));
	guest_send(&r, 1114, 5002, VIRTIO_VSOCK_OP_RST, NULL, 0);
	/* a third one closed in order: SHUTDOWN, then our RST */
	ASSERT_TRUE(guest_connects(&r, 1115, 5002));
	guest_send(&r, 1115, 5002, VIRTIO_VSOCK_OP_SHUTDOWN, NULL, 0);
	ASSERT_TRUE(wait_recv(&r, &h, buf, sizeof(buf)));
	ASSERT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
	log_init("test", NULL, LOG_LEVEL_WARN, 2);
	ssize_t n = read(logp[0], logged, sizeof(logged) - 1);
	logged[n > 0 ? n : 0] = '\0';
	ASSERT_TRUE(strstr(logged, "guest port 1113: the guest asked again") != NULL);
	ASSERT_TRUE(strstr(logged, "the guest reset host port 5002, guest port 1114") != NULL);
	ASSERT_TRUE(strstr(logged, "1115") == NULL);
	close(logp[0]);
	close(logp[1]);
	close(lfd);
	rig_free(&r);
}

TEST(bad_cid_and_long_socket_path_are_refused)
{
	struct virtio_vsock *vs;
	struct sbx_err err = {0};
	ASSERT_LT(virtio_vsock_new(2, NULL, NULL, &vs, &err), 0);
	ASSERT_TRUE(strstr(err.msg, "reserved") != NULL);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	err = (struct sbx_err){0};
	ASSERT_LT(virtio_vsock_new(3, longpath, NULL, &vs, &err), 0);
	ASSERT_TRUE(strstr(err.msg, "too long") != NULL);
}
