/* The event queue and its publisher thread. An event containerd refuses is logged and dropped;
 * one that cannot be delivered is retried with backoff (runc: 5 tries), then dropped. */
#define _GNU_SOURCE
#include "shim/events.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/shim.pb-c.h"
#include "ttrpc/client.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define FORWARD_TIMEOUT_MS 5000
#define TRIES 5

struct event {
	char topic[64];
	char type_url[96];
	uint8_t *value;
	size_t len;
	uint64_t at_ns;
	struct event *next;
};

struct shim_events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event *head, *tail;
	bool busy;
	char address[4096];
	char ns[128];
	struct ttrpc_client *client;
};

static int forward(struct shim_events *e, const struct event *ev, struct sbx_err *err)
{
	if (!e->client && ttrpc_client_dial_unix(e->address, &e->client, err) < 0)
		return -err->code;
	Sbx__Shim__V1__Timestamp ts = SBX__SHIM__V1__TIMESTAMP__INIT;
	ts.seconds = (int64_t)(ev->at_ns / 1000000000u);
	ts.nanos = (int32_t)(ev->at_ns % 1000000000u);
	Sbx__Shim__V1__Any any = SBX__SHIM__V1__ANY__INIT;
	any.type_url = (char *)ev->type_url;
	any.value.data = ev->value;
	any.value.len = ev->len;
	Sbx__Shim__V1__Envelope env = SBX__SHIM__V1__ENVELOPE__INIT;
	env.timestamp = &ts;
	env.namespace_ = e->ns;
	env.topic = (char *)ev->topic;
	env.event = &any;
	Sbx__Shim__V1__ForwardRequest req = SBX__SHIM__V1__FORWARD_REQUEST__INIT;
	req.envelope = &env;
	ProtobufCMessage *resp = NULL;
	int r =
	    ttrpc_client_call(e->client, EVENTS_SERVICE, "Forward", &req.base,
			      &sbx__shim__v1__empty__descriptor, &resp, FORWARD_TIMEOUT_MS, err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	if (r == -ECONNRESET || r == -ETIMEDOUT || r == -EPIPE) {
		ttrpc_client_free(e->client);
		e->client = NULL;
	}
	return r;
}

static void *publisher(void *arg)
{
	struct shim_events *e = arg;
	log_set_thread("events");
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->head)
			pthread_cond_wait(&e->cond, &e->lock);
		struct event *ev = e->head;
		e->busy = true;
		pthread_mutex_unlock(&e->lock);
		struct sbx_err err = {0};
		int r = -1;
		for (int i = 0; i < TRIES; i++) {
			r = forward(e, ev, &err);
			if (r == 0 || r == -EINVAL)
				break;
			struct timespec ts = {0, 100000000L << i};
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec = ts.tv_nsec / 1000000000L;
				ts.tv_nsec %= 1000000000L;
			}
			nanosleep(&ts, NULL); /* backoff between retries, not synchronisation */
		}
		if (r < 0)
			log_warn("event %s dropped: %s", ev->topic, err.msg);
		pthread_mutex_lock(&e->lock);
		e->head = ev->next;
		if (!e->head)
			e->tail = NULL;
		e->busy = false;
		pthread_cond_broadcast(&e->cond);
		free(ev->value);
		free(ev);
	}
	return NULL;
}

int shim_events_new(const char *address, const char *ns, struct shim_events **ret)
{
	struct shim_events *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	snprintf(e->address, sizeof(e->address), "%s", address ? address : "");
	snprintf(e->ns, sizeof(e->ns), "%s", ns);
	if (!e->address[0])
		log_warn("no TTRPC_ADDRESS: task events will not reach containerd");
	pthread_t t;
	if (e->address[0] && pthread_create(&t, NULL, publisher, e) == 0)
		pthread_detach(t);
	*ret = e;
	return 0;
}

void shim_events_publish(struct shim_events *e, const char *topic, const char *name,
			 const ProtobufCMessage *msg)
{
	if (!e || !e->address[0])
		return;
	struct event *ev = calloc(1, sizeof(*ev));
	size_t len = protobuf_c_message_get_packed_size(msg);
	if (!ev || !(ev->value = malloc(len ? len : 1))) {
		free(ev);
		log_error("event %s lost: out of memory", topic);
		return;
	}
	ev->len = protobuf_c_message_pack(msg, ev->value);
	snprintf(ev->topic, sizeof(ev->topic), "%s", topic);
	snprintf(ev->type_url, sizeof(ev->type_url), "containerd.events.%s", name);
	ev->at_ns = clock_ns(CLOCK_REALTIME);
	pthread_mutex_lock(&e->lock);
	if (e->tail)
		e->tail->next = ev;
	else
		e->head = ev;
	e->tail = ev;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

void shim_events_flush(struct shim_events *e, int timeout_ms)
{
	if (!e || !e->address[0])
		return;
	struct timespec dl = clock_deadline(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&e->lock);
	while (e->head)
		if (pthread_cond_timedwait(&e->cond, &e->lock, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&e->lock);
}
