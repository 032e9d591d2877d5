/* The ttrpc server: a table of methods, any number of connections, and every request handled on
 * its own thread, so a long call (a WaitProcess that blocks until exit, a Create that boots a
 * VM) never stalls the others. Only the dispatcher unpacks, packs, maps errors and logs. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct sbx_err;
struct ttrpc_call;
struct ttrpc_server;

/* Fills resp (already initialised from its descriptor). Memory the response points to must live
 * until the call ends: use ttrpc_call_alloc/strdup, the request, or static data.
 * Returns >= 0, or -errno with err filled; the errno picks the status code. */
typedef int (*ttrpc_handler_fn)(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
				ProtobufCMessage *resp, struct sbx_err *err);

struct ttrpc_method {
	const char *service; /* e.g. "containerd.task.v2.Task" */
	const char *method;  /* e.g. "Create" */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *response;
	ttrpc_handler_fn handler;
};

/* Zeroed memory freed when the call ends. NULL on allocation failure. */
void *ttrpc_call_alloc(struct ttrpc_call *call, size_t size);
char *ttrpc_call_strdup(struct ttrpc_call *call, const char *s);

/* methods must outlive the server. */
int ttrpc_server_new(const struct ttrpc_method *methods, size_t n_methods, void *ctx,
		     struct ttrpc_server **ret, struct sbx_err *err);
/* Serves one connected stream (unix socket, vsock) on a new thread; takes ownership of fd. */
int ttrpc_server_serve_fd(struct ttrpc_server *s, int fd, struct sbx_err *err);
/* Accepts connections on listen_fd until it fails (e.g. shut down from another thread). */
int ttrpc_server_accept_loop(struct ttrpc_server *s, int listen_fd);
/* Creates a listening unix socket (mode 0600) at path, replacing a stale one. */
int ttrpc_listen_unix(const char *path, struct sbx_err *err);
/* Counts calls that are still running; for tests and clean shutdown. */
int ttrpc_server_active_calls(struct ttrpc_server *s);
/* Counts connections the peer has not closed yet. */
int ttrpc_server_open_connections(struct ttrpc_server *s);
/* Frees the server once no connection uses it; connections keep running until they close. */
void ttrpc_server_free(struct ttrpc_server *s);
