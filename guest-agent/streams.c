/* Port 1025: each connection carries one stream of one process (stdin, stdout, stderr) or a
 * container's rootfs tar. It starts with a 4-byte big-endian length and a StreamHello; a
 * stdio stream is then relayed by its own thread between the socket and the process's pipe or
 * pty, and a rootfs stream is parked until its CreateContainer takes it. */
#define _GNU_SOURCE
#include "guest-agent/agent.h"
#include "guest-agent/init.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/io.h"
#include "base/vsock-ports.h"
#include "proto/agent.pb-c.h"

#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HELLO_MAX 1024
#define MAX_PARKED 16
#define PARKED_MAX_AGE_NS (120ull * 1000000000ull)

/* What a listener or a new connection's thread needs: the agent and one socket. */
struct agent_socket {
	struct agent *a;
	int fd;
};

/* Starts fn on a detached thread with a copy of {a, fd}; on failure the caller keeps fd. */
static int start_socket_thread(void *(*fn)(void *), struct agent *a, int fd)
{
	struct agent_socket *arg = malloc(sizeof(*arg));
	if (!arg)
		return -ENOMEM;
	*arg = (struct agent_socket){a, fd};
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int r = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		free(arg);
		return -r;
	}
	return 0;
}

struct relay {
	struct agent *a;
	struct agent_container *c; /* a reference, dropped when the relay ends */
	struct agent_proc *p;
	int kind; /* SBX__AGENT__V1__STREAM_HELLO__KIND__* */
	int sock, fd;
	bool pty;
};

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	bool to_process = r->kind == SBX__AGENT__V1__STREAM_HELLO__KIND__STDIN;
	if (to_process)
		sbx_copy_until_eof(r->sock, r->fd);
	else
		sbx_copy_until_eof(r->fd, r->sock);
	/* the host's end of stdin closed: a terminal gets ^D, a pipe its EOF */
	if (to_process && r->pty)
		(void)!write(r->fd, "\x04", 1);
	pthread_mutex_lock(&r->a->lock);
	r->p->stream_sock[r->kind] = -1;
	pthread_mutex_unlock(&r->a->lock);
	shutdown(r->sock, SHUT_RDWR);
	close(r->sock);
	close(r->fd);
	agent_container_put(r->a, r->c);
	free(r);
	return NULL;
}

void agent_streams_shutdown(struct agent_proc *p)
{
	for (int i = 0; i < 3; i++)
		if (p->stream_sock[i] >= 0)
			shutdown(p->stream_sock[i], SHUT_RDWR);
}

/* Takes the process's end for this stream; the caller owns the returned fd. */
static int take_end(struct agent_proc *p, int kind, bool *pty, struct sbx_err *err)
{
	*pty = p->pty_master >= 0;
	if (p->stream_sock[kind] >= 0)
		return sbx_failx(err, EBUSY, "stream already attached");
	int *slot = kind == SBX__AGENT__V1__STREAM_HELLO__KIND__STDIN    ? &p->stdin_fd
		    : kind == SBX__AGENT__V1__STREAM_HELLO__KIND__STDOUT ? &p->stdout_fd
									 : &p->stderr_fd;
	if (*slot < 0)
		return sbx_failx(err, ENOENT, "the process has no such stream (or it was taken)");
	int fd = *slot;
	*slot = -1;
	return fd;
}

static int attach(struct agent *a, int sock, const Sbx__Agent__V1__StreamHello *h,
		  struct sbx_err *err)
{
	struct agent_container *c = NULL;
	if (agent_check_id("exec id", h->exec_id, true, err) < 0 ||
	    agent_container_get(a, h->container_id, &c, err) < 0)
		return -err->code;
	struct relay *r = calloc(1, sizeof(*r));
	if (!r) {
		agent_container_put(a, c);
		return sbx_fail(err, ENOMEM, "stream");
	}
	*r = (struct relay){.a = a, .c = c, .kind = (int)h->kind, .sock = sock};
	pthread_mutex_lock(&a->lock);
	r->p = agent_proc_find(c, h->exec_id);
	r->fd = r->p ? take_end(r->p, r->kind, &r->pty, err)
		     : sbx_failx(err, ENOENT, "no process '%s' in '%s'", h->exec_id, c->id);
	if (r->fd >= 0)
		r->p->stream_sock[r->kind] = sock;
	pthread_mutex_unlock(&a->lock);
	pthread_t t;
	if (r->fd >= 0 && pthread_create(&t, NULL, relay_thread, r) == 0) {
		pthread_detach(t);
		return 0;
	}
	if (r->fd >= 0) {
		pthread_mutex_lock(&a->lock);
		r->p->stream_sock[r->kind] = -1;
		pthread_mutex_unlock(&a->lock);
		close(r->fd);
		sbx_failx(err, EAGAIN, "cannot start a relay thread");
	}
	agent_container_put(a, c);
	free(r);
	return -err->code;
}

static int park(struct agent *a, int sock, const char *id, struct sbx_err *err)
{
	if (agent_check_id("container id", id, false, err) < 0)
		return -err->code;
	struct agent_parked_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return sbx_fail(err, ENOMEM, "stream");
	snprintf(s->container_id, sizeof(s->container_id), "%s", id);
	s->fd = sock;
	s->parked_ns = clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&a->lock);
	/* streams nobody took within PARKED_MAX_AGE_NS are dropped, and at most MAX_PARKED wait */
	unsigned n = 0;
	for (struct agent_parked_stream **pp = &a->parked; *pp;) {
		struct agent_parked_stream *o = *pp;
		if (s->parked_ns - o->parked_ns > PARKED_MAX_AGE_NS) {
			*pp = o->next;
			close(o->fd);
			free(o);
			continue;
		}
		n++;
		pp = &o->next;
	}
	int r = 0;
	if (n >= MAX_PARKED) {
		r = sbx_failx(err, EBUSY, "too many rootfs streams waiting");
		free(s);
	} else {
		s->next = a->parked;
		a->parked = s;
		pthread_cond_broadcast(&a->changed);
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

static void *hello_thread(void *arg)
{
	struct agent_socket conn = *(struct agent_socket *)arg;
	struct agent *a = conn.a;
	int sock = conn.fd;
	free(arg);
	struct sbx_err err = {0};
	unsigned char len_be[4], *msg = NULL;
	Sbx__Agent__V1__StreamHello *h = NULL;
	/* a peer that never sends its hello must not hold this thread forever */
	struct timeval tv = {.tv_sec = 10};
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sbx_read_full(sock, len_be, 4) < 0) {
		sbx_failx(&err, EPROTO, "no stream header");
		goto fail;
	}
	uint32_t len = (uint32_t)len_be[0] << 24 | len_be[1] << 16 | len_be[2] << 8 | len_be[3];
	if (len == 0 || len > HELLO_MAX) {
		sbx_failx(&err, EPROTO, "stream header length %u is not 1..%d", len, HELLO_MAX);
		goto fail;
	}
	msg = malloc(len);
	if (!msg || sbx_read_full(sock, msg, len) < 0) {
		sbx_failx(&err, EPROTO, "short stream header");
		goto fail;
	}
	h = sbx__agent__v1__stream_hello__unpack(NULL, len, msg);
	if (!h) {
		sbx_failx(&err, EPROTO, "stream header is not a StreamHello");
		goto fail;
	}
	tv.tv_sec = 0;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int r;
	switch (h->kind) {
	case SBX__AGENT__V1__STREAM_HELLO__KIND__STDIN:
	case SBX__AGENT__V1__STREAM_HELLO__KIND__STDOUT:
	case SBX__AGENT__V1__STREAM_HELLO__KIND__STDERR:
		r = attach(a, sock, h, &err);
		break;
	case SBX__AGENT__V1__STREAM_HELLO__KIND__ROOTFS:
		r = park(a, sock, h->container_id, &err);
		break;
	default:
		r = sbx_failx(&err, EINVAL, "stream kind %d is unknown", (int)h->kind);
	}
	if (r < 0)
		goto fail;
	sbx__agent__v1__stream_hello__free_unpacked(h, NULL);
	free(msg);
	return NULL;
fail:
	dprintf(2, "sbx-agent: stream refused: %s\n", err.msg);
	if (h)
		sbx__agent__v1__stream_hello__free_unpacked(h, NULL);
	free(msg);
	close(sock);
	return NULL;
}

static void *accept_thread(void *arg)
{
	struct agent_socket *l = arg;
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			agent_power_off("the stream listener failed");
		}
		if (start_socket_thread(hello_thread, l->a, fd) < 0)
			close(fd);
	}
}

int agent_streams_start(struct agent *a, struct sbx_err *err)
{
	int fd = agent_listen_vsock(SBX_PORT_AGENT_STDIO, err);
	if (fd < 0)
		return fd;
	int r = start_socket_thread(accept_thread, a, fd);
	if (r < 0) {
		close(fd);
		return sbx_fail(err, -r, "cannot start the stream listener");
	}
	return 0;
}
