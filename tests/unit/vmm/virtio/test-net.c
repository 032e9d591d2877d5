/* The virtio-net model through its transport, over fake guest RAM: frames from the guest reach
 * a fake backend (a callback, or a SOCK_SEQPACKET pair standing in for a tap), frames to the
 * guest fill mergeable buffers or wait for them, feature negotiation with and without a vnet
 * header, and malformed chains that must be refused without a crash. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "vmm/mem.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define RAM (4u << 20)
#define QN 16
#define HDR 12u
#define DESC_NEXT 1
#define DESC_WRITE 2
#define BUF_BASE 0x40000ull
#define BUF_STRIDE 0x11000ull /* room for one 65 KiB frame per slot */
#define STATUS_READY 0x0f     /* ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK */
#define F(b) (1ull << (b))
/* not VIRTIO_F_VERSION_1: <linux/virtio_config.h> redefines it as a bit number */
#define FEATURE_VERSION_1 (1ull << 32)

struct rig {
	uint8_t *ram;
	struct guest_mem gm;
	struct virtio_net *net;
	struct virtio_mmio t;
	int peer; /* the "tap" side of an fd backend, or -1 */
	uint16_t avail[2];
	uint16_t seen_used[2];
	uint8_t sent[2][70000]; /* what the callback backend got */
	size_t sent_len[2];
	unsigned n_sent;
};

static uint64_t ring_base(unsigned q)
{
	return 0x1000 + q * 0x4000ull; /* desc, avail, used at +0, +0x1000, +0x2000 */
}

static uint64_t buf_addr(unsigned q, unsigned i)
{
	return BUF_BASE + (q * QN + i) * BUF_STRIDE;
}

static void put_desc(struct rig *r, unsigned q, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *d = r->ram + ring_base(q) + 16u * i;
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

static void reg_write(struct rig *r, uint64_t off, uint32_t v)
{
	virtio_mmio_io(&r->t, off, (uint8_t *)&v, 4, true);
}

static uint32_t reg_read(struct rig *r, uint64_t off)
{
	uint32_t v = 0;
	virtio_mmio_io(&r->t, off, (uint8_t *)&v, 4, false);
	return v;
}

static int capture(void *opaque, const uint8_t *frame, size_t len)
{
	struct rig *r = opaque;
	if (r->n_sent < 2) {
		memcpy(r->sent[r->n_sent], frame, len);
		r->sent_len[r->n_sent] = len;
	}
	r->n_sent++;
	return 0;
}

/* The driver's side of initialization (virtio 1.1 §3.1.1), through the registers. Returns
 * the status read back (FEATURES_OK missing means the features were refused). */
static uint32_t negotiate(struct rig *r, uint64_t features)
{
	reg_write(r, 0x070, 0);
	reg_write(r, 0x070, 3);
	reg_write(r, 0x024, 0);
	reg_write(r, 0x020, (uint32_t)features);
	reg_write(r, 0x024, 1);
	reg_write(r, 0x020, (uint32_t)((features | FEATURE_VERSION_1) >> 32));
	reg_write(r, 0x070, 0x0b);
	if (!(reg_read(r, 0x070) & 8))
		return reg_read(r, 0x070);
	for (unsigned q = 0; q < 2; q++) {
		reg_write(r, 0x030, q);
		reg_write(r, 0x038, QN);
		reg_write(r, 0x080, (uint32_t)ring_base(q));
		reg_write(r, 0x090, (uint32_t)(ring_base(q) + 0x1000));
		reg_write(r, 0x0a0, (uint32_t)(ring_base(q) + 0x2000));
		reg_write(r, 0x044, 1);
	}
	r->avail[0] = r->avail[1] = r->seen_used[0] = r->seen_used[1] = 0;
	reg_write(r, 0x070, STATUS_READY);
	return reg_read(r, 0x070);
}

/* fd: -2 for the callback backend, else a SOCK_SEQPACKET pair with or without vnet_hdr. */
static void rig_init(struct rig *r, bool fd_backend, bool vnet_hdr)
{
	memset(r, 0, sizeof(*r));
	r->ram = calloc(1, RAM);
	gm_init_fake(&r->gm, r->ram, RAM);
	r->peer = -1;
	struct virtio_net_backend be = {.fd = -1, .send = capture, .opaque = r};
	if (fd_backend) {
		int sv[2];
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
		be = (struct virtio_net_backend){.fd = sv[0], .vnet_hdr = vnet_hdr};
		r->peer = sv[1];
	}
	const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	virtio_net_new(mac, &be, &r->net, NULL);
	virtio_mmio_init(&r->t, virtio_net_ops(r->net), r->net, &r->gm, 0);
	virtio_net_set_transport(r->net, &r->t);
}

static void rig_free(struct rig *r)
{
	virtio_net_free(r->net);
	virtio_mmio_destroy(&r->t);
	if (r->peer >= 0)
		close(r->peer);
	free(r->ram);
}

/* Gives the device n rx buffers of len bytes each. */
static void rx_buffers(struct rig *r, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = (uint16_t)(r->avail[0] % QN);
		put_desc(r, 0, slot, buf_addr(0, slot), len, DESC_WRITE, 0);
		publish(r, 0, slot);
	}
}

/* The next used rx element: false if none. */
static bool rx_used(struct rig *r, uint32_t *id, uint32_t *len)
{
	uint16_t used;
	uint8_t *u = r->ram + ring_base(0) + 0x2000;
	memcpy(&used, u + 2, 2);
	if (used == r->seen_used[0])
		return false;
	uint32_t elem[2];
	memcpy(elem, u + 4 + 8u * (r->seen_used[0] % QN), 8);
	r->seen_used[0]++;
	*id = elem[0];
	*len = elem[1];
	return true;
}

static uint16_t used_idx(struct rig *r, unsigned q)
{
	uint16_t used;
	memcpy(&used, r->ram + ring_base(q) + 0x2000 + 2, 2);
	return used;
}

/* A tx chain: header (hdr, 12 bytes) then the frame split over two readable buffers. */
static void guest_tx(struct rig *r, const struct virtio_net_hdr_v1 *hdr, const uint8_t *frame,
		     uint32_t len)
{
	uint16_t d = (uint16_t)((r->avail[1] * 3) % QN);
	uint64_t a = buf_addr(1, d);
	memcpy(r->ram + a, hdr, HDR);
	memcpy(r->ram + a + HDR, frame, len);
	uint32_t cut = len / 2;
	put_desc(r, 1, d, a, HDR, DESC_NEXT, (uint16_t)((d + 1) % QN));
	put_desc(r, 1, (uint16_t)((d + 1) % QN), a + HDR, cut, DESC_NEXT, (uint16_t)((d + 2) % QN));
	put_desc(r, 1, (uint16_t)((d + 2) % QN), a + HDR + cut, len - cut, 0, 0);
	publish(r, 1, d);
	virtio_mmio_kick(&r->t, 1);
}

static void fill_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

static struct virtio_net_stats stats(struct rig *r)
{
	struct virtio_net_stats s;
	virtio_net_get_stats(r->net, &s);
	return s;
}

TEST(config_has_mac_and_link_up)
{
	static struct rig r;
	rig_init(&r, false, false);
	ASSERT_EQ(reg_read(&r, 0x008), 1);
	uint8_t cfg[8];
	for (unsigned i = 0; i < 8; i++)
		virtio_mmio_io(&r.t, 0x100 + i, &cfg[i], 1, false);
	ASSERT_EQ(cfg[0], 0x02);
	ASSERT_EQ(cfg[5], 0x55);
	ASSERT_EQ(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	rig_free(&r);
}

TEST(features_without_vnet_hdr_offer_no_offloads)
{
	static struct rig r;
	rig_init(&r, false, false);
	uint64_t f = virtio_net_ops(r.net)->features;
	ASSERT_TRUE(f & F(VIRTIO_NET_F_MAC));
	ASSERT_TRUE(f & F(VIRTIO_NET_F_STATUS));
	ASSERT_TRUE(f & F(VIRTIO_NET_F_MRG_RXBUF));
	ASSERT_EQ(f & (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
		       F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4)),
		  0);
	/* a driver asking for what was not offered does not get FEATURES_OK */
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_CSUM)) & 8, 0);
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MAC)), STATUS_READY);
	ASSERT_EQ(virtio_net_tap_offloads(r.net), 0);
	rig_free(&r);
}

TEST(features_with_vnet_hdr_reach_the_tap)
{
	static struct rig r;
	rig_init(&r, true, true);
	uint64_t f = virtio_net_ops(r.net)->features;
	ASSERT_TRUE(f & F(VIRTIO_NET_F_CSUM));
	ASSERT_TRUE(f & F(VIRTIO_NET_F_GUEST_CSUM));
	ASSERT_TRUE(f & F(VIRTIO_NET_F_GUEST_TSO4));
	ASSERT_TRUE(f & F(VIRTIO_NET_F_GUEST_TSO6));
	ASSERT_TRUE(f & F(VIRTIO_NET_F_HOST_TSO4));
	ASSERT_TRUE(f & F(VIRTIO_NET_F_GUEST_UFO));
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4)),
		  STATUS_READY);
	ASSERT_EQ(virtio_net_tap_offloads(r.net), TUN_F_CSUM | TUN_F_TSO4);
	/* TSO without checksum offload is not something the tap may be asked for */
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_GUEST_TSO6)), STATUS_READY);
	ASSERT_EQ(virtio_net_tap_offloads(r.net), 0);
	ASSERT_EQ(negotiate(&r, f), STATUS_READY);
	ASSERT_EQ(virtio_net_tap_offloads(r.net), TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO);
	rig_free(&r);
}

TEST(tx_frame_reaches_callback_backend)
{
	static struct rig r;
	static uint8_t frame[1500];
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MRG_RXBUF)), STATUS_READY);
	fill_frame(frame, sizeof(frame), 3);
	struct virtio_net_hdr_v1 h = {0};
	guest_tx(&r, &h, frame, sizeof(frame));
	ASSERT_EQ(r.n_sent, 1);
	ASSERT_EQ(r.sent_len[0], sizeof(frame));
	ASSERT_EQ(memcmp(r.sent[0], frame, sizeof(frame)), 0);
	ASSERT_EQ(used_idx(&r, 1), 1);
	ASSERT_EQ(stats(&r).tx_frames, 1);
	ASSERT_EQ(stats(&r).tx_bytes, sizeof(frame));
	rig_free(&r);
}

TEST(tx_over_vnet_hdr_fd_keeps_the_header)
{
	static struct rig r;
	static uint8_t frame[200], got[400];
	rig_init(&r, true, true);
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4)), STATUS_READY);
	fill_frame(frame, sizeof(frame), 9);
	struct virtio_net_hdr_v1 h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				      .gso_size = 100,
				      .csum_start = 34,
				      .csum_offset = 16};
	guest_tx(&r, &h, frame, sizeof(frame));
	ssize_t n = read(r.peer, got, sizeof(got));
	ASSERT_EQ(n, HDR + sizeof(frame));
	ASSERT_EQ(memcmp(got, &h, HDR), 0);
	ASSERT_EQ(memcmp(got + HDR, frame, sizeof(frame)), 0);
	/* the same offload on a plain fd is the guest's mistake: dropped, counted */
	static struct rig p;
	rig_init(&p, true, false);
	ASSERT_EQ(negotiate(&p, 0), STATUS_READY);
	guest_tx(&p, &h, frame, sizeof(frame));
	ASSERT_EQ(read(p.peer, got, sizeof(got)), -1);
	ASSERT_EQ(stats(&p).tx_malformed, 1);
	ASSERT_EQ(used_idx(&p, 1), 1);
	h = (struct virtio_net_hdr_v1){0};
	guest_tx(&p, &h, frame, sizeof(frame));
	ASSERT_EQ(read(p.peer, got, sizeof(got)), sizeof(frame)); /* no header on a plain fd */
	rig_free(&p);
	rig_free(&r);
}

TEST(rx_mergeable_buffers_set_num_buffers)
{
	static struct rig r;
	static uint8_t frame[1000];
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MRG_RXBUF)), STATUS_READY);
	rx_buffers(&r, 8, 256);
	virtio_mmio_kick(&r.t, 0);
	fill_frame(frame, sizeof(frame), 1);
	virtio_net_receive(r.net, frame, sizeof(frame));
	/* 12 + 1000 bytes over 256-byte buffers: 4 of them */
	uint32_t id, len, total = 0;
	uint8_t got[2048];
	unsigned n = 0;
	while (rx_used(&r, &id, &len)) {
		ASSERT_LE(len, 256);
		memcpy(got + total, r.ram + buf_addr(0, id), len);
		total += len;
		n++;
	}
	ASSERT_EQ(n, 4);
	ASSERT_EQ(total, HDR + sizeof(frame));
	ASSERT_EQ(got[10] | got[11] << 8, 4); /* num_buffers */
	ASSERT_EQ(memcmp(got + HDR, frame, sizeof(frame)), 0);
	ASSERT_EQ(stats(&r).rx_frames, 1);
	rig_free(&r);
}

TEST(rx_without_mergeable_needs_one_big_buffer)
{
	static struct rig r;
	static uint8_t frame[1000];
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, 0), STATUS_READY);
	rx_buffers(&r, 2, 256);
	virtio_net_receive(r.net, frame, sizeof(frame));
	uint32_t id, len;
	ASSERT_TRUE(!rx_used(&r, &id, &len));
	ASSERT_EQ(stats(&r).rx_dropped, 1); /* could never fit: dropped, buffers kept */
	virtio_net_receive(r.net, frame, 100);
	ASSERT_TRUE(rx_used(&r, &id, &len));
	ASSERT_EQ(len, HDR + 100);
	ASSERT_EQ(r.ram[buf_addr(0, id) + 10], 1); /* num_buffers is 1 */
	rig_free(&r);
}

TEST(rx_with_no_buffers_waits_callback_backend)
{
	static struct rig r;
	static uint8_t frame[300];
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MRG_RXBUF)), STATUS_READY);
	for (uint8_t i = 0; i < 3; i++) {
		fill_frame(frame, sizeof(frame), i);
		virtio_net_receive(r.net, frame, sizeof(frame));
	}
	uint32_t id, len;
	ASSERT_TRUE(!rx_used(&r, &id, &len));
	ASSERT_GE(stats(&r).rx_waits, 1);
	ASSERT_EQ(stats(&r).rx_dropped, 0);
	rx_buffers(&r, 8, 2048);
	virtio_mmio_kick(&r.t, 0);
	for (uint8_t i = 0; i < 3; i++) {
		ASSERT_TRUE(rx_used(&r, &id, &len));
		ASSERT_EQ(len, HDR + sizeof(frame));
		ASSERT_EQ(r.ram[buf_addr(0, id) + HDR], i); /* in order */
	}
	ASSERT_EQ(stats(&r).rx_frames, 3);
	rig_free(&r);
}

TEST(rx_with_no_buffers_waits_fd_backend)
{
	static struct rig r;
	static uint8_t frame[HDR + 100];
	rig_init(&r, true, true);
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MRG_RXBUF)), STATUS_READY);
	memset(frame, 0, HDR);
	fill_frame(frame + HDR, 100, 5);
	ASSERT_EQ(write(r.peer, frame, sizeof(frame)), sizeof(frame));
	ASSERT_EQ(write(r.peer, frame, sizeof(frame)), sizeof(frame));
	virtio_net_backend_readable(r.net);
	uint32_t id, len;
	ASSERT_TRUE(!rx_used(&r, &id, &len));
	ASSERT_EQ(stats(&r).rx_dropped, 0);
	rx_buffers(&r, 1, 2048);
	virtio_mmio_kick(&r.t, 0); /* the frame read before waits for this */
	ASSERT_TRUE(rx_used(&r, &id, &len));
	ASSERT_EQ(len, sizeof(frame));
	ASSERT_EQ(memcmp(r.ram + buf_addr(0, id) + HDR, frame + HDR, 100), 0);
	ASSERT_TRUE(!rx_used(&r, &id, &len));
	rx_buffers(&r, 1, 2048);
	virtio_mmio_kick(&r.t, 0);
	virtio_net_backend_readable(r.net);
	ASSERT_TRUE(rx_used(&r, &id, &len));
	ASSERT_EQ(stats(&r).rx_frames, 2);
	rig_free(&r);
}

TEST(rx_before_driver_ok_is_dropped_and_counted)
{
	static struct rig r;
	static uint8_t frame[100];
	rig_init(&r, false, false);
	virtio_net_receive(r.net, frame, sizeof(frame));
	ASSERT_EQ(stats(&r).rx_dropped, 1);
	rig_free(&r);
}

TEST(malformed_tx_chains_are_dropped)
{
	static struct rig r;
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, 0), STATUS_READY);
	/* a header that does not fit: 8 bytes */
	put_desc(&r, 1, 0, buf_addr(1, 0), 8, 0, 0);
	publish(&r, 1, 0);
	/* a writable buffer in a tx chain */
	put_desc(&r, 1, 1, buf_addr(1, 1), 200, DESC_NEXT, 2);
	put_desc(&r, 1, 2, buf_addr(1, 2), 200, DESC_WRITE, 0);
	publish(&r, 1, 1);
	/* a frame over 65550 bytes */
	put_desc(&r, 1, 3, buf_addr(1, 3), HDR + VIRTIO_NET_FRAME_MAX + 1, 0, 0);
	publish(&r, 1, 3);
	/* checksum offload that was never negotiated */
	struct virtio_net_hdr_v1 h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM};
	memcpy(r.ram + buf_addr(1, 4), &h, HDR);
	put_desc(&r, 1, 4, buf_addr(1, 4), HDR + 100, 0, 0);
	publish(&r, 1, 4);
	virtio_mmio_kick(&r.t, 1);
	ASSERT_EQ(r.n_sent, 0);
	ASSERT_EQ(stats(&r).tx_malformed, 4);
	ASSERT_EQ(used_idx(&r, 1), 4); /* each chain given back */
	ASSERT_EQ(reg_read(&r, 0x070) & 0x40, 0);
	/* the largest legal frame still passes */
	put_desc(&r, 1, 5, buf_addr(1, 5), HDR + VIRTIO_NET_FRAME_MAX, 0, 0);
	memset(r.ram + buf_addr(1, 5), 0, HDR);
	publish(&r, 1, 5);
	virtio_mmio_kick(&r.t, 1);
	ASSERT_EQ(r.n_sent, 1);
	ASSERT_EQ(r.sent_len[0], VIRTIO_NET_FRAME_MAX);
	rig_free(&r);
}

TEST(tx_descriptor_loop_resets_the_device)
{
	static struct rig r;
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, 0), STATUS_READY);
	put_desc(&r, 1, 0, buf_addr(1, 0), 64, DESC_NEXT, 1);
	put_desc(&r, 1, 1, buf_addr(1, 1), 64, DESC_NEXT, 0);
	publish(&r, 1, 0);
	virtio_mmio_kick(&r.t, 1);
	ASSERT_EQ(r.n_sent, 0);
	ASSERT_TRUE(reg_read(&r, 0x070) & 0x40);
	ASSERT_GE(r.t.bad_input, 1);
	/* the driver's reset brings it back */
	ASSERT_EQ(negotiate(&r, 0), STATUS_READY);
	static uint8_t frame[64];
	struct virtio_net_hdr_v1 h = {0};
	guest_tx(&r, &h, frame, sizeof(frame));
	ASSERT_EQ(r.n_sent, 1);
	rig_free(&r);
}

TEST(rx_read_only_or_short_buffer_resets_the_device)
{
	static struct rig r;
	static uint8_t frame[100];
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MRG_RXBUF)), STATUS_READY);
	put_desc(&r, 0, 0, buf_addr(0, 0), 2048, 0, 0); /* not writable */
	publish(&r, 0, 0);
	virtio_net_receive(r.net, frame, sizeof(frame));
	ASSERT_TRUE(reg_read(&r, 0x070) & 0x40);
	uint32_t id, len;
	ASSERT_TRUE(!rx_used(&r, &id, &len));
	virtio_net_receive(r.net, frame, sizeof(frame)); /* ignored while broken */
	ASSERT_GE(stats(&r).rx_dropped, 1);

	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MRG_RXBUF)), STATUS_READY);
	put_desc(&r, 0, 0, buf_addr(0, 0), 6, DESC_WRITE, 0); /* shorter than the header */
	publish(&r, 0, 0);
	virtio_net_receive(r.net, frame, sizeof(frame));
	ASSERT_TRUE(reg_read(&r, 0x070) & 0x40);
	/* a buffer outside RAM */
	ASSERT_EQ(negotiate(&r, F(VIRTIO_NET_F_MRG_RXBUF)), STATUS_READY);
	put_desc(&r, 0, 0, RAM - 100, 2048, DESC_WRITE, 0);
	publish(&r, 0, 0);
	virtio_net_receive(r.net, frame, sizeof(frame));
	ASSERT_TRUE(reg_read(&r, 0x070) & 0x40);
	ASSERT_EQ(stats(&r).rx_frames, 0);
	rig_free(&r);
}

TEST(reset_drops_parked_frames)
{
	static struct rig r;
	static uint8_t frame[100];
	rig_init(&r, false, false);
	ASSERT_EQ(negotiate(&r, 0), STATUS_READY);
	for (unsigned i = 0; i < 70; i++) /* more than the backlog holds */
		virtio_net_receive(r.net, frame, sizeof(frame));
	ASSERT_GE(stats(&r).rx_dropped, 70 - 64);
	ASSERT_EQ(negotiate(&r, 0), STATUS_READY);
	ASSERT_EQ(stats(&r).rx_dropped, 70);
	rig_free(&r);
}

TEST(bad_backend_or_mac_is_refused)
{
	struct virtio_net *n = NULL;
	struct sbx_err err = {0};
	struct virtio_net_backend none = {.fd = -1};
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1}, mcast[6] = {0x03, 0, 0, 0, 0, 1};
	ASSERT_EQ(virtio_net_new(mac, &none, &n, &err), -EINVAL);
	struct virtio_net_backend cb = {.fd = -1, .send = capture};
	ASSERT_EQ(virtio_net_new(mcast, &cb, &n, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "multicast") != NULL);
}
