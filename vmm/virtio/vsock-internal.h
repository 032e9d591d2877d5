/* State shared by the two halves of virtio-vsock: vsock.c (the virtqueues, guest side) and
 * vsock-host.c (the unix sockets, host side). Both run on the device thread with the
 * transport lock held. */
#pragma once

#include "base/log.h"
#include "vmm/virtio/queue.h"

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

struct event_loop;
struct virtio_mmio;

#define VSOCK_HOST_CID 2
#define VSOCK_HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define VSOCK_BUF_ALLOC (256u * 1024) /* credit we give the guest per connection */
#define VSOCK_MAX_PKT (64u * 1024)
#define VSOCK_MAX_CONNS 1024
#define VSOCK_RST_BACKLOG 256
#define VSOCK_RX_BURST 16 /* packets one connection may send before others get a turn */

enum vconn_state {
	VCONN_HANDSHAKE, /* a host peer connected to the socket; reading "CONNECT <port>\n" */
	VCONN_REQUESTED, /* REQUEST sent to the guest, waiting for RESPONSE or RST */
	VCONN_OPEN,
};

/* Control packets a connection owes the guest, sent as soon as rx buffers exist. */
enum {
	VC_OWE_REQUEST = 1,
	VC_OWE_RESPONSE = 2,
	VC_OWE_CREDIT = 4,
	VC_OWE_SHUTDOWN = 8,
};

struct virtio_vsock;

struct vconn {
	struct virtio_vsock *vs;
	struct vconn *next;
	int fd;
	enum vconn_state state;
	uint32_t host_port, guest_port;
	unsigned owed;
	uint32_t shutdown_flags; /* sent with VC_OWE_SHUTDOWN */
	char line[32];
	unsigned line_len;
	/* guest -> host: bytes the host socket has not taken yet (at most VSOCK_BUF_ALLOC) */
	uint8_t *pending;
	uint32_t pending_off, pending_len;
	uint32_t fwd_cnt, fwd_cnt_sent;
	/* host -> guest: the guest's receive window */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	bool guest_done_sending, guest_done_receiving;
	bool host_eof;          /* the host peer will send nothing more */
	bool close_after_drain; /* the guest shut down both ways: RST once pending is written */
	bool hup;               /* the host peer is gone; epoll reports it forever */
	bool watched;
	uint32_t events;
};

struct vsock_rst {
	uint32_t host_port, guest_port;
};

struct virtio_vsock {
	uint64_t guest_cid;
	char uds[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	struct event_loop *loop;
	struct virtio_mmio *t;
	struct vconn *conns;
	unsigned n_conns;
	uint32_t next_host_port;
	bool rx_starved;    /* the guest has no free rx buffers; host reads wait for a kick */
	bool reset_pending; /* the driver reset the device; connections go on the device thread */
	struct vsock_rst rst[VSOCK_RST_BACKLOG];
	unsigned n_rst;
	struct vq_chain chain;
	uint64_t bytes_to_host, bytes_to_guest, resets_sent;
	struct log_ratelimit abort_log;
};

/* vsock.c */
uint32_t vconn_credit(const struct vconn *c);
/* Moves host data into rx buffers while the guest has credit and buffers. */
void vsock_pull_host(struct virtio_vsock *vs, struct vconn *c);
/* Sends owed control packets; signals the guest. -1: the device broke and every connection
 * is gone, so the caller must not touch the one it holds. */
int vsock_flush_rx(struct virtio_vsock *vs);
/* Answers (host_port, guest_port) with RST (no connection needed). */
void vsock_queue_rst(struct virtio_vsock *vs, uint32_t host_port, uint32_t guest_port);
/* Every device-thread entry point calls this first: closes connections after a driver reset. */
void vsock_settle_reset(struct virtio_vsock *vs);
/* The guest broke the protocol: drop every connection, DEVICE_NEEDS_RESET. */
void vsock_broken(struct virtio_vsock *vs);

/* vsock-host.c */
int vsock_listen(struct virtio_vsock *vs);
struct vconn *vconn_find(struct virtio_vsock *vs, uint32_t host_port, uint32_t guest_port);
/* The guest asked for host port `port`: connect to "<uds>_<port>". NULL when nobody listens. */
struct vconn *vconn_connect_host(struct virtio_vsock *vs, uint32_t port, uint32_t guest_port);
/* Guest data for the host socket; -1 if it exceeds the credit we gave (a broken guest). */
int vconn_to_host(struct vconn *c, const struct iovec *iov, unsigned n, uint64_t skip,
		  uint32_t len);
/* The guest shut down some direction or answered a host connect. */
void vconn_guest_shutdown(struct vconn *c, uint32_t flags);
void vconn_guest_accepted(struct vconn *c);
/* Re-evaluates which epoll events the connection needs. */
void vconn_watch(struct vconn *c);
void vconn_destroy(struct vconn *c);
/* RST to the guest, then destroy. */
void vconn_reset(struct vconn *c);
/* vconn_reset for anything but an orderly close, with the reason in the VMM's log (rate
 * limited: the guest can cause these). */
void vconn_abort(struct vconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vsock_close_all(struct virtio_vsock *vs);
