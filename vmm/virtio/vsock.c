/* virtio-vsock (device id 19), guest side: queue 0 carries packets to the guest, queue 1 from
 * it, queue 2 (events) is never used. Stream sockets only. Every packet header from the guest
 * goes through vsock_hdr_check(); a header that does not fit its buffer breaks the device
 * (DEVICE_NEEDS_RESET), while protocol mistakes on one connection are answered with RST. */
#define _GNU_SOURCE
#include "vmm/virtio/devices.h"

#include "base/err.h"
#include "vmm/event.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/vsock-internal.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { VSOCK_RXQ, VSOCK_TXQ, VSOCK_EVQ };

uint32_t vconn_credit(const struct vconn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static struct virtio_vsock_hdr make_hdr(struct virtio_vsock *vs, uint32_t host_port,
					uint32_t guest_port, uint16_t op)
{
	return (struct virtio_vsock_hdr){.src_cid = htole64(VSOCK_HOST_CID),
					 .dst_cid = htole64(vs->guest_cid),
					 .src_port = htole32(host_port),
					 .dst_port = htole32(guest_port),
					 .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
					 .op = htole16(op)};
}

static struct virtio_vsock_hdr conn_hdr(struct vconn *c, uint16_t op, uint32_t len)
{
	struct virtio_vsock_hdr h = make_hdr(c->vs, c->host_port, c->guest_port, op);
	h.len = htole32(len);
	h.buf_alloc = htole32(VSOCK_BUF_ALLOC);
	h.fwd_cnt = htole32(c->fwd_cnt);
	c->fwd_cnt_sent = c->fwd_cnt;
	return h;
}

void vsock_broken(struct virtio_vsock *vs)
{
	vsock_close_all(vs);
	if (vs->t)
		virtio_mmio_needs_reset(vs->t);
}

/* Pops one rx buffer big enough for a header: 1 taken, 0 none free, -1 device broken. */
static int pop_rx(struct virtio_vsock *vs)
{
	if (!vs->t || vs->rx_starved)
		return 0;
	int r = vq_pop(&vs->t->queues[VSOCK_RXQ], vs->t->gm, &vs->chain);
	if (r == 0)
		vs->rx_starved = true;
	/* every rx buffer must hold a header and some data, or reads could never progress */
	if (r < 0 || (r > 0 && vs->chain.in_len <= VSOCK_HDR)) {
		vsock_broken(vs);
		return -1;
	}
	return r;
}

static int push_rx(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h, uint32_t data_len)
{
	buf_to_iov(vs->chain.in, vs->chain.n_in, 0, h, VSOCK_HDR);
	if (vq_push(&vs->t->queues[VSOCK_RXQ], vs->t->gm, vs->chain.head, VSOCK_HDR + data_len) <
	    0) {
		vsock_broken(vs);
		return -1;
	}
	return 0;
}

void vsock_queue_rst(struct virtio_vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	/* A full backlog drops the RST: the guest's own timeouts then close its socket. */
	if (vs->n_rst < VSOCK_RST_BACKLOG)
		vs->rst[vs->n_rst++] = (struct vsock_rst){host_port, guest_port};
}

/* 0: nothing more owed; 1: out of rx buffers; -1: the device broke and every connection,
 * c included, is gone. */
static int send_owed(struct virtio_vsock *vs, struct vconn *c)
{
	while (c->owed) {
		int r = pop_rx(vs);
		if (r <= 0)
			return r < 0 ? -1 : 1;
		struct virtio_vsock_hdr h;
		if (c->owed & VC_OWE_REQUEST) {
			c->owed &= ~(unsigned)VC_OWE_REQUEST;
			h = conn_hdr(c, VIRTIO_VSOCK_OP_REQUEST, 0);
		} else if (c->owed & VC_OWE_RESPONSE) {
			c->owed &= ~(unsigned)VC_OWE_RESPONSE;
			h = conn_hdr(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
		} else if (c->owed & VC_OWE_CREDIT) {
			c->owed &= ~(unsigned)VC_OWE_CREDIT;
			h = conn_hdr(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		} else {
			c->owed = 0;
			h = conn_hdr(c, VIRTIO_VSOCK_OP_SHUTDOWN, 0);
			h.flags = htole32(c->shutdown_flags);
		}
		if (push_rx(vs, &h, 0) < 0)
			return -1;
	}
	return 0;
}

int vsock_flush_rx(struct virtio_vsock *vs)
{
	if (!vs->t)
		return 0;
	while (vs->n_rst) {
		int r = pop_rx(vs);
		if (r < 0)
			return -1;
		if (r == 0)
			goto out;
		struct vsock_rst rst = vs->rst[--vs->n_rst];
		struct virtio_vsock_hdr h =
		    make_hdr(vs, rst.host_port, rst.guest_port, VIRTIO_VSOCK_OP_RST);
		if (push_rx(vs, &h, 0) < 0)
			return -1;
		vs->resets_sent++;
	}
	for (struct vconn *c = vs->conns; c; c = c->next) {
		int r = send_owed(vs, c);
		if (r < 0)
			return -1;
		if (r > 0)
			break;
	}
out:
	virtio_mmio_signal_used(vs->t, VSOCK_RXQ);
	return 0;
}

/* Control packets go first, then one rx buffer is taken for data. send_owed's results. */
static int pop_data_buffer(struct virtio_vsock *vs, struct vconn *c)
{
	int r = send_owed(vs, c);
	if (r != 0)
		return r;
	r = pop_rx(vs);
	return r > 0 ? 0 : r == 0 ? 1 : -1;
}

void vsock_pull_host(struct virtio_vsock *vs, struct vconn *c)
{
	struct vq *q = &vs->t->queues[VSOCK_RXQ];
	for (unsigned burst = 0; burst < VSOCK_RX_BURST && c->state == VCONN_OPEN && !c->host_eof;
	     burst++) {
		uint32_t credit = vconn_credit(c);
		if (!credit)
			break;
		int r = pop_data_buffer(vs, c);
		if (r < 0)
			return; /* the device broke: c is gone */
		if (r > 0)
			break;
		uint64_t room = vs->chain.in_len - VSOCK_HDR;
		uint32_t want = credit < VSOCK_MAX_PKT ? credit : VSOCK_MAX_PKT;
		if (room < want)
			want = (uint32_t)room;
		struct iovec iov[VQ_MAX_CHAIN];
		unsigned n = iov_slice(vs->chain.in, vs->chain.n_in, VSOCK_HDR, want, iov);
		ssize_t got = readv(c->fd, iov, (int)n);
		if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
			vq_unpop(q);
			break;
		}
		if (got <= 0) {
			/* The host peer closed (or broke) its side: nothing more will come. */
			vq_unpop(q);
			c->host_eof = true;
			c->shutdown_flags |= VIRTIO_VSOCK_SHUTDOWN_SEND;
			if (got < 0 || c->hup)
				c->shutdown_flags |= VIRTIO_VSOCK_SHUTDOWN_RCV;
			c->owed |= VC_OWE_SHUTDOWN;
			break;
		}
		struct virtio_vsock_hdr h = conn_hdr(c, VIRTIO_VSOCK_OP_RW, (uint32_t)got);
		if (push_rx(vs, &h, (uint32_t)got) < 0)
			return;
		c->tx_cnt += (uint32_t)got;
		vs->bytes_to_guest += (uint64_t)got;
	}
	if (vsock_flush_rx(vs) == 0)
		vconn_watch(c);
}

/* The one place guest packet headers are read: fills `h` in host order. -1: the header does
 * not fit the buffer the guest gave or claims more payload than it carries. */
static int vsock_hdr_check(const struct vq_chain *ch, struct virtio_vsock_hdr *h)
{
	if (ch->out_len < VSOCK_HDR || iov_to_buf(ch->out, ch->n_out, 0, h, VSOCK_HDR) != VSOCK_HDR)
		return -1;
	h->src_cid = le64toh(h->src_cid);
	h->dst_cid = le64toh(h->dst_cid);
	h->src_port = le32toh(h->src_port);
	h->dst_port = le32toh(h->dst_port);
	h->len = le32toh(h->len);
	h->type = le16toh(h->type);
	h->op = le16toh(h->op);
	h->flags = le32toh(h->flags);
	h->buf_alloc = le32toh(h->buf_alloc);
	h->fwd_cnt = le32toh(h->fwd_cnt);
	if (h->len > VSOCK_MAX_PKT || h->len > ch->out_len - VSOCK_HDR)
		return -1;
	return 0;
}

int virtio_vsock_handle_tx(struct virtio_vsock *vs, const struct vq_chain *ch)
{
	struct virtio_vsock_hdr h;
	if (vsock_hdr_check(ch, &h) < 0)
		return -EINVAL;
	if (h.src_cid != vs->guest_cid || h.dst_cid != VSOCK_HOST_CID)
		return 0; /* not a packet for us: drop it, as a NIC drops a foreign MAC */
	struct vconn *c = vconn_find(vs, h.dst_port, h.src_port);
	if (h.type != VIRTIO_VSOCK_TYPE_STREAM) {
		if (h.op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(vs, h.dst_port, h.src_port);
		return 0;
	}
	if (c) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c) {
			vconn_abort(c, "the guest asked again for a connection that exists");
			break;
		}
		c = vconn_connect_host(vs, h.dst_port, h.src_port);
		if (!c) {
			vsock_queue_rst(vs, h.dst_port, h.src_port);
			break;
		}
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
		c->owed |= VC_OWE_RESPONSE;
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c && c->state == VCONN_REQUESTED)
			vconn_guest_accepted(c);
		else if (c)
			vconn_abort(c, "the guest accepted a connection that was not asked for");
		else
			vsock_queue_rst(vs, h.dst_port, h.src_port);
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (!c)
			vsock_queue_rst(vs, h.dst_port, h.src_port);
		else if (c->state != VCONN_OPEN)
			vconn_abort(c, "guest data before the connection was open");
		else if (c->guest_done_sending)
			vconn_abort(c, "guest data after the guest shut down sending");
		else if (vconn_to_host(c, ch->out, ch->n_out, VSOCK_HDR, h.len) < 0)
			vconn_abort(c,
				    "the host socket failed or the guest sent beyond its credit");
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		if (c)
			vconn_watch(c);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (c)
			c->owed |= VC_OWE_CREDIT;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (c)
			vconn_guest_shutdown(c, h.flags);
		break;
	case VIRTIO_VSOCK_OP_RST:
		/* an orderly close ends with the guest's SHUTDOWN first; a refused connect is
		 * expected while a host program waits for a guest port to open */
		if (c && c->state == VCONN_OPEN && !c->guest_done_sending)
			log_ratelimited(&vs->abort_log, LOG_LEVEL_WARN,
					"vsock: the guest reset host port %u, guest port %u",
					c->host_port, c->guest_port);
		if (c)
			vconn_destroy(c);
		break;
	default:
		if (c)
			vconn_abort(c, "unknown op %u from the guest", h.op);
		else
			vsock_queue_rst(vs, h.dst_port, h.src_port);
	}
	return 0;
}

/* Entry points run with the transport lock held; a driver reset seen since the last one
 * closes every connection here, on the device thread that owns them. */
void vsock_settle_reset(struct virtio_vsock *vs)
{
	if (vs->reset_pending) {
		vs->reset_pending = false;
		vsock_close_all(vs);
	}
}

static void vsock_notify(void *dev, struct virtio_mmio *t, unsigned q)
{
	struct virtio_vsock *vs = dev;
	vsock_settle_reset(vs);
	if (q == VSOCK_RXQ) {
		vs->rx_starved = false;
		vsock_flush_rx(vs);
		for (struct vconn *c = vs->conns; c; c = c->next)
			vconn_watch(c);
		return;
	}
	if (q != VSOCK_TXQ)
		return; /* the event queue only ever carries device->driver events we never send */
	struct vq *txq = &t->queues[VSOCK_TXQ];
	int r;
	while ((r = vq_pop(txq, t->gm, &vs->chain)) > 0) {
		uint16_t head = vs->chain.head;
		if (virtio_vsock_handle_tx(vs, &vs->chain) < 0 ||
		    vq_push(txq, t->gm, head, 0) < 0) {
			r = -1;
			break;
		}
	}
	if (r < 0) {
		vsock_broken(vs);
		return;
	}
	virtio_mmio_signal_used(t, VSOCK_TXQ);
	vsock_flush_rx(vs);
}

static void vsock_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t size)
{
	struct virtio_vsock *vs = dev;
	uint64_t cid = htole64(vs->guest_cid);
	memcpy(data, (uint8_t *)&cid + off, size);
}

static void vsock_reset(void *dev)
{
	struct virtio_vsock *vs = dev;
	vs->reset_pending = true;
	vs->rx_starved = false;
}

const struct vdev_ops virtio_vsock_ops = {
    .name = "vsock",
    .device_id = 19,
    .num_queues = 3,
    .config_size = 8,
    .config_read = vsock_config_read,
    .notify = vsock_notify,
    .reset = vsock_reset,
};

int virtio_vsock_new(uint64_t guest_cid, const char *uds, struct event_loop *loop,
		     struct virtio_vsock **ret, struct sbx_err *err)
{
	if (guest_cid < 3 || guest_cid > 0xfffffffeull)
		return sbx_failx(err, EINVAL, "vsock CID %llu is reserved or too large (3-%u)",
				 (unsigned long long)guest_cid, 0xfffffffeu);
	struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	if (!vs)
		return sbx_fail(err, ENOMEM, "allocate vsock");
	vs->guest_cid = guest_cid;
	vs->loop = loop;
	vs->listen_fd = -1;
	vs->next_host_port = 1u << 30;
	/* "<uds>_<port>" must fit sun_path for any 32-bit port */
	if (uds && snprintf(vs->uds, sizeof(vs->uds), "%s", uds) >= (int)sizeof(vs->uds) - 11) {
		free(vs);
		return sbx_failx(err, ENAMETOOLONG,
				 "--vsock-uds '%s' is too long for a socket path", uds);
	}
	if (uds) {
		int r = vsock_listen(vs);
		if (r < 0) {
			free(vs);
			return sbx_fail(err, -r, "--vsock-uds '%s'", uds);
		}
	}
	*ret = vs;
	return 0;
}

void virtio_vsock_set_transport(struct virtio_vsock *vs, struct virtio_mmio *t)
{
	vs->t = t;
}

void virtio_vsock_free(struct virtio_vsock *vs)
{
	if (!vs)
		return;
	vsock_close_all(vs);
	if (vs->listen_fd >= 0) {
		if (vs->loop)
			event_del(vs->loop, vs->listen_fd);
		close(vs->listen_fd);
		unlink(vs->uds);
	}
	free(vs);
}
