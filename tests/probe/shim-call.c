/* shim-call SOCKET METHOD ID [ARG]: one containerd.task.v2.Task call the way containerd makes it,
 * for what ctr 1.6 cannot ask or the test must ask directly:
 *   Update ID JSON (runtime-spec LinuxResources), Checkpoint ID: prints "ok"
 *   Connect ID: prints "<shim_pid> <task_pid>"     Shutdown ID: prints "ok"
 *   Kill ID SIGNAL: prints "ok"                    Wait ID, Delete ID: prints the exit status
 * On failure prints "error: <message> (errno <name>)"; exit 0 on ok, 1 otherwise. */
#define _GNU_SOURCE
#include "base/err.h"
#include "base/parse.h"
#include "proto/shim.pb-c.h"
#include "ttrpc/client.h"

#include <stdio.h>
#include <string.h>

union request {
	Sbx__Shim__V1__UpdateTaskRequest up;
	Sbx__Shim__V1__CheckpointTaskRequest cp;
	Sbx__Shim__V1__ConnectRequest co;
	Sbx__Shim__V1__ShutdownRequest sd;
	Sbx__Shim__V1__KillRequest kill;
	Sbx__Shim__V1__WaitRequest wait;
	Sbx__Shim__V1__DeleteRequest del;
};

/* Fills req for method; returns the response descriptor, or NULL for an unknown method. */
static const ProtobufCMessageDescriptor *build(const char *method, char *id, const char *arg,
					       union request *req, Sbx__Shim__V1__Any *any)
{
	if (!strcmp(method, "Update")) {
		sbx__shim__v1__update_task_request__init(&req->up);
		any->type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
		any->value.data = (uint8_t *)(arg ? arg : "");
		any->value.len = arg ? strlen(arg) : 0;
		req->up.id = id;
		req->up.resources = any;
		return &sbx__shim__v1__empty__descriptor;
	}
	if (!strcmp(method, "Checkpoint")) {
		sbx__shim__v1__checkpoint_task_request__init(&req->cp);
		req->cp.id = id;
		req->cp.path = "/tmp/checkpoint";
		return &sbx__shim__v1__empty__descriptor;
	}
	if (!strcmp(method, "Connect")) {
		sbx__shim__v1__connect_request__init(&req->co);
		req->co.id = id;
		return &sbx__shim__v1__connect_response__descriptor;
	}
	if (!strcmp(method, "Shutdown")) {
		sbx__shim__v1__shutdown_request__init(&req->sd);
		req->sd.id = id;
		return &sbx__shim__v1__empty__descriptor;
	}
	if (!strcmp(method, "Kill")) {
		uint32_t sig = 9;
		sbx__shim__v1__kill_request__init(&req->kill);
		req->kill.id = id;
		if (arg && parse_u32(arg, 1, 64, &sig, NULL) < 0)
			return NULL;
		req->kill.signal = sig;
		return &sbx__shim__v1__empty__descriptor;
	}
	if (!strcmp(method, "Wait")) {
		sbx__shim__v1__wait_request__init(&req->wait);
		req->wait.id = id;
		return &sbx__shim__v1__wait_response__descriptor;
	}
	if (!strcmp(method, "Delete")) {
		sbx__shim__v1__delete_request__init(&req->del);
		req->del.id = id;
		return &sbx__shim__v1__delete_response__descriptor;
	}
	return NULL;
}

static void print_result(const char *method, const ProtobufCMessage *resp)
{
	if (!strcmp(method, "Connect")) {
		const Sbx__Shim__V1__ConnectResponse *r = (const void *)resp;
		printf("%u %u\n", r->shim_pid, r->task_pid);
	} else if (!strcmp(method, "Wait")) {
		printf("%u\n", ((const Sbx__Shim__V1__WaitResponse *)resp)->exit_status);
	} else if (!strcmp(method, "Delete")) {
		printf("%u\n", ((const Sbx__Shim__V1__DeleteResponse *)resp)->exit_status);
	} else {
		printf("ok\n");
	}
}

int main(int argc, char **argv)
{
	union request req;
	Sbx__Shim__V1__Any any = SBX__SHIM__V1__ANY__INIT;
	const ProtobufCMessageDescriptor *resp_desc =
	    argc < 4 ? NULL : build(argv[2], argv[3], argc > 4 ? argv[4] : NULL, &req, &any);
	if (!resp_desc) {
		fprintf(stderr, "usage: shim-call SOCKET "
				"Update|Checkpoint|Connect|Shutdown|Kill|Wait|Delete ID [ARG]\n");
		return 2;
	}
	struct sbx_err err = {0};
	struct ttrpc_client *c = NULL;
	if (ttrpc_client_dial_unix(argv[1], &c, &err) < 0) {
		printf("error: %s\n", err.msg);
		return 1;
	}
	ProtobufCMessage *resp = NULL;
	int r = ttrpc_client_call(c, "containerd.task.v2.Task", argv[2],
				  (const ProtobufCMessage *)&req, resp_desc, &resp, 60000, &err);
	if (r >= 0 && resp)
		print_result(argv[2], resp);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	ttrpc_client_free(c);
	if (r < 0) {
		printf("error: %s (%s)\n", err.msg, strerrorname_np(-r));
		return 1;
	}
	return 0;
}
