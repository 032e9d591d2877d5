/* virtio-vsock, host side (DESIGN §3, the Firecracker convention): host programs connect to
 * the --vsock-uds socket and write "CONNECT <port>\n"; once the guest accepts they read
 * "OK <host port>\n" and the stream is the connection. A guest connecting to host port P
 * reaches whoever listens on "<uds>_<P>". Every socket is non-blocking and owned by the device
 * thread; nothing a peer or the guest does can block it. */
#define _GNU_SOURCE
#include "base/log.h"
#include "base/parse.h"
#include "vmm/event.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/vsock-internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void on_conn(void *opaque, uint32_t events);

static struct vconn *vconn_new(struct virtio_vsock *vs, int fd, enum vconn_state state)
{
	if (vs->n_conns >= VSOCK_MAX_CONNS)
		return NULL;
	struct vconn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->vs = vs;
	c->fd = fd;
	c->state = state;
	c->next = vs->conns;
	vs->conns = c;
	vs->n_conns++;
	return c;
}

struct vconn *vconn_find(struct virtio_vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	for (struct vconn *c = vs->conns; c; c = c->next)
		if (c->host_port == host_port && c->guest_port == guest_port &&
		    c->state != VCONN_HANDSHAKE)
			return c;
	return NULL;
}

void vconn_destroy(struct vconn *c)
{
	struct virtio_vsock *vs = c->vs;
	for (struct vconn **pp = &vs->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	vs->n_conns--;
	if (c->watched && vs->loop)
		event_del(vs->loop, c->fd);
	close(c->fd);
	free(c->pending);
	free(c);
}

void vconn_reset(struct vconn *c)
{
	if (c->state != VCONN_HANDSHAKE)
		vsock_queue_rst(c->vs, c->host_port, c->guest_port);
	vconn_destroy(c);
}

void vconn_abort(struct vconn *c, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_ratelimited(&c->vs->abort_log, LOG_LEVEL_WARN,
			"vsock: reset host port %u, guest port %u: %s", c->host_port, c->guest_port,
			why);
	vconn_reset(c);
}

void vsock_close_all(struct virtio_vsock *vs)
{
	while (vs->conns)
		vconn_destroy(vs->conns);
	vs->n_rst = 0;
}

void vconn_watch(struct vconn *c)
{
	struct virtio_vsock *vs = c->vs;
	uint32_t want = 0;
	if (c->state == VCONN_HANDSHAKE ||
	    (c->state == VCONN_OPEN && !c->host_eof && !c->guest_done_receiving &&
	     !vs->rx_starved && vconn_credit(c)))
		want |= EPOLLIN;
	if (c->pending_len)
		want |= EPOLLOUT;
	if (!vs->loop)
		return;
	/* epoll reports a hang-up whatever we ask for: a quiet connection whose peer is gone
	 * leaves the loop until there is something to do */
	if (!want && c->hup) {
		if (c->watched)
			event_del(vs->loop, c->fd);
		c->watched = false;
		return;
	}
	if (!c->watched) {
		c->watched = event_add(vs->loop, c->fd, want, on_conn, c) == 0;
		c->events = want;
	} else if (want != c->events && event_modify(vs->loop, c->fd, want) == 0) {
		c->events = want;
	}
}

static uint32_t next_port(struct virtio_vsock *vs)
{
	for (;;) {
		uint32_t p = vs->next_host_port++;
		if (vs->next_host_port == 0)
			vs->next_host_port = 1u << 30;
		bool used = false;
		for (struct vconn *c = vs->conns; c && !used; c = c->next)
			used = c->host_port == p;
		if (!used)
			return p;
	}
}

/* Reads "CONNECT <port>\n" one byte at a time, so no stream data after it is consumed. */
static void read_handshake(struct vconn *c)
{
	for (;;) {
		char ch;
		ssize_t n = read(c->fd, &ch, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || c->line_len + 1 >= sizeof(c->line)) {
			vconn_destroy(c);
			return;
		}
		if (ch != '\n') {
			c->line[c->line_len++] = ch;
			continue;
		}
		c->line[c->line_len] = '\0';
		uint32_t port;
		if (strncmp(c->line, "CONNECT ", 8) != 0 ||
		    parse_u32(c->line + 8, 0, UINT32_MAX, &port, NULL) < 0) {
			static const char msg[] = "ERR expected CONNECT <port>\n";
			ssize_t w = send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
			(void)w;
			vconn_destroy(c);
			return;
		}
		c->guest_port = port;
		c->host_port = next_port(c->vs);
		c->state = VCONN_REQUESTED;
		c->peer_buf_alloc = 0;
		c->owed |= VC_OWE_REQUEST;
		if (vsock_flush_rx(c->vs) == 0)
			vconn_watch(c);
		return;
	}
}

static int queue_pending(struct vconn *c, const struct iovec *iov, unsigned n, uint64_t skip,
			 uint32_t len)
{
	if (len > VSOCK_BUF_ALLOC - c->pending_len)
		return -1;
	if (!c->pending && !(c->pending = malloc(VSOCK_BUF_ALLOC)))
		return -1;
	if (c->pending_off + c->pending_len + len > VSOCK_BUF_ALLOC) {
		memmove(c->pending, c->pending + c->pending_off, c->pending_len);
		c->pending_off = 0;
	}
	iov_to_buf(iov, n, skip, c->pending + c->pending_off + c->pending_len, len);
	c->pending_len += len;
	return 0;
}

static void forwarded(struct vconn *c, uint32_t n)
{
	c->fwd_cnt += n;
	c->vs->bytes_to_host += n;
	/* The guest only learns about freed credit from our packets: tell it once a quarter of
	 * the window has been freed, so a one-way stream never stalls. */
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 4)
		c->owed |= VC_OWE_CREDIT;
}

/* After the guest's data has drained: finish the shutdowns it asked for. 1: c is gone. */
static int after_drain(struct vconn *c)
{
	if (c->pending_len)
		return 0;
	if (c->close_after_drain) {
		vconn_reset(c);
		return 1;
	}
	if (c->guest_done_sending)
		shutdown(c->fd, SHUT_WR);
	return 0;
}

int vconn_to_host(struct vconn *c, const struct iovec *iov, unsigned n, uint64_t skip, uint32_t len)
{
	if (!len)
		return 0;
	uint32_t done = 0;
	if (!c->pending_len) {
		struct iovec part[VQ_MAX_CHAIN];
		unsigned k = iov_slice(iov, n, skip, len, part);
		struct msghdr mh = {.msg_iov = part, .msg_iovlen = k};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1; /* the host peer is gone */
		if (w > 0)
			done = (uint32_t)w;
		forwarded(c, done);
	}
	if (done < len && queue_pending(c, iov, n, skip + done, len - done) < 0)
		return -1;
	vconn_watch(c);
	return 0;
}

static void write_pending(struct vconn *c)
{
	while (c->pending_len) {
		ssize_t w = send(c->fd, c->pending + c->pending_off, c->pending_len, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (w <= 0) {
			vconn_abort(c, "writing guest data to the host socket failed: %s",
				    strerror(errno));
			return;
		}
		c->pending_off += (uint32_t)w;
		c->pending_len -= (uint32_t)w;
		forwarded(c, (uint32_t)w);
	}
	if (!c->pending_len)
		c->pending_off = 0;
	if (after_drain(c) || vsock_flush_rx(c->vs) < 0)
		return;
	vconn_watch(c);
}

void vconn_guest_accepted(struct vconn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
	/* Nothing was written to this socket before, so a short line always fits its buffer;
	 * only a peer that is already gone fails here. */
	if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL) != n) {
		vconn_abort(c, "the host peer left before the guest accepted");
		return;
	}
	c->state = VCONN_OPEN;
	vconn_watch(c);
}

void vconn_guest_shutdown(struct vconn *c, uint32_t flags)
{
	if (flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
		c->guest_done_sending = true;
	if (flags & VIRTIO_VSOCK_SHUTDOWN_RCV)
		c->guest_done_receiving = true;
	if (c->guest_done_sending && c->guest_done_receiving)
		c->close_after_drain = true;
	if (!after_drain(c))
		vconn_watch(c);
}

struct vconn *vconn_connect_host(struct virtio_vsock *vs, uint32_t port, uint32_t guest_port)
{
	if (!vs->uds[0] || vconn_find(vs, port, guest_port))
		return NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* the length was checked when the device was created */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vs->uds, port) >=
	    (int)sizeof(sa.sun_path))
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* a non-blocking unix connect completes at once or fails (EAGAIN: backlog full) */
	struct vconn *c = NULL;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !(c = vconn_new(vs, fd, VCONN_OPEN))) {
		close(fd);
		return NULL;
	}
	c->host_port = port;
	c->guest_port = guest_port;
	vconn_watch(c);
	return c;
}

static void on_conn(void *opaque, uint32_t events)
{
	struct vconn *c = opaque;
	struct virtio_vsock *vs = c->vs;
	struct virtio_mmio *t = vs->t;
	if (t)
		pthread_mutex_lock(&t->lock);
	bool reset = vs->reset_pending;
	vsock_settle_reset(vs); /* may have freed c */
	if (reset)
		goto out;
	if (events & (EPOLLHUP | EPOLLRDHUP))
		c->hup = true;
	if (events & EPOLLERR) {
		vconn_abort(c, "the host socket reported an error (its peer closed with data "
			       "unread, or failed)");
	} else if (c->state == VCONN_HANDSHAKE) {
		read_handshake(c);
	} else if (events & EPOLLOUT) {
		write_pending(c);
	} else if (c->state == VCONN_OPEN && (events & (EPOLLIN | EPOLLHUP))) {
		if (t)
			vsock_pull_host(vs, c);
	} else {
		vconn_watch(c);
	}
out:
	if (t)
		pthread_mutex_unlock(&t->lock);
}

static void on_listen(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;
	(void)events;
	int fd = accept4(vs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (vs->t)
		pthread_mutex_lock(&vs->t->lock);
	vsock_settle_reset(vs);
	struct vconn *c = vconn_new(vs, fd, VCONN_HANDSHAKE);
	if (c)
		vconn_watch(c);
	else
		close(fd);
	if (vs->t)
		pthread_mutex_unlock(&vs->t->lock);
}

int vsock_listen(struct virtio_vsock *vs)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", vs->uds);
	struct stat st;
	/* a socket left by a VMM that died is replaced; any other file is not ours to remove */
	if (lstat(vs->uds, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(vs->uds);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (vs->loop && event_add(vs->loop, fd, EPOLLIN, on_listen, vs) < 0) {
		close(fd);
		unlink(vs->uds);
		return -EIO;
	}
	vs->listen_fd = fd;
	return 0;
}
