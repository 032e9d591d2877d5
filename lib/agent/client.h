/* The host side of the Agent API (proto/agent.proto): a ttrpc client over the sandbox's vsock
 * port 1024, used by sbx and the shim. */
#pragma once

#include <protobuf-c/protobuf-c.h>

struct sandbox;
struct sbx_err;
struct ttrpc_client;

#define AGENT_SERVICE "sbx.agent.v1.Agent"

/* Connects to the agent of a started sandbox (its READY already seen). */
int agent_client_connect(struct sandbox *sb, struct ttrpc_client **ret, struct sbx_err *err);

/* Calls Agent/method; see ttrpc_client_call. resp_desc NULL means the method answers Empty, and
 * ret_resp NULL that the caller does not want the answer (it is freed here). After
 * DestroySandbox answers, free the client: the agent powers the VM off as soon as the host has
 * closed its connection (else after 1 s). */
int agent_call(struct ttrpc_client *c, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret_resp,
	       int timeout_ms, struct sbx_err *err);

/* Opens the stream kind (STREAM_HELLO__KIND: stdin, stdout, stderr, rootfs) of a container's
 * process (exec_id NULL or "": its init) on port 1025. Returns the connected fd. */
int agent_stream_open(struct sandbox *sb, const char *container_id, const char *exec_id, int kind,
		      struct sbx_err *err);
