/* ttrpc: the spec's wire vectors byte for byte, client<->server round trips, concurrency, and
 * every malformed-input path answering with the right status instead of crashing. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "proto/shim.pb-c.h"
#include "proto/ttrpc.pb-c.h"
#include "ttrpc/client.h"
#include "ttrpc/frame.h"
#include "ttrpc/server.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t tt_unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		if (*hex == '"') { /* quoted ASCII */
			for (hex++; *hex != '"'; hex++)
				out[n++] = (uint8_t)*hex;
			hex++;
			continue;
		}
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

TEST(spec_request_vector)
{
	/* Connect{id:"demo"} on stream 1 with one metadata pair, from the wire contract. */
	uint8_t want[256];
	size_t want_n =
	    tt_unhex("000000510000000101 00 0a17\"containerd.task.v2.Task\" 1207\"Connect\" "
		     "1a06 0a0464656d6f 2a25 0a1a\"containerd-namespace-ttrpc\" "
		     "1207\"default\"",
		     want);
	Sbx__Shim__V1__ConnectRequest cr = SBX__SHIM__V1__CONNECT_REQUEST__INIT;
	cr.id = "demo";
	uint8_t payload[16];
	size_t pn = sbx__shim__v1__connect_request__pack(&cr, payload);
	Sbx__Ttrpc__KeyValue kv = SBX__TTRPC__KEY_VALUE__INIT;
	kv.key = "containerd-namespace-ttrpc";
	kv.value = "default";
	Sbx__Ttrpc__KeyValue *kvs[] = {&kv};
	Sbx__Ttrpc__Request r = SBX__TTRPC__REQUEST__INIT;
	r.service = "containerd.task.v2.Task";
	r.method = "Connect";
	r.payload.data = payload;
	r.payload.len = pn;
	r.n_metadata = 1;
	r.metadata = kvs;
	uint8_t got[256];
	size_t body = sbx__ttrpc__request__pack(&r, got + TTRPC_HEADER_SIZE);
	struct ttrpc_header h = {.length = (uint32_t)body, .stream_id = 1, .type = 1};
	ttrpc_header_encode(&h, got);
	ASSERT_EQ(TTRPC_HEADER_SIZE + body, want_n);
	ASSERT_TRUE(memcmp(got, want, want_n) == 0);

	struct ttrpc_header back;
	ttrpc_header_decode(want, &back);
	ASSERT_EQ(back.length, 0x51);
	ASSERT_EQ(back.stream_id, 1);
	ASSERT_EQ(back.type, TTRPC_TYPE_REQUEST);
}

/* A server over a socketpair whose other end the test drives by hand. */
static int tt_raw_pair(struct ttrpc_server *s)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (ttrpc_server_serve_fd(s, sv[1], NULL) < 0)
		return -1;
	return sv[0];
}

static pthread_mutex_t tt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tt_cond = PTHREAD_COND_INITIALIZER;
static int tt_released;

static int h_connect(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		     ProtobufCMessage *resp, struct sbx_err *err)
{
	const Sbx__Shim__V1__ConnectRequest *in = (const void *)req;
	Sbx__Shim__V1__ConnectResponse *out = (void *)resp;
	if (strcmp(in->id, "missing") == 0)
		return sbx_failx(err, ENOENT, "container %s not created", in->id);
	out->shim_pid = 1234;
	out->task_pid = 5678;
	out->version = ttrpc_call_strdup(call, in->id);
	return 0;
}

static int h_wait(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		  ProtobufCMessage *resp, struct sbx_err *err)
{
	pthread_mutex_lock(&tt_lock);
	while (!tt_released)
		pthread_cond_wait(&tt_cond, &tt_lock);
	pthread_mutex_unlock(&tt_lock);
	((Sbx__Shim__V1__WaitResponse *)resp)->exit_status = 7;
	return 0;
}

static const struct ttrpc_method tt_methods[] = {
    {"containerd.task.v2.Task", "Connect", &sbx__shim__v1__connect_request__descriptor,
     &sbx__shim__v1__connect_response__descriptor, h_connect},
    {"containerd.task.v2.Task", "Wait", &sbx__shim__v1__wait_request__descriptor,
     &sbx__shim__v1__wait_response__descriptor, h_wait},
};

static int tt_connect(struct ttrpc_client *c, const char *id, uint32_t *shim_pid, char *version,
		      struct sbx_err *err)
{
	Sbx__Shim__V1__ConnectRequest req = SBX__SHIM__V1__CONNECT_REQUEST__INIT;
	req.id = (char *)id;
	ProtobufCMessage *resp = NULL;
	int r = ttrpc_client_call(c, "containerd.task.v2.Task", "Connect", &req.base,
				  &sbx__shim__v1__connect_response__descriptor, &resp, 5000, err);
	if (r == 0) {
		Sbx__Shim__V1__ConnectResponse *cr = (void *)resp;
		*shim_pid = cr->shim_pid;
		if (version)
			strcpy(version, cr->version);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	return r;
}

static struct ttrpc_client *tt_client(struct ttrpc_server *s)
{
	struct ttrpc_client *c = NULL;
	int fd = tt_raw_pair(s);
	if (fd >= 0)
		ttrpc_client_new(fd, &c, NULL);
	return c;
}

TEST(round_trip_and_errors)
{
	struct ttrpc_server *s = NULL;
	struct sbx_err err = {0};
	ASSERT_EQ(ttrpc_server_new(tt_methods, 2, NULL, &s, &err), 0);
	struct ttrpc_client *c = tt_client(s);
	ASSERT_NOT_NULL(c);
	uint32_t pid = 0;
	char version[64];
	ASSERT_EQ(tt_connect(c, "demo", &pid, version, &err), 0);
	ASSERT_EQ(pid, 1234);
	ASSERT_STR_EQ(version, "demo");

	ASSERT_EQ(tt_connect(c, "missing", &pid, NULL, &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "container missing not created");

	Sbx__Shim__V1__ConnectRequest req = SBX__SHIM__V1__CONNECT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	ASSERT_EQ(ttrpc_client_call(c, "containerd.task.v2.Task", "Frobnicate", &req.base,
				    &sbx__shim__v1__connect_response__descriptor, &resp, 5000,
				    &err),
		  -ENOSYS);
	ASSERT_STR_EQ(err.msg, "method Frobnicate");
	ASSERT_EQ(ttrpc_client_call(c, "no.such.Service", "Connect", &req.base,
				    &sbx__shim__v1__connect_response__descriptor, &resp, 5000,
				    &err),
		  -ENOSYS);
	ASSERT_STR_EQ(err.msg, "service no.such.Service");
	ttrpc_client_free(c);
	ttrpc_server_free(s);
}

static void *tt_wait_thread(void *arg)
{
	struct ttrpc_client *c = arg;
	Sbx__Shim__V1__WaitRequest req = SBX__SHIM__V1__WAIT_REQUEST__INIT;
	req.id = "x";
	ProtobufCMessage *resp = NULL;
	struct sbx_err err = {0};
	intptr_t status = -1;
	if (ttrpc_client_call(c, "containerd.task.v2.Task", "Wait", &req.base,
			      &sbx__shim__v1__wait_response__descriptor, &resp, 0, &err) == 0) {
		status = ((Sbx__Shim__V1__WaitResponse *)resp)->exit_status;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	return (void *)status;
}

TEST(a_blocking_call_does_not_stall_others)
{
	struct ttrpc_server *s = NULL;
	struct sbx_err err = {0};
	ASSERT_EQ(ttrpc_server_new(tt_methods, 2, NULL, &s, &err), 0);
	struct ttrpc_client *c = tt_client(s);
	tt_released = 0;
	pthread_t t;
	pthread_create(&t, NULL, tt_wait_thread, c);
	/* Many calls on the same connection while Wait is pending. */
	for (int i = 0; i < 50; i++) {
		uint32_t pid = 0;
		ASSERT_EQ(tt_connect(c, "demo", &pid, NULL, &err), 0);
	}
	/* A call that exceeds its deadline reports it. */
	Sbx__Shim__V1__WaitRequest wr = SBX__SHIM__V1__WAIT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	ASSERT_EQ(ttrpc_client_call(c, "containerd.task.v2.Task", "Wait", &wr.base,
				    &sbx__shim__v1__wait_response__descriptor, &resp, 100, &err),
		  -ETIMEDOUT);
	pthread_mutex_lock(&tt_lock);
	tt_released = 1;
	pthread_cond_broadcast(&tt_cond);
	pthread_mutex_unlock(&tt_lock);
	void *status;
	pthread_join(t, &status);
	ASSERT_EQ((intptr_t)status, 7);
	ttrpc_client_free(c);
	ttrpc_server_free(s);
}

/* Sends one raw frame and returns the status code of the answer (or -1). */
static int tt_raw_status(int fd, uint32_t stream, const uint8_t *body, size_t len)
{
	if (ttrpc_write_frame(fd, stream, TTRPC_TYPE_REQUEST, body, len) < 0)
		return -1;
	struct ttrpc_header h;
	uint8_t *b = NULL;
	if (ttrpc_read_frame(fd, &h, &b) < 0 || h.stream_id != stream)
		return -1;
	Sbx__Ttrpc__Response *r = sbx__ttrpc__response__unpack(NULL, h.length, b);
	free(b);
	int code = r ? (r->status ? r->status->code : 0) : -1;
	if (r)
		sbx__ttrpc__response__free_unpacked(r, NULL);
	return code;
}

TEST(malformed_input_gets_a_status)
{
	struct ttrpc_server *s = NULL;
	struct sbx_err err = {0};
	ASSERT_EQ(ttrpc_server_new(tt_methods, 2, NULL, &s, &err), 0);
	int fd = tt_raw_pair(s);
	ASSERT_GE(fd, 0);
	const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x07, 0x01};
	ASSERT_EQ(tt_raw_status(fd, 1, garbage, sizeof(garbage)), TTRPC_INVALID_ARGUMENT);

	/* A well-formed envelope whose payload is not a ConnectRequest. */
	Sbx__Ttrpc__Request r = SBX__TTRPC__REQUEST__INIT;
	r.service = "containerd.task.v2.Task";
	r.method = "Connect";
	uint8_t bad_payload[] = {0x0a, 0x7f, 0x01};
	r.payload.data = bad_payload;
	r.payload.len = sizeof(bad_payload);
	uint8_t buf[128];
	size_t n = sbx__ttrpc__request__pack(&r, buf);
	ASSERT_EQ(tt_raw_status(fd, 3, buf, n), TTRPC_INVALID_ARGUMENT);

	/* Even stream ids are the server's. */
	r.payload.len = 0;
	n = sbx__ttrpc__request__pack(&r, buf);
	ASSERT_EQ(tt_raw_status(fd, 4, buf, n), TTRPC_INVALID_ARGUMENT);

	/* Over 4 MiB: skipped and refused, the connection stays usable. */
	size_t big = TTRPC_MAX_BODY + 1;
	uint8_t hdr[TTRPC_HEADER_SIZE];
	struct ttrpc_header h = {.length = (uint32_t)big, .stream_id = 5, .type = 1};
	ttrpc_header_encode(&h, hdr);
	ASSERT_EQ(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	uint8_t *zeros = calloc(1, big);
	size_t off = 0;
	while (off < big) {
		ssize_t w = write(fd, zeros + off, big - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(zeros);
	struct ttrpc_header rh;
	uint8_t *rb = NULL;
	ASSERT_EQ(ttrpc_read_frame(fd, &rh, &rb), 0);
	ASSERT_EQ(rh.stream_id, 5);
	Sbx__Ttrpc__Response *resp = sbx__ttrpc__response__unpack(NULL, rh.length, rb);
	free(rb);
	ASSERT_NOT_NULL(resp);
	ASSERT_EQ(resp->status->code, TTRPC_RESOURCE_EXHAUSTED);
	sbx__ttrpc__response__free_unpacked(resp, NULL);
	ASSERT_EQ(tt_raw_status(fd, 7, buf, n), TTRPC_OK);
	close(fd);
	ttrpc_server_free(s);
}

struct tt_peer {
	int fd;
	const uint8_t *replies[2];
	size_t lens[2];
};

/* A fake server: answers each request with the next canned reply. */
static void *tt_peer_thread(void *arg)
{
	struct tt_peer *p = arg;
	for (int i = 0; i < 2; i++) {
		struct ttrpc_header h;
		uint8_t *b = NULL;
		if (ttrpc_read_frame(p->fd, &h, &b) < 0)
			break;
		free(b);
		if (write(p->fd, p->replies[i], p->lens[i]) < 0)
			break;
	}
	return NULL;
}

TEST(client_decodes_the_spec_replies)
{
	/* Serve the spec's OK and error replies from a fake peer to a real client. */
	int sv[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct ttrpc_client *c = NULL;
	ASSERT_EQ(ttrpc_client_new(sv[0], &c, NULL), 0);
	uint8_t ok[64], bad[64];
	size_t okn = tt_unhex("0000000a0000000102 00 0a00 1206 08d209 10ae2c", ok);
	size_t badn = tt_unhex("000000260000000302 00 0a24 0805 1220\"container not created: not "
			       "found\"",
			       bad);
	struct tt_peer peer = {.fd = sv[1], .replies = {ok, bad}, .lens = {okn, badn}};
	pthread_t t;
	pthread_create(&t, NULL, tt_peer_thread, &peer);
	struct sbx_err err = {0};
	uint32_t pid = 0;
	ASSERT_EQ(tt_connect(c, "demo", &pid, NULL, &err), 0);
	ASSERT_EQ(pid, 1234);
	ASSERT_EQ(tt_connect(c, "demo", &pid, NULL, &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "container not created: not found");
	pthread_join(t, NULL);
	ttrpc_client_free(c);
	close(sv[1]);
}

TEST(round_trip_latency_over_a_unix_socket)
{
	struct ttrpc_server *s = NULL;
	struct sbx_err err = {0};
	ASSERT_EQ(ttrpc_server_new(tt_methods, 2, NULL, &s, &err), 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/t.sock", tap_tmpdir());
	int l = ttrpc_listen_unix(path, &err);
	ASSERT_GE(l, 0);
	struct ttrpc_client *c = NULL;
	ASSERT_EQ(ttrpc_client_dial_unix(path, &c, &err), 0);
	int conn = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_EQ(ttrpc_server_serve_fd(s, conn, &err), 0);
	static long us[1000];
	for (int i = 0; i < 1000; i++) {
		struct timespec a, b;
		uint32_t pid;
		clock_gettime(CLOCK_MONOTONIC, &a);
		ASSERT_EQ(tt_connect(c, "demo", &pid, NULL, &err), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	for (int i = 1; i < 1000; i++)
		for (int j = i; j > 0 && us[j - 1] > us[j]; j--) {
			long t = us[j];
			us[j] = us[j - 1];
			us[j - 1] = t;
		}
	printf("# ttrpc round trip over a unix socket (ASan build): median %ld us, p99 %ld us\n",
	       us[500], us[990]);
	ttrpc_client_free(c);
	close(l);
	ttrpc_server_free(s);
}

struct accept_args {
	struct ttrpc_server *s;
	int listen_fd;
};

static void *tt_accept_thread(void *arg)
{
	struct accept_args *a = arg;
	ttrpc_server_accept_loop(a->s, a->listen_fd);
	return NULL;
}

TEST(one_call_on_a_connection_of_its_own)
{
	struct ttrpc_server *s = NULL;
	struct sbx_err err = {0};
	ASSERT_EQ(ttrpc_server_new(tt_methods, 2, NULL, &s, &err), 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/once.sock", tap_tmpdir());
	struct accept_args a = {s, ttrpc_listen_unix(path, &err)};
	ASSERT_GE(a.listen_fd, 0);
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, tt_accept_thread, &a), 0);
	Sbx__Shim__V1__ConnectRequest req = SBX__SHIM__V1__CONNECT_REQUEST__INIT;
	req.id = "demo";
	ProtobufCMessage *resp = NULL;
	int r = ttrpc_call_unix(path, "containerd.task.v2.Task", "Connect", &req.base,
				&sbx__shim__v1__connect_response__descriptor, &resp, 5000, &err);
	shutdown(a.listen_fd, SHUT_RDWR); /* ends the accept loop */
	pthread_join(t, NULL);
	close(a.listen_fd);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(((Sbx__Shim__V1__ConnectResponse *)resp)->shim_pid, 1234);
	protobuf_c_message_free_unpacked(resp, NULL);
	/* the server's answer and a socket nobody listens on both come back as errors */
	ASSERT_EQ(ttrpc_call_unix(path, "containerd.task.v2.Task", "Connect", &req.base,
				  &sbx__shim__v1__connect_response__descriptor, &resp, 5000, &err),
		  -ECONNREFUSED);
	ASSERT_TRUE(strstr(err.msg, path) != NULL);
	ttrpc_server_free(s);
}
