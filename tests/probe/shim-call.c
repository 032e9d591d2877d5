/* shim-call SOCKET METHOD ID [JSON]: one containerd.task.v2.Task call the way containerd makes
 * it, for what ctr 1.6 cannot ask: Update (JSON = runtime-spec LinuxResources) and Checkpoint.
 * Prints "ok" or "error: <message> (errno <name>)"; exit 0 on ok, 1 otherwise. */
#define _GNU_SOURCE
#include "base/err.h"
#include "proto/shim.pb-c.h"
#include "ttrpc/client.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: shim-call SOCKET Update|Checkpoint ID [JSON]\n");
		return 2;
	}
	struct sbx_err err = {0};
	struct ttrpc_client *c = NULL;
	if (ttrpc_client_dial_unix(argv[1], &c, &err) < 0) {
		printf("error: %s\n", err.msg);
		return 1;
	}
	Sbx__Shim__V1__Any any = SBX__SHIM__V1__ANY__INIT;
	Sbx__Shim__V1__UpdateTaskRequest up = SBX__SHIM__V1__UPDATE_TASK_REQUEST__INIT;
	Sbx__Shim__V1__CheckpointTaskRequest cp = SBX__SHIM__V1__CHECKPOINT_TASK_REQUEST__INIT;
	const ProtobufCMessage *req;
	if (!strcmp(argv[2], "Update")) {
		any.type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
		any.value.data = (uint8_t *)(argc > 4 ? argv[4] : "");
		any.value.len = argc > 4 ? strlen(argv[4]) : 0;
		up.id = argv[3];
		up.resources = &any;
		req = &up.base;
	} else {
		cp.id = argv[3];
		cp.path = "/tmp/checkpoint";
		req = &cp.base;
	}
	ProtobufCMessage *resp = NULL;
	int r = ttrpc_client_call(c, "containerd.task.v2.Task", argv[2], req,
				  &sbx__shim__v1__empty__descriptor, &resp, 60000, &err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	ttrpc_client_free(c);
	if (r < 0) {
		printf("error: %s (%s)\n", err.msg, strerrorname_np(-r));
		return 1;
	}
	printf("ok\n");
	return 0;
}
