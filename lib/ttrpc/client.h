/* The ttrpc client: one connection, calls from any number of threads at once (odd stream ids,
 * responses matched by id), per-call timeouts, status codes turned back into -errno. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

struct sbx_err;
struct ttrpc_client;

/* Takes ownership of a connected stream fd. */
int ttrpc_client_new(int fd, struct ttrpc_client **ret, struct sbx_err *err);
/* Connects to a unix socket path ("unix://" prefix accepted). */
int ttrpc_client_dial_unix(const char *path, struct ttrpc_client **ret, struct sbx_err *err);
/* Closes the connection; calls still waiting return -ECONNRESET. NULL is fine. */
void ttrpc_client_free(struct ttrpc_client *c);

/* Calls service/method. On success *ret_resp is unpacked with resp_desc (free it with
 * protobuf_c_message_free_unpacked). timeout_ms <= 0 waits forever. A status error returns the
 * matching -errno with the server's message in err. */
int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
		      const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		      ProtobufCMessage **ret_resp, int timeout_ms, struct sbx_err *err);
/* One call on a connection of its own to a unix socket, closed afterwards: for a caller that
 * talks to a server once (the shim to its VMM), not often enough to keep a client. */
int ttrpc_call_unix(const char *path, const char *service, const char *method,
		    const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
		    ProtobufCMessage **ret_resp, int timeout_ms, struct sbx_err *err);
