/* Client side: a reader thread hands each response to the waiting caller by stream id. */
#define _GNU_SOURCE
#include "ttrpc/client.h"

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/err.h"
#include "proto/ttrpc.pb-c.h"
#include "ttrpc/frame.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct pending {
	uint32_t id;
	bool done;
	uint8_t *body;
	size_t len;
	struct pending *next;
};

struct ttrpc_client {
	int fd;
	pthread_t reader;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	pthread_mutex_t wlock; /* serializes frame writes */
	uint32_t next_id;
	struct pending *pending;
	bool dead;
};

static void *reader_thread(void *arg)
{
	struct ttrpc_client *c = arg;
	for (;;) {
		struct ttrpc_header h;
		uint8_t *body = NULL;
		int r = ttrpc_read_frame(c->fd, &h, &body);
		if (r == -EMSGSIZE)
			continue;
		if (r < 0)
			break;
		if (h.type != TTRPC_TYPE_RESPONSE) {
			free(body);
			continue;
		}
		pthread_mutex_lock(&c->lock);
		struct pending *p = c->pending;
		while (p && p->id != h.stream_id)
			p = p->next;
		if (p && !p->done) {
			p->body = body;
			p->len = h.length;
			p->done = true;
			body = NULL;
			pthread_cond_broadcast(&c->cond);
		}
		pthread_mutex_unlock(&c->lock);
		free(body); /* a response nobody waits for any more (timed out) */
	}
	pthread_mutex_lock(&c->lock);
	c->dead = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int ttrpc_client_new(int fd, struct ttrpc_client **ret, struct sbx_err *err)
{
	struct ttrpc_client *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return sbx_fail(err, ENOMEM, "ttrpc client");
	}
	c->fd = fd;
	c->next_id = 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->wlock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	int r = pthread_create(&c->reader, NULL, reader_thread, c);
	if (r != 0) {
		close(fd);
		free(c);
		return sbx_fail(err, r, "ttrpc reader thread");
	}
	*ret = c;
	return 0;
}

int ttrpc_client_dial_unix(const char *path, struct ttrpc_client **ret, struct sbx_err *err)
{
	if (strncmp(path, "unix://", 7) == 0)
		path += 7;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return sbx_failx(err, ENAMETOOLONG, "socket path '%s' too long", path);
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sbx_fail(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return sbx_fail(err, e, "connect to '%s'", path);
	}
	return ttrpc_client_new(fd, ret, err);
}

void ttrpc_client_free(struct ttrpc_client *c)
{
	if (!c)
		return;
	shutdown(c->fd, SHUT_RDWR);
	pthread_join(c->reader, NULL);
	close(c->fd);
	while (c->pending) {
		struct pending *p = c->pending;
		c->pending = p->next;
		free(p->body);
		free(p);
	}
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->wlock);
	free(c);
}

static void unlink_pending(struct ttrpc_client *c, struct pending *p)
{
	for (struct pending **pp = &c->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			return;
		}
}

/* Waits for p under c->lock; 0, -ETIMEDOUT or -ECONNRESET. */
static int wait_pending(struct ttrpc_client *c, struct pending *p, int timeout_ms)
{
	struct timespec dl = clock_deadline(CLOCK_MONOTONIC, timeout_ms);
	while (!p->done && !c->dead) {
		if (timeout_ms <= 0)
			pthread_cond_wait(&c->cond, &c->lock);
		else if (pthread_cond_timedwait(&c->cond, &c->lock, &dl) == ETIMEDOUT)
			return p->done ? 0 : -ETIMEDOUT;
	}
	return p->done ? 0 : -ECONNRESET;
}

static int decode_response(const char *method, const uint8_t *body, size_t len,
			   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret,
			   struct sbx_err *err)
{
	Sbx__Ttrpc__Response *resp = sbx__ttrpc__response__unpack(NULL, len, body);
	if (!resp)
		return sbx_failx(err, EPROTO, "%s: malformed ttrpc response", method);
	int r = 0;
	if (resp->status && resp->status->code != 0) {
		r = ttrpc_errno_from_code(resp->status->code);
		sbx_failx(err, -r, "%s",
			  resp->status->message && resp->status->message[0] ? resp->status->message
									    : strerror(-r));
	} else {
		*ret = protobuf_c_message_unpack(resp_desc, NULL, resp->payload.len,
						 resp->payload.data);
		if (!*ret)
			r = sbx_failx(err, EPROTO, "%s: malformed %s in the response", method,
				      resp_desc->short_name);
	}
	sbx__ttrpc__response__free_unpacked(resp, NULL);
	return r;
}

int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
		      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		      ProtobufCMessage **ret_resp, int timeout_ms, struct sbx_err *err)
{
	size_t plen = protobuf_c_message_get_packed_size(req);
	_cleanup_free_ uint8_t *payload = malloc(plen ? plen : 1);
	if (!payload)
		return sbx_fail(err, ENOMEM, "%s request", method);
	protobuf_c_message_pack(req, payload);
	Sbx__Ttrpc__Request r = SBX__TTRPC__REQUEST__INIT;
	r.service = (char *)service;
	r.method = (char *)method;
	r.payload.data = payload;
	r.payload.len = plen;
	r.timeout_nano = timeout_ms > 0 ? (int64_t)timeout_ms * 1000000 : 0;
	size_t n = sbx__ttrpc__request__get_packed_size(&r);
	if (n > TTRPC_MAX_BODY)
		return sbx_failx(err, EMSGSIZE, "%s request is larger than 4 MiB", method);
	_cleanup_free_ uint8_t *buf = malloc(n);
	if (!buf)
		return sbx_fail(err, ENOMEM, "%s request", method);
	sbx__ttrpc__request__pack(&r, buf);

	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return sbx_fail(err, ENOMEM, "%s request", method);
	pthread_mutex_lock(&c->lock);
	if (c->dead) {
		pthread_mutex_unlock(&c->lock);
		free(p);
		return sbx_failx(err, ECONNRESET, "%s: connection closed", method);
	}
	p->id = c->next_id;
	c->next_id += 2;
	p->next = c->pending;
	c->pending = p;
	pthread_mutex_unlock(&c->lock);

	pthread_mutex_lock(&c->wlock);
	int wr = ttrpc_write_frame(c->fd, p->id, TTRPC_TYPE_REQUEST, buf, n);
	pthread_mutex_unlock(&c->wlock);

	pthread_mutex_lock(&c->lock);
	int res = wr < 0 ? wr : wait_pending(c, p, timeout_ms);
	unlink_pending(c, p);
	pthread_mutex_unlock(&c->lock);
	if (res == 0)
		res = decode_response(method, p->body, p->len, resp_desc, ret_resp, err);
	else if (res == -ETIMEDOUT)
		sbx_failx(err, ETIMEDOUT, "%s: no answer within %d ms", method, timeout_ms);
	else
		sbx_fail(err, -res, "%s", method);
	free(p->body);
	free(p);
	return res;
}

int ttrpc_call_unix(const char *path, const char *service, const char *method,
		    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		    ProtobufCMessage **ret_resp, int timeout_ms, struct sbx_err *err)
{
	struct ttrpc_client *c = NULL;
	int r = ttrpc_client_dial_unix(path, &c, err);
	if (r < 0)
		return r;
	r = ttrpc_client_call(c, service, method, req, resp_desc, ret_resp, timeout_ms, err);
	ttrpc_client_free(c);
	return r;
}
