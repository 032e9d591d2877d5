/* virtio-net (device id 1, virtio 1.1 §5.1): queue 0 receives, queue 1 transmits, no control
 * queue. Every frame carries struct virtio_net_hdr_v1 (12 bytes: VERSION_1 is required). Guest
 * chains are checked here before a byte reaches a backend: a broken rx ring resets the device,
 * a malformed tx chain is dropped and counted, and the guest carries on. */
#define _GNU_SOURCE
#include "vmm/virtio/devices.h"

#include "base/err.h"
#include "base/log.h"
#include "vmm/event.h"
#include "vmm/virtio/mmio.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum { NET_RXQ, NET_TXQ };

#define NET_HDR 12u        /* struct virtio_net_hdr_v1 */
#define NET_MIN_FRAME 14u  /* an Ethernet header */
#define NET_RX_BACKLOG 64  /* frames a callback backend may park while the guest has no buffers */
#define NET_RX_BURST 64    /* backend frames per wakeup, so other devices get the thread too */
#define NET_CONFIG_SIZE 10 /* mac[6], status, max_virtqueue_pairs */
#define F(bit) (1ull << (bit))

/* MRG_RXBUF lets one frame span several small rx buffers (Linux then posts page fragments
 * instead of 64 KiB chains); STATUS reports the link up. */
#define NET_FEATURES_BASE (F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF))
/* Only a vnet_hdr tap can carry partial checksums and GSO frames; slirp wants whole frames. */
#define NET_FEATURES_OFFLOAD                                                                       \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) |          \
	 F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_GUEST_UFO) | F(VIRTIO_NET_F_HOST_TSO4) |      \
	 F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_UFO))

struct rx_frame {
	uint8_t *buf; /* header + frame */
	size_t len;
};

struct virtio_net {
	uint8_t mac[6];
	struct virtio_net_backend be;
	struct virtio_mmio *t;
	bool active;     /* DRIVER_OK seen and no reset since */
	bool mrg_rxbuf;  /* negotiated: a frame may span several rx chains */
	bool guest_csum; /* negotiated: header flags may reach the guest */
	uint64_t features;
	unsigned offloads; /* TUN_F_* asked of the tap */
	bool fd_paused;    /* backend fd unwatched: a frame waits in rxbuf for rx buffers */
	size_t pending_len;
	uint8_t *rxbuf; /* NET_HDR + VIRTIO_NET_FRAME_MAX */
	uint8_t *txbuf; /* VIRTIO_NET_FRAME_MAX: a callback backend takes a flat frame */
	struct rx_frame backlog[NET_RX_BACKLOG];
	unsigned bl_head, bl_count;
	struct vq_chain chain;
	struct virtio_net_stats stats;
	struct log_ratelimit rl;
};

static void net_broken(struct virtio_net *n, const char *why)
{
	log_ratelimited(&n->rl, LOG_LEVEL_WARN, "virtio-net: %s; device needs reset", why);
	virtio_mmio_needs_reset(n->t);
}

static bool rx_ready(const struct virtio_net *n)
{
	return n->t && n->active && n->t->queues[NET_RXQ].ready;
}

/* Copies one frame (buf starts with its header) into rx chains, several of them with
 * MRG_RXBUF. 1: consumed (delivered, or dropped because it can never fit), 0: too few buffers
 * now (none kept), -1: the driver broke the ring. */
static int rx_deliver(struct virtio_net *n, uint8_t *buf, size_t len)
{
	struct vq *q = &n->t->queues[NET_RXQ];
	uint16_t heads[VQ_MAX_SIZE];
	uint32_t lens[VQ_MAX_SIZE];
	struct iovec hdr_iov[NET_HDR] = {{0}};
	unsigned used = 0, n_hdr = 0;
	size_t done = 0;
	if (!n->guest_csum)
		buf[0] = 0; /* §5.1.6.4: no checksum flags unless GUEST_CSUM was negotiated */
	while (done < len) {
		int r = vq_pop(q, n->t->gm, &n->chain);
		if (r < 0) {
			net_broken(n, "malformed rx chain");
			return -1;
		}
		if (r == 0) {
			while (used--)
				vq_unpop(q);
			n->stats.rx_waits++;
			return 0;
		}
		/* §5.1.6.3.1: rx buffers are writable and each holds at least the header */
		if (n->chain.n_out || n->chain.in_len < NET_HDR) {
			net_broken(n, "rx buffer read-only or shorter than the header");
			return -1;
		}
		if (used == 0)
			n_hdr = iov_slice(n->chain.in, n->chain.n_in, 0, NET_HDR, hdr_iov);
		size_t take = n->chain.in_len < len - done ? (size_t)n->chain.in_len : len - done;
		buf_to_iov(n->chain.in, n->chain.n_in, 0, buf + done, take);
		heads[used] = n->chain.head;
		lens[used] = (uint32_t)take;
		used++;
		done += take;
		/* Without MRG_RXBUF one chain holds the whole frame; a frame larger than every
		 * buffer the ring can hold would otherwise wait forever. */
		if (done < len && (!n->mrg_rxbuf || used == q->num)) {
			while (used--)
				vq_unpop(q);
			n->stats.rx_dropped++;
			return 1;
		}
	}
	uint16_t nbuf = htole16((uint16_t)used);
	buf_to_iov(hdr_iov, n_hdr, 10, &nbuf, sizeof(nbuf)); /* num_buffers */
	for (unsigned i = 0; i < used; i++) {
		if (vq_push(q, n->t->gm, heads[i], lens[i]) < 0) {
			net_broken(n, "used ring unreachable");
			return -1;
		}
	}
	n->stats.rx_frames++;
	n->stats.rx_bytes += len - NET_HDR;
	return 1;
}

static void on_backend_fd(void *opaque, uint32_t events)
{
	virtio_net_backend_readable(opaque);
}

static void watch_fd(struct virtio_net *n)
{
	if (n->fd_paused && n->be.loop &&
	    event_add(n->be.loop, n->be.fd, EPOLLIN, on_backend_fd, n) == 0)
		n->fd_paused = false;
}

static void pause_fd(struct virtio_net *n)
{
	if (!n->fd_paused && n->be.loop)
		event_del(n->be.loop, n->be.fd);
	n->fd_paused = true;
}

/* Reads one frame from the backend fd into rxbuf. 1: read, 0: nothing more for now. */
static int read_frame(struct virtio_net *n)
{
	size_t off = n->be.vnet_hdr ? 0 : NET_HDR;
	memset(n->rxbuf, 0, NET_HDR);
	ssize_t r = read(n->be.fd, n->rxbuf + off, NET_HDR + VIRTIO_NET_FRAME_MAX - off);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0) {
		/* the tap went away: stop polling it rather than spin on EPOLLHUP */
		log_ratelimited(&n->rl, LOG_LEVEL_WARN, "virtio-net: backend read: %s",
				r < 0 ? strerror(errno) : "end of file");
		pause_fd(n);
		return 0;
	}
	if ((size_t)r + off < NET_HDR + NET_MIN_FRAME) {
		n->stats.rx_dropped++;
		return 1; /* pending_len stays 0: the caller reads the next one */
	}
	n->pending_len = (size_t)r + off;
	return 1;
}

void virtio_net_backend_readable(struct virtio_net *n)
{
	struct virtio_mmio *t = n->t;
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	bool delivered = false;
	for (unsigned burst = 0; burst < NET_RX_BURST; burst++) {
		if (!n->pending_len) {
			if (read_frame(n) == 0)
				break;
			if (!n->pending_len)
				continue; /* a runt, dropped */
		}
		if (!rx_ready(n)) {
			/* a NIC whose driver is down drops what arrives */
			n->pending_len = 0;
			n->stats.rx_dropped++;
			continue;
		}
		int r = rx_deliver(n, n->rxbuf, n->pending_len);
		if (r == 0) {
			pause_fd(n); /* the rx kick resumes reading */
			break;
		}
		n->pending_len = 0;
		if (r < 0)
			break;
		delivered = true;
	}
	if (delivered)
		virtio_mmio_signal_used(t, NET_RXQ);
	pthread_mutex_unlock(&t->lock);
}

static void backlog_drop_all(struct virtio_net *n)
{
	while (n->bl_count) {
		free(n->backlog[n->bl_head].buf);
		n->bl_head = (n->bl_head + 1) % NET_RX_BACKLOG;
		n->bl_count--;
		n->stats.rx_dropped++;
	}
}

/* Delivers parked frames in order; true if any reached the guest. */
static bool backlog_flush(struct virtio_net *n)
{
	bool delivered = false;
	while (n->bl_count) {
		struct rx_frame *f = &n->backlog[n->bl_head];
		int r = rx_deliver(n, f->buf, f->len);
		if (r == 0)
			break;
		if (r < 0) {
			backlog_drop_all(n);
			break;
		}
		delivered = true;
		free(f->buf);
		n->bl_head = (n->bl_head + 1) % NET_RX_BACKLOG;
		n->bl_count--;
	}
	return delivered;
}

static void backlog_park(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	uint8_t *copy = n->bl_count < NET_RX_BACKLOG ? calloc(1, NET_HDR + len) : NULL;
	if (!copy) {
		n->stats.rx_dropped++;
		return;
	}
	memcpy(copy + NET_HDR, frame, len);
	n->backlog[(n->bl_head + n->bl_count) % NET_RX_BACKLOG] =
	    (struct rx_frame){copy, NET_HDR + len};
	n->bl_count++;
}

void virtio_net_receive(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	struct virtio_mmio *t = n->t;
	if (!t) {
		__atomic_fetch_add(&n->stats.rx_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&t->lock);
	bool delivered = false;
	if (!rx_ready(n) || len < NET_MIN_FRAME || len > VIRTIO_NET_FRAME_MAX) {
		n->stats.rx_dropped++;
	} else {
		delivered = backlog_flush(n);
		if (n->bl_count) {
			backlog_park(n, frame, len);
		} else {
			memset(n->rxbuf, 0, NET_HDR);
			memcpy(n->rxbuf + NET_HDR, frame, len);
			int r = rx_deliver(n, n->rxbuf, NET_HDR + len);
			if (r == 0)
				backlog_park(n, frame, len);
			delivered |= r > 0;
		}
	}
	if (delivered)
		virtio_mmio_signal_used(t, NET_RXQ);
	pthread_mutex_unlock(&t->lock);
}

/* The guest's header against what it negotiated: offloads only if accepted, and a checksum
 * position inside the frame. */
static bool tx_hdr_ok(const struct virtio_net *n, const struct virtio_net_hdr_v1 *h,
		      uint64_t frame_len)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint64_t end = (uint64_t)le16toh(h->csum_start) + le16toh(h->csum_offset) + 2;
		if (!(n->features & F(VIRTIO_NET_F_CSUM)) || end > frame_len)
			return false;
	}
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return h->gso_type == VIRTIO_NET_HDR_GSO_NONE;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return n->features & F(VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return n->features & F(VIRTIO_NET_F_HOST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return n->features & F(VIRTIO_NET_F_HOST_UFO);
	default:
		return false;
	}
}

int virtio_net_handle_tx(struct virtio_net *n, const struct vq_chain *c)
{
	struct virtio_net_hdr_v1 h;
	/* §5.1.6.2: tx chains are read-only and start with the header */
	if (c->n_in || c->out_len < NET_HDR + NET_MIN_FRAME ||
	    c->out_len - NET_HDR > VIRTIO_NET_FRAME_MAX)
		goto malformed;
	uint64_t len = c->out_len - NET_HDR;
	iov_to_buf(c->out, c->n_out, 0, &h, NET_HDR);
	if (!tx_hdr_ok(n, &h, len))
		goto malformed;
	ssize_t w;
	if (n->be.fd >= 0 && n->be.vnet_hdr) {
		w = writev(n->be.fd, c->out, (int)c->n_out); /* the tap reads the header itself */
	} else if (n->be.fd >= 0) {
		struct iovec iov[VQ_MAX_CHAIN];
		unsigned k = iov_slice(c->out, c->n_out, NET_HDR, len, iov);
		w = writev(n->be.fd, iov, (int)k);
	} else {
		iov_to_buf(c->out, c->n_out, NET_HDR, n->txbuf, len);
		w = n->be.send(n->be.opaque, n->txbuf, len);
	}
	/* a full or down backend loses the frame, as a wire would; TCP resends */
	if (w < 0) {
		n->stats.tx_dropped++;
	} else {
		n->stats.tx_frames++;
		n->stats.tx_bytes += len;
	}
	return 0;
malformed:
	n->stats.tx_malformed++;
	log_ratelimited(&n->rl, LOG_LEVEL_WARN, "virtio-net: malformed tx chain dropped");
	return -EINVAL;
}

static void net_tx(struct virtio_net *n, struct virtio_mmio *t)
{
	struct vq *q = &t->queues[NET_TXQ];
	int r;
	while ((r = vq_pop(q, t->gm, &n->chain)) > 0) {
		virtio_net_handle_tx(n, &n->chain);
		if (vq_push(q, t->gm, n->chain.head, 0) < 0) {
			r = -1;
			break;
		}
	}
	if (r < 0)
		net_broken(n, "malformed tx ring");
	virtio_mmio_signal_used(t, NET_TXQ);
}

static void net_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_net *n = dev;
	if (q == NET_TXQ) {
		net_tx(n, t);
		return;
	}
	/* new rx buffers: parked frames first, then the backend fd again */
	bool delivered = backlog_flush(n);
	if (n->pending_len) {
		int r = rx_deliver(n, n->rxbuf, n->pending_len);
		if (r != 0)
			n->pending_len = 0;
		delivered |= r > 0;
	}
	if (!n->pending_len && n->be.fd >= 0)
		watch_fd(n);
	if (delivered)
		virtio_mmio_signal_used(t, NET_RXQ);
}

static void net_activate(void *dev, struct virtio_mmio *t)
{
	struct virtio_net *n = dev;
	n->features = t->driver_features;
	n->mrg_rxbuf = n->features & F(VIRTIO_NET_F_MRG_RXBUF);
	n->guest_csum = n->features & F(VIRTIO_NET_F_GUEST_CSUM);
	n->active = true;
	if (n->be.fd < 0 || !n->be.vnet_hdr)
		return;
	/* The tap may hand us only what the guest accepted (TSO needs CSUM, §5.1.3.1). */
	unsigned off = 0;
	if (n->guest_csum) {
		off |= TUN_F_CSUM;
		off |= n->features & F(VIRTIO_NET_F_GUEST_TSO4) ? TUN_F_TSO4 : 0;
		off |= n->features & F(VIRTIO_NET_F_GUEST_TSO6) ? TUN_F_TSO6 : 0;
		off |= n->features & F(VIRTIO_NET_F_GUEST_UFO) ? TUN_F_UFO : 0;
	}
	n->offloads = off;
	/* Kernels since 4.14 may refuse UFO; the guest then simply never gets UFO frames. */
	if (ioctl(n->be.fd, TUNSETOFFLOAD, off) < 0 &&
	    ioctl(n->be.fd, TUNSETOFFLOAD, off & ~(unsigned)TUN_F_UFO) < 0)
		log_debug("virtio-net: TUNSETOFFLOAD 0x%x: %s", off, strerror(errno));
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;
	n->active = false;
	n->features = 0;
	n->mrg_rxbuf = n->guest_csum = false;
	if (n->pending_len)
		n->stats.rx_dropped++;
	n->pending_len = 0;
	backlog_drop_all(n);
	/* until the driver is back, frames are read and dropped rather than left queued */
	if (n->be.fd >= 0)
		watch_fd(n);
}

static void net_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_net *n = dev;
	uint8_t cfg[NET_CONFIG_SIZE];
	uint16_t status = htole16(VIRTIO_NET_S_LINK_UP), pairs = htole16(1);
	memcpy(cfg, n->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(data, cfg + off, size);
}

#define NET_OPS(feat)                                                                              \
	{                                                                                          \
		.name = "net", .device_id = 1, .features = (feat), .num_queues = 2,                \
		.config_size = NET_CONFIG_SIZE, .config_read = net_config_read,                    \
		.notify = net_notify, .activate = net_activate, .reset = net_reset,                \
	}

static const struct vdev_ops net_ops_plain = NET_OPS(NET_FEATURES_BASE);
static const struct vdev_ops net_ops_offload = NET_OPS(NET_FEATURES_BASE | NET_FEATURES_OFFLOAD);

const struct vdev_ops *virtio_net_ops(const struct virtio_net *n)
{
	return n->be.fd >= 0 && n->be.vnet_hdr ? &net_ops_offload : &net_ops_plain;
}

int virtio_net_new(const uint8_t mac[6], const struct virtio_net_backend *be,
		   struct virtio_net **ret, struct sbx_err *err)
{
	if (be->fd < 0 && !be->send)
		return sbx_failx(err, EINVAL, "virtio-net needs a backend");
	if (mac[0] & 1) {
		if (be->fd >= 0)
			close(be->fd);
		return sbx_failx(err, EINVAL, "MAC %02x:%02x:%02x:%02x:%02x:%02x is multicast",
				 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	}
	struct virtio_net *n = calloc(1, sizeof(*n));
	uint8_t *rx = malloc(NET_HDR + VIRTIO_NET_FRAME_MAX), *tx = malloc(VIRTIO_NET_FRAME_MAX);
	if (!n || !rx || !tx) {
		free(n);
		free(rx);
		free(tx);
		if (be->fd >= 0)
			close(be->fd);
		return sbx_fail(err, ENOMEM, "allocate virtio-net");
	}
	memcpy(n->mac, mac, 6);
	n->be = *be;
	n->rxbuf = rx;
	n->txbuf = tx;
	n->fd_paused = true; /* watched once the transport exists */
	*ret = n;
	return 0;
}

void virtio_net_set_transport(struct virtio_net *n, struct virtio_mmio *t)
{
	n->t = t;
	if (n->be.fd >= 0)
		watch_fd(n);
}

void virtio_net_free(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->be.fd >= 0) {
		pause_fd(n);
		close(n->be.fd);
	}
	backlog_drop_all(n);
	free(n->rxbuf);
	free(n->txbuf);
	free(n);
}

void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *ret)
{
	*ret = n->stats;
}

unsigned virtio_net_tap_offloads(const struct virtio_net *n)
{
	return n->offloads;
}
