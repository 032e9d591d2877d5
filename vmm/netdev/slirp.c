/* libslirp is not thread-safe: every call into it happens on the backend's thread. Guest frames
 * cross over through a bounded queue and an eventfd. */
#define _GNU_SOURCE
#include "vmm/netdev/slirp.h"

#include "base/err.h"
#include "base/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define TXQ_LEN 256
#define FRAME_MAX 65550
#define MAX_POLLFDS 256

struct slirp_timer {
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: disarmed */
	struct slirp_timer *next;
};

struct tx_frame {
	size_t len;
	uint8_t *data;
};

struct slirp_backend {
	Slirp *slirp;
	slirp_rx_cb rx;
	void *opaque;
	pthread_t thread;
	int wakefd;
	volatile int stopping;
	pthread_mutex_t lock; /* guards txq */
	struct tx_frame txq[TXQ_LEN];
	unsigned txq_head, txq_count;
	struct slirp_timer *timers;
	struct pollfd pfds[MAX_POLLFDS];
	int npfds;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_backend *b = opaque;
	b->rx(b->opaque, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)msg;
}

static int64_t cb_clock_get_ns(void *opaque)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct slirp_backend *b = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = b->timers;
	b->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_backend *b = opaque;
	for (struct slirp_timer **pp = &b->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = ((struct slirp_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
	struct slirp_backend *b = opaque;
	uint64_t one = 1;
	ssize_t r = write(b->wakefd, &one, sizeof(one));
	(void)r;
}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_backend *b = opaque;
	if (b->npfds >= MAX_POLLFDS)
		return -1;
	short ev = 0;
	ev |= (events & SLIRP_POLL_IN) ? POLLIN : 0;
	ev |= (events & SLIRP_POLL_OUT) ? POLLOUT : 0;
	ev |= (events & SLIRP_POLL_PRI) ? POLLPRI : 0;
	b->pfds[b->npfds] = (struct pollfd){.fd = fd, .events = ev};
	return b->npfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct slirp_backend *b = opaque;
	if (idx < 0 || idx >= b->npfds)
		return 0;
	short re = b->pfds[idx].revents;
	return ((re & POLLIN) ? SLIRP_POLL_IN : 0) | ((re & POLLOUT) ? SLIRP_POLL_OUT : 0) |
	       ((re & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((re & POLLERR) ? SLIRP_POLL_ERR : 0) |
	       ((re & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

static void drain_txq(struct slirp_backend *b)
{
	for (;;) {
		pthread_mutex_lock(&b->lock);
		if (b->txq_count == 0) {
			pthread_mutex_unlock(&b->lock);
			return;
		}
		struct tx_frame f = b->txq[b->txq_head];
		b->txq_head = (b->txq_head + 1) % TXQ_LEN;
		b->txq_count--;
		pthread_mutex_unlock(&b->lock);
		slirp_input(b->slirp, f.data, (int)f.len);
		free(f.data);
	}
}

static void *slirp_thread(void *arg)
{
	struct slirp_backend *b = arg;
	while (!b->stopping) {
		uint32_t timeout = UINT32_MAX;
		b->npfds = 0;
		add_poll(b->wakefd, SLIRP_POLL_IN, b);
		slirp_pollfds_fill(b->slirp, &timeout, add_poll, b);
		int64_t now = now_ms();
		for (struct slirp_timer *t = b->timers; t; t = t->next) {
			if (t->expire_ms < 0)
				continue;
			int64_t left = t->expire_ms > now ? t->expire_ms - now : 0;
			if ((uint64_t)left < timeout)
				timeout = (uint32_t)left;
		}
		int ms = timeout == UINT32_MAX ? -1 : (int)(timeout > 1000 ? 1000 : timeout);
		int r = poll(b->pfds, (nfds_t)b->npfds, ms);
		if (r > 0 && (b->pfds[0].revents & POLLIN)) {
			uint64_t v;
			ssize_t n = read(b->wakefd, &v, sizeof(v));
			(void)n;
		}
		drain_txq(b);
		slirp_pollfds_poll(b->slirp, r < 0, get_revents, b);
		now = now_ms();
		for (struct slirp_timer *t = b->timers; t; t = t->next) {
			if (t->expire_ms >= 0 && t->expire_ms <= now) {
				t->expire_ms = -1;
				slirp_handle_timer(b->slirp, t->id, t->cb_opaque);
			}
		}
	}
	return NULL;
}

int slirp_parse_forward(const char *spec, struct slirp_forward *ret, struct sbx_err *err)
{
	char buf[96];
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return sbx_failx(err, EINVAL, "port mapping '%s' too long", spec);
	memset(ret, 0, sizeof(*ret));
	ret->host_addr = htonl(INADDR_LOOPBACK);
	char *proto = strchr(buf, '/');
	if (proto) {
		*proto++ = '\0';
		if (strcmp(proto, "udp") == 0)
			ret->udp = 1;
		else if (strcmp(proto, "tcp") != 0)
			return sbx_failx(err, EINVAL,
					 "port mapping '%s': protocol must be tcp or udp", spec);
	}
	char *parts[3];
	int n = 0;
	for (char *save, *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		if (n == 3)
			return sbx_failx(err, EINVAL, "port mapping '%s': too many ':'", spec);
		parts[n++] = tok;
	}
	if (n < 2)
		return sbx_failx(err, EINVAL, "port mapping '%s': use HOSTPORT:CONTAINERPORT",
				 spec);
	if (n == 3) {
		struct in_addr a;
		if (inet_pton(AF_INET, parts[0], &a) != 1)
			return sbx_failx(err, EINVAL, "port mapping '%s': bad address '%s'", spec,
					 parts[0]);
		ret->host_addr = a.s_addr;
	}
	uint32_t hp, gp;
	if (parse_u32(parts[n - 2], 1, 65535, &hp, NULL) < 0 ||
	    parse_u32(parts[n - 1], 1, 65535, &gp, NULL) < 0)
		return sbx_failx(err, EINVAL, "port mapping '%s': ports are 1-65535", spec);
	ret->host_port = (uint16_t)hp;
	ret->guest_port = (uint16_t)gp;
	return 0;
}

int slirp_backend_new(const struct slirp_forward *fwds, unsigned n_fwds, slirp_rx_cb rx,
		      void *opaque, struct slirp_backend **ret, struct sbx_err *err)
{
	struct slirp_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return sbx_fail(err, ENOMEM, "slirp backend");
	b->rx = rx;
	b->opaque = opaque;
	pthread_mutex_init(&b->lock, NULL);
	b->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->wakefd < 0) {
		int e = errno;
		free(b);
		return sbx_fail(err, e, "eventfd");
	}
	SlirpConfig cfg = {.version = 4, .in_enabled = true, .if_mtu = 1500, .if_mru = 1500};
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	cfg.vhostname = "sbx";
	b->slirp = slirp_new(&cfg, &callbacks, b);
	if (!b->slirp) {
		close(b->wakefd);
		free(b);
		return sbx_failx(err, ENOMEM, "start user-mode networking");
	}
	struct in_addr guest;
	inet_pton(AF_INET, "10.0.2.15", &guest);
	for (unsigned i = 0; i < n_fwds; i++) {
		struct in_addr host = {.s_addr = fwds[i].host_addr};
		if (slirp_add_hostfwd(b->slirp, fwds[i].udp, host, fwds[i].host_port, guest,
				      fwds[i].guest_port) < 0) {
			char a[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &host, a, sizeof(a));
			slirp_cleanup(b->slirp);
			close(b->wakefd);
			free(b);
			return sbx_failx(err, EADDRINUSE,
					 "cannot publish %s:%u: the port is in use", a,
					 fwds[i].host_port);
		}
	}
	if (pthread_create(&b->thread, NULL, slirp_thread, b) != 0) {
		slirp_cleanup(b->slirp);
		close(b->wakefd);
		free(b);
		return sbx_failx(err, EAGAIN, "start the user-mode networking thread");
	}
	*ret = b;
	return 0;
}

int slirp_backend_send(struct slirp_backend *b, const uint8_t *frame, size_t len)
{
	if (len == 0 || len > FRAME_MAX)
		return -EINVAL;
	uint8_t *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, frame, len);
	pthread_mutex_lock(&b->lock);
	if (b->txq_count == TXQ_LEN) {
		pthread_mutex_unlock(&b->lock);
		free(copy);
		return -ENOBUFS;
	}
	b->txq[(b->txq_head + b->txq_count) % TXQ_LEN] = (struct tx_frame){len, copy};
	b->txq_count++;
	pthread_mutex_unlock(&b->lock);
	cb_notify(b);
	return 0;
}

void slirp_backend_free(struct slirp_backend *b)
{
	if (!b)
		return;
	b->stopping = 1;
	cb_notify(b);
	pthread_join(b->thread, NULL);
	slirp_cleanup(b->slirp);
	while (b->timers)
		cb_timer_free(b->timers, b);
	for (unsigned i = 0; i < b->txq_count; i++)
		free(b->txq[(b->txq_head + i) % TXQ_LEN].data);
	close(b->wakefd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
