/* agent-driver VMM KERNEL INITRD STATE_DIR: boots the real guest initrd (sbx-agent as PID 1)
 * through lib/sandbox and drives the Agent API through lib/agent, printing one line per step
 * for tests/vm/test_agent_api.sh. */
#include "agent/client.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"
#include "sandbox/sandbox.h"
#include "ttrpc/client.h"

#include <stdio.h>
#include <string.h>

static struct ttrpc_client *cl;

static int call(const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
	struct sbx_err err = {0};
	ProtobufCMessage *dummy = NULL;
	int r = agent_call(cl, method, req, desc, resp ? resp : &dummy, 30000, &err);
	if (r < 0)
		printf("%s: error: %s\n", method, err.msg);
	if (dummy)
		protobuf_c_message_free_unpacked(dummy, NULL);
	return r;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5) {
		fprintf(stderr, "usage: agent-driver VMM KERNEL INITRD STATE_DIR\n");
		return 2;
	}
	struct sandbox_config cfg = {.vmm = argv[1],
				     .kernel = argv[2],
				     .initrd = argv[3],
				     .state_dir = argv[4],
				     .cmdline = "quiet",
				     .cpus = 1,
				     .mem_mib = 128,
				     .boot_timeout_ms = 120000};
	struct sbx_err err = {0};
	struct sandbox *sb = NULL;
	if (sandbox_start(&cfg, &sb, &err) < 0) {
		fprintf(stderr, "agent-driver: %s\n", err.msg);
		return 1;
	}
	printf("ready version=%s ms=%llu\n", sb->agent_version,
	       (unsigned long long)((sb->ready_ns - sb->spawn_ns) / 1000000));
	if (agent_client_connect(sb, &cl, &err) < 0) {
		fprintf(stderr, "agent-driver: %s\n", err.msg);
		sandbox_free(sb);
		return 1;
	}
	Sbx__Agent__V1__Empty empty = SBX__AGENT__V1__EMPTY__INIT;
	ProtobufCMessage *resp = NULL;
	if (call("Version", &empty.base, &sbx__agent__v1__version_response__descriptor, &resp) ==
	    0) {
		Sbx__Agent__V1__VersionResponse *v = (void *)resp;
		printf("version agent=%s kernel=%s\n", v->agent_version, v->kernel_release);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	if (call("Health", &empty.base, &sbx__agent__v1__health_response__descriptor, &resp) == 0) {
		Sbx__Agent__V1__HealthResponse *h = (void *)resp;
		printf("health uptime_ms=%llu containers=%u mem_available_kib=%llu\n",
		       (unsigned long long)h->uptime_ms, h->containers,
		       (unsigned long long)h->mem_available_kib);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	Sbx__Agent__V1__CreateSandboxRequest bad = SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
	bad.hostname = "bad host;name";
	call("CreateSandbox", &bad.base, &sbx__agent__v1__empty__descriptor, NULL);
	char *dns_bad[] = {"1.2.3.4; rm -rf /"};
	Sbx__Agent__V1__CreateSandboxRequest bad_dns = SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
	bad_dns.n_dns = 1;
	bad_dns.dns = dns_bad;
	call("CreateSandbox", &bad_dns.base, &sbx__agent__v1__empty__descriptor, NULL);
	Sbx__Agent__V1__CreateSandboxRequest good = SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
	char *dns[] = {"10.0.2.3", "fd00::3"};
	good.hostname = "pod-one";
	good.n_dns = 2;
	good.dns = dns;
	if (call("CreateSandbox", &good.base, &sbx__agent__v1__empty__descriptor, NULL) == 0)
		printf("create-sandbox ok\n");
	Sbx__Agent__V1__ContainerRequest cr = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	cr.container_id = "c1";
	call("PauseContainer", &cr.base, &sbx__agent__v1__empty__descriptor, NULL);
	Sbx__Agent__V1__DestroySandboxRequest d = SBX__AGENT__V1__DESTROY_SANDBOX_REQUEST__INIT;
	if (call("DestroySandbox", &d.base, &sbx__agent__v1__empty__descriptor, NULL) == 0)
		printf("destroy-sandbox ok\n");
	int w = sandbox_wait(sb, 60000);
	printf("vmm exit=%d%s\n", sb->exit_status, w < 0 ? " (still running)" : "");
	FILE *con = fopen(sb->console, "r");
	char line[512];
	while (con && fgets(line, sizeof(line), con))
		printf("console: %s", line);
	if (con)
		fclose(con);
	ttrpc_client_free(cl);
	sandbox_free(sb);
	return 0;
}
