#include "agent/client.h"

#include "base/err.h"
#include "base/vsock-ports.h"
#include "proto/agent.pb-c.h"
#include "sandbox/sandbox.h"
#include "ttrpc/client.h"

int agent_client_connect(struct sandbox *sb, struct ttrpc_client **ret, struct sbx_err *err)
{
	int fd = sandbox_connect(sb, SBX_PORT_AGENT_RPC, 10000, err);
	if (fd < 0)
		return fd;
	return ttrpc_client_new(fd, ret, err); /* owns fd, even on failure */
}

int agent_call(struct ttrpc_client *c, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret_resp,
	       int timeout_ms, struct sbx_err *err)
{
	ProtobufCMessage *unwanted = NULL;
	int r = ttrpc_client_call(c, AGENT_SERVICE, method, req,
				  resp_desc ? resp_desc : &sbx__agent__v1__empty__descriptor,
				  ret_resp ? ret_resp : &unwanted, timeout_ms, err);
	if (unwanted)
		protobuf_c_message_free_unpacked(unwanted, NULL);
	return r;
}
