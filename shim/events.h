/* Task events for containerd, published in the order they were queued by one thread, so no
 * RPC handler ever waits on containerd: ttrpc Forward to $TTRPC_ADDRESS (containerd 1.6),
 * reconnecting and retrying when containerd restarts. */
#pragma once

#include <protobuf-c/protobuf-c.h>

struct shim_events;

/* address: containerd's ttrpc socket; NULL or "" drops events (with one warning). */
int shim_events_new(const char *address, const char *ns, struct shim_events **ret);
/* Queues topic ("/tasks/exit") with msg packed as Any "containerd.events.<name>". */
void shim_events_publish(struct shim_events *e, const char *topic, const char *name,
			 const ProtobufCMessage *msg);
/* Waits up to timeout_ms for the queue to empty (before the shim exits). */
void shim_events_flush(struct shim_events *e, int timeout_ms);
