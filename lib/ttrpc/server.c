/* Server side: a reader thread per connection, a worker thread per request, one write lock per
 * connection. A malformed frame or payload gets an error status, never a crash. */
#define _GNU_SOURCE
#include "ttrpc/server.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/ttrpc.pb-c.h"
#include "ttrpc/frame.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct ttrpc_server {
	const struct ttrpc_method *methods;
	size_t n_methods;
	void *ctx;
	pthread_mutex_t lock;
	int refs;         /* the owner plus one per connection */
	int active_calls; /* requests being handled */
	int open_conns;   /* connections whose peer has not closed yet */
};

struct ttrpc_conn {
	struct ttrpc_server *srv;
	int fd;
	pthread_mutex_t lock; /* guards refs and serializes writes */
	int refs;             /* the reader plus one per running request */
};

struct ttrpc_call {
	struct ttrpc_conn *conn;
	uint32_t stream_id;
	uint8_t *body;
	size_t len;
	void **allocs;
	size_t n_allocs, cap_allocs;
};

static void server_unref(struct ttrpc_server *s)
{
	pthread_mutex_lock(&s->lock);
	int left = --s->refs;
	pthread_mutex_unlock(&s->lock);
	if (left == 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
}

static void conn_unref(struct ttrpc_conn *c)
{
	pthread_mutex_lock(&c->lock);
	int left = --c->refs;
	pthread_mutex_unlock(&c->lock);
	if (left > 0)
		return;
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	struct ttrpc_server *s = c->srv;
	free(c);
	server_unref(s);
}

void *ttrpc_call_alloc(struct ttrpc_call *call, size_t size)
{
	if (call->n_allocs == call->cap_allocs) {
		size_t cap = call->cap_allocs ? call->cap_allocs * 2 : 8;
		void **p = realloc(call->allocs, cap * sizeof(*p));
		if (!p)
			return NULL;
		call->allocs = p;
		call->cap_allocs = cap;
	}
	void *m = calloc(1, size ? size : 1);
	if (m)
		call->allocs[call->n_allocs++] = m;
	return m;
}

char *ttrpc_call_strdup(struct ttrpc_call *call, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ttrpc_call_alloc(call, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void call_free(struct ttrpc_call *call)
{
	for (size_t i = 0; i < call->n_allocs; i++)
		free(call->allocs[i]);
	free(call->allocs);
	free(call->body);
	free(call);
}

/* Sends a Response; payload may be NULL for an error or an empty result. */
static int send_response(struct ttrpc_conn *c, uint32_t stream_id, int code, const char *message,
			 const uint8_t *payload, size_t payload_len)
{
	Sbx__Ttrpc__Response resp = SBX__TTRPC__RESPONSE__INIT;
	Sbx__Ttrpc__Status status = SBX__TTRPC__STATUS__INIT;
	if (code != TTRPC_OK) {
		status.code = code;
		status.message = (char *)(message ? message : "");
		resp.status = &status;
	} else if (payload_len) {
		resp.payload.data = (uint8_t *)payload;
		resp.payload.len = payload_len;
	}
	size_t n = sbx__ttrpc__response__get_packed_size(&resp);
	_cleanup_free_ uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	sbx__ttrpc__response__pack(&resp, buf);
	pthread_mutex_lock(&c->lock);
	int r = ttrpc_write_frame(c->fd, stream_id, TTRPC_TYPE_RESPONSE, buf, n);
	pthread_mutex_unlock(&c->lock);
	return r;
}

static const struct ttrpc_method *find_method(struct ttrpc_server *s, const char *service,
					      const char *method, bool *service_known)
{
	*service_known = false;
	for (size_t i = 0; i < s->n_methods; i++) {
		if (strcmp(s->methods[i].service, service) != 0)
			continue;
		*service_known = true;
		if (strcmp(s->methods[i].method, method) == 0)
			return &s->methods[i];
	}
	return NULL;
}

static void dispatch(struct ttrpc_call *call)
{
	struct ttrpc_conn *c = call->conn;
	struct ttrpc_server *s = c->srv;
	Sbx__Ttrpc__Request *req = sbx__ttrpc__request__unpack(NULL, call->len, call->body);
	if (!req || !req->service || !req->method) {
		send_response(c, call->stream_id, TTRPC_INVALID_ARGUMENT, "malformed ttrpc request",
			      NULL, 0);
		goto free_req;
	}
	bool service_known;
	const struct ttrpc_method *m = find_method(s, req->service, req->method, &service_known);
	if (!m) {
		char msg[300];
		snprintf(msg, sizeof(msg), service_known ? "method %.128s" : "service %.128s",
			 service_known ? req->method : req->service);
		send_response(c, call->stream_id, TTRPC_UNIMPLEMENTED, msg, NULL, 0);
		goto free_req;
	}
	ProtobufCMessage *in =
	    protobuf_c_message_unpack(m->request, NULL, req->payload.len, req->payload.data);
	if (!in) {
		char msg[300];
		snprintf(msg, sizeof(msg), "malformed %s request payload", m->method);
		send_response(c, call->stream_id, TTRPC_INVALID_ARGUMENT, msg, NULL, 0);
		goto free_req;
	}
	ProtobufCMessage *out = ttrpc_call_alloc(call, m->response->sizeof_message);
	struct sbx_err err = {0};
	int r;
	if (!out) {
		r = sbx_fail(&err, ENOMEM, "%s", m->method);
	} else {
		m->response->message_init(out);
		r = m->handler(s->ctx, call, in, out, &err);
	}
	if (r < 0) {
		if (!err.msg[0])
			sbx_fail(&err, -r, "%s", m->method);
		log_debug("%s/%s failed: %s", m->service, m->method, err.msg);
		send_response(c, call->stream_id, ttrpc_code_from_errno(r), err.msg, NULL, 0);
	} else {
		size_t n = protobuf_c_message_get_packed_size(out);
		uint8_t *buf = ttrpc_call_alloc(call, n);
		if (buf) {
			protobuf_c_message_pack(out, buf);
			send_response(c, call->stream_id, TTRPC_OK, NULL, buf, n);
		} else {
			send_response(c, call->stream_id, TTRPC_RESOURCE_EXHAUSTED, "out of memory",
				      NULL, 0);
		}
	}
	protobuf_c_message_free_unpacked(in, NULL);
free_req:
	if (req)
		sbx__ttrpc__request__free_unpacked(req, NULL);
}

static void *request_thread(void *arg)
{
	struct ttrpc_call *call = arg;
	struct ttrpc_conn *c = call->conn;
	struct ttrpc_server *s = c->srv;
	dispatch(call);
	call_free(call);
	pthread_mutex_lock(&s->lock);
	s->active_calls--;
	pthread_mutex_unlock(&s->lock);
	conn_unref(c);
	return NULL;
}

static void start_request(struct ttrpc_conn *c, uint32_t stream_id, uint8_t *body, size_t len)
{
	struct ttrpc_call *call = calloc(1, sizeof(*call));
	if (!call) {
		free(body);
		send_response(c, stream_id, TTRPC_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
		return;
	}
	call->conn = c;
	call->stream_id = stream_id;
	call->body = body;
	call->len = len;
	pthread_mutex_lock(&c->lock);
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_lock(&c->srv->lock);
	c->srv->active_calls++;
	pthread_mutex_unlock(&c->srv->lock);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	if (pthread_create(&t, &attr, request_thread, call) != 0) {
		/* No thread: answer here rather than drop the request. */
		send_response(c, stream_id, TTRPC_RESOURCE_EXHAUSTED, "too many requests", NULL, 0);
		call_free(call);
		pthread_mutex_lock(&c->srv->lock);
		c->srv->active_calls--;
		pthread_mutex_unlock(&c->srv->lock);
		conn_unref(c);
	}
	pthread_attr_destroy(&attr);
}

static void *conn_thread(void *arg)
{
	struct ttrpc_conn *c = arg;
	for (;;) {
		struct ttrpc_header h;
		uint8_t *body = NULL;
		int r = ttrpc_read_frame(c->fd, &h, &body);
		if (r == -EMSGSIZE) {
			send_response(c, h.stream_id, TTRPC_RESOURCE_EXHAUSTED,
				      "message larger than 4 MiB", NULL, 0);
			continue;
		}
		if (r < 0)
			break;
		if (h.type != TTRPC_TYPE_REQUEST) {
			free(body); /* unknown frame types are ignored */
			continue;
		}
		if (h.stream_id % 2 == 0) {
			free(body);
			send_response(c, h.stream_id, TTRPC_INVALID_ARGUMENT,
				      "client stream ids must be odd", NULL, 0);
			continue;
		}
		start_request(c, h.stream_id, body, h.length);
	}
	/* Requests still running finish and answer into a closed socket; the last unref closes. */
	shutdown(c->fd, SHUT_RD);
	pthread_mutex_lock(&c->srv->lock);
	c->srv->open_conns--;
	pthread_mutex_unlock(&c->srv->lock);
	conn_unref(c);
	return NULL;
}

int ttrpc_server_new(const struct ttrpc_method *methods, size_t n_methods, void *ctx,
		     struct ttrpc_server **ret, struct sbx_err *err)
{
	struct ttrpc_server *s = calloc(1, sizeof(*s));
	if (!s)
		return sbx_fail(err, ENOMEM, "ttrpc server");
	s->methods = methods;
	s->n_methods = n_methods;
	s->ctx = ctx;
	s->refs = 1;
	pthread_mutex_init(&s->lock, NULL);
	*ret = s;
	return 0;
}

int ttrpc_server_serve_fd(struct ttrpc_server *s, int fd, struct sbx_err *err)
{
	struct ttrpc_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return sbx_fail(err, ENOMEM, "ttrpc connection");
	}
	c->srv = s;
	c->fd = fd;
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_lock(&s->lock);
	s->refs++;
	s->open_conns++;
	pthread_mutex_unlock(&s->lock);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int r = pthread_create(&t, &attr, conn_thread, c);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		pthread_mutex_lock(&s->lock);
		s->open_conns--;
		pthread_mutex_unlock(&s->lock);
		conn_unref(c);
		return sbx_fail(err, r, "ttrpc connection thread");
	}
	return 0;
}

int ttrpc_server_accept_loop(struct ttrpc_server *s, int listen_fd)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return -errno;
		}
		ttrpc_server_serve_fd(s, fd, NULL);
	}
}

int ttrpc_listen_unix(const char *path, struct sbx_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return sbx_failx(err, ENAMETOOLONG, "socket path '%s' too long", path);
	memcpy(sa.sun_path, path, strlen(path));
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sbx_fail(err, errno, "socket");
	unlink(path);
	/* Only the owner may connect: the umask covers the window before chmod. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return sbx_fail(err, errno, "bind '%s'", path);
	if (listen(fd, 64) < 0)
		return sbx_fail(err, errno, "listen on '%s'", path);
	return TAKE_FD(fd);
}

int ttrpc_server_active_calls(struct ttrpc_server *s)
{
	pthread_mutex_lock(&s->lock);
	int n = s->active_calls;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void ttrpc_server_free(struct ttrpc_server *s)
{
	if (s)
		server_unref(s);
}

int ttrpc_server_open_connections(struct ttrpc_server *s)
{
	pthread_mutex_lock(&s->lock);
	int n = s->open_conns;
	pthread_mutex_unlock(&s->lock);
	return n;
}
