/* The event queue and its publisher thread. An event containerd refuses is logged and dropped;
 * one that cannot be delivered (containerd restarting) is retried with a capped backoff for up
 * to a minute, so an exit during a restart still arrives; later events wait behind it, keeping
 * the order. runc gives up after 5 tries (~3 s), shorter than a slow containerd restart. */
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
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 2000
#define RETRY_FOR_MS 60000

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
	if (r < 0 && r != -EINVAL) { /* whatever broke, the next try dials afresh */
		ttrpc_client_free(e->client);
		e->client = NULL;
	}
	return r;
}

/* Forwards ev until containerd takes it, refuses it (EINVAL), or RETRY_FOR_MS have passed. */
static int deliver(struct shim_events *e, const struct event *ev, struct sbx_err *err)
{
	uint64_t give_up = clock_ns(CLOCK_MONOTONIC) + (uint64_t)RETRY_FOR_MS * 1000000u;
	long delay_ms = RETRY_FIRST_MS;
	unsigned tries = 0;
	for (;;) {
		int r = forward(e, ev, err);
		tries++;
		if (r == 0 || r == -EINVAL)
			return r;
		if (tries == 1)
			log_debug("event %s not delivered, retrying: %s", ev->topic, err->msg);
		if (clock_ns(CLOCK_MONOTONIC) >= give_up)
			return sbx_wrap(err, "%u tries in %d s", tries, RETRY_FOR_MS / 1000);
		struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL); /* backoff between retries, not synchronisation */
		delay_ms = delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : delay_ms * 2;
	}
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
		int r = deliver(e, ev, &err);
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
