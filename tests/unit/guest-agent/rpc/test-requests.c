/* Every Agent API handler refuses malformed requests with an error that names the problem, before
 * touching anything: bad ids, empty or broken specs, missing fields, out-of-range enums and
 * sizes, unknown containers. Handlers are called directly on an empty agent. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "guest-agent/agent.h"
#include "guest-agent/rpc/rpc.h"
#include "proto/agent.pb-c.h"
#include "tap.h"

static struct agent agent = {
    .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, .wake_fd = -1};

/* Calls h and checks it failed with errno want and a message containing text. */
#define REFUSED(h, req, resp, want, text)                                                          \
	do {                                                                                       \
		struct sbx_err err_ = {0};                                                         \
		int r_ = h(&agent, NULL, &(req).base, &(resp).base, &err_);                        \
		ASSERT_EQ(r_, -(want));                                                            \
		if (!strstr(err_.msg, text))                                                       \
			tap_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", err_.msg, text);   \
	} while (0)

TEST(create_container_checks_id_spec_and_rootfs)
{
	Sbx__Agent__V1__CreateContainerRequest in = SBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__ProcessStarted out = SBX__AGENT__V1__PROCESS_STARTED__INIT;
	Sbx__Agent__V1__RootfsSource src = SBX__AGENT__V1__ROOTFS_SOURCE__INIT;
	Sbx__Agent__V1__BlockRootfs blk = SBX__AGENT__V1__BLOCK_ROOTFS__INIT;
	static const char spec[] = "{\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"/\"}}";

	in.container_id = "../etc";
	REFUSED(agent_h_create_container, in, out, EINVAL, "container id '../etc' is not a valid");
	in.container_id = "";
	REFUSED(agent_h_create_container, in, out, EINVAL, "is not a valid id");
	in.container_id = "c1";
	REFUSED(agent_h_create_container, in, out, EINVAL, "oci_spec is empty");
	in.oci_spec.data = (uint8_t *)"{\"process\":";
	in.oci_spec.len = 11;
	REFUSED(agent_h_create_container, in, out, EINVAL, "rootfs: no source given");
	in.rootfs = &src;
	REFUSED(agent_h_create_container, in, out, EINVAL, "rootfs: no source given");
	src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_BLOCK;
	src.block = &blk;
	REFUSED(agent_h_create_container, in, out, EINVAL, "spec: line 1");
	in.oci_spec.data = (uint8_t *)"{}";
	in.oci_spec.len = 2;
	REFUSED(agent_h_create_container, in, out, EINVAL, "spec: no process");
	in.oci_spec.data = (uint8_t *)spec;
	in.oci_spec.len = sizeof(spec) - 1;
	blk.fstype = "vfat";
	REFUSED(agent_h_create_container, in, out, EINVAL, "fstype 'vfat' is not ext4 or erofs");
	blk.fstype = "ext4";
	blk.serial = "../../dev/sda";
	REFUSED(agent_h_create_container, in, out, EINVAL, "disk serial '../../dev/sda' is not");
	blk.serial = "";
	REFUSED(agent_h_create_container, in, out, EINVAL, "disk serial '' is not valid");
	/* nothing was left registered */
	ASSERT_NULL(agent.list);
	ASSERT_EQ(agent.containers, 0);
}

TEST(container_calls_name_unknown_containers_and_bad_ids)
{
	Sbx__Agent__V1__ContainerRequest in = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__Empty out = SBX__AGENT__V1__EMPTY__INIT;
	Sbx__Agent__V1__ContainerStats stats = SBX__AGENT__V1__CONTAINER_STATS__INIT;
	Sbx__Agent__V1__ProcessList pl = SBX__AGENT__V1__PROCESS_LIST__INIT;
	in.container_id = "nosuch";
	REFUSED(agent_h_start_container, in, out, ENOENT, "container 'nosuch' does not exist");
	REFUSED(agent_h_remove_container, in, out, ENOENT, "container 'nosuch' does not exist");
	REFUSED(agent_h_pause_container, in, out, ENOENT, "does not exist");
	REFUSED(agent_h_resume_container, in, out, ENOENT, "does not exist");
	REFUSED(agent_h_stats_container, in, stats, ENOENT, "does not exist");
	REFUSED(agent_h_list_processes, in, pl, ENOENT, "does not exist");
	in.container_id = "a/b";
	REFUSED(agent_h_start_container, in, out, EINVAL, "container id 'a/b' is not a valid id");
	in.container_id = ".hidden";
	REFUSED(agent_h_stats_container, in, stats, EINVAL, "is not a valid id");
}

TEST(update_checks_every_resource)
{
	Sbx__Agent__V1__UpdateContainerRequest in = SBX__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__LinuxResources lr = SBX__AGENT__V1__LINUX_RESOURCES__INIT;
	Sbx__Agent__V1__Empty out = SBX__AGENT__V1__EMPTY__INIT;
	in.container_id = "c1";
	REFUSED(agent_h_update_container, in, out, EINVAL, "resources: missing");
	in.resources = &lr;
	lr.memory_limit = -5;
	REFUSED(agent_h_update_container, in, out, EINVAL, "a limit below -1");
	lr.memory_limit = 0;
	lr.io_weight = 5000;
	REFUSED(agent_h_update_container, in, out, EINVAL, "io_weight 5000 is not 10..1000");
	lr.io_weight = 0;
	lr.cpu_shares = 1;
	REFUSED(agent_h_update_container, in, out, EINVAL, "cpu_shares 1 is not 2..262144");
	lr.cpu_shares = 0;
	lr.cpu_period = 10;
	REFUSED(agent_h_update_container, in, out, EINVAL, "cpu_period 10 is not");
	lr.cpu_period = 0;
	lr.cpuset_cpus = "0-1; echo";
	REFUSED(agent_h_update_container, in, out, EINVAL, "cpuset is not a list");
	lr.cpuset_cpus = "0-1";
	REFUSED(agent_h_update_container, in, out, ENOENT, "container 'c1' does not exist");
}

TEST(exec_checks_ids_and_process)
{
	Sbx__Agent__V1__ExecProcessRequest in = SBX__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
	Sbx__Agent__V1__ProcessStarted out = SBX__AGENT__V1__PROCESS_STARTED__INIT;
	in.container_id = "c1";
	REFUSED(agent_h_exec_process, in, out, EINVAL, "exec id '' is not a valid id");
	in.exec_id = "e/1";
	REFUSED(agent_h_exec_process, in, out, EINVAL, "exec id 'e/1' is not a valid id");
	in.exec_id = "e1";
	REFUSED(agent_h_exec_process, in, out, EINVAL, "oci_process is empty");
	in.oci_process.data = (uint8_t *)"{}";
	in.oci_process.len = 2;
	REFUSED(agent_h_exec_process, in, out, ENOENT, "container 'c1' does not exist");
}

TEST(process_calls_check_signal_size_and_reference)
{
	Sbx__Agent__V1__SignalProcessRequest sig = SBX__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
	Sbx__Agent__V1__ResizeTtyRequest rs = SBX__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	Sbx__Agent__V1__Empty out = SBX__AGENT__V1__EMPTY__INIT;
	Sbx__Agent__V1__WaitProcessResponse wr = SBX__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
	REFUSED(agent_h_signal_process, sig, out, EINVAL, "signal 0 is not 1..64");
	sig.signal = 65;
	REFUSED(agent_h_signal_process, sig, out, EINVAL, "signal 65 is not 1..64");
	sig.signal = 9;
	REFUSED(agent_h_signal_process, sig, out, EINVAL, "process: missing");
	sig.process = &ref;
	ref.container_id = "c1";
	ref.exec_id = "bad id";
	REFUSED(agent_h_signal_process, sig, out, EINVAL, "exec id 'bad id' is not a valid id");
	ref.exec_id = "";
	REFUSED(agent_h_signal_process, sig, out, ENOENT, "container 'c1' does not exist");
	REFUSED(agent_h_wait_process, ref, wr, ENOENT, "container 'c1' does not exist");
	REFUSED(agent_h_close_stdin, ref, out, ENOENT, "container 'c1' does not exist");
	REFUSED(agent_h_resize_tty, rs, out, EINVAL, "tty size 0x0 is not");
	rs.rows = 24;
	rs.cols = 70000;
	REFUSED(agent_h_resize_tty, rs, out, EINVAL, "tty size 70000x24 is not");
	rs.cols = 80;
	REFUSED(agent_h_resize_tty, rs, out, EINVAL, "process: missing");
}

TEST(create_sandbox_checks_hostname_and_dns)
{
	Sbx__Agent__V1__CreateSandboxRequest in = SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
	Sbx__Agent__V1__Empty out = SBX__AGENT__V1__EMPTY__INIT;
	char *dns[] = {"8.8.8.8\nnameserver 6.6.6.6"};
	in.hostname = "-bad";
	REFUSED(agent_h_create_sandbox, in, out, EINVAL, "hostname '-bad' is not a valid");
	in.hostname = "";
	in.n_dns = 1;
	in.dns = dns;
	REFUSED(agent_h_create_sandbox, in, out, EINVAL, "is not an IP address");
}

TEST(messages_round_trip_through_protobuf)
{
	Sbx__Agent__V1__CreateContainerRequest in = SBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__RootfsSource src = SBX__AGENT__V1__ROOTFS_SOURCE__INIT;
	Sbx__Agent__V1__StreamRootfs str = SBX__AGENT__V1__STREAM_ROOTFS__INIT;
	uint8_t buf[256];
	in.container_id = "c1";
	in.oci_spec.data = (uint8_t *)"{}";
	in.oci_spec.len = 2;
	in.stdin = true;
	in.rootfs = &src;
	src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_STREAM;
	src.stream = &str;
	str.size_limit_mib = 77;
	size_t n = sbx__agent__v1__create_container_request__pack(&in, buf);
	Sbx__Agent__V1__CreateContainerRequest *out =
	    sbx__agent__v1__create_container_request__unpack(NULL, n, buf);
	ASSERT_NOT_NULL(out);
	ASSERT_STR_EQ(out->container_id, "c1");
	ASSERT_EQ(out->oci_spec.len, 2);
	ASSERT_TRUE(out->stdin);
	ASSERT_EQ(out->rootfs->source_case, SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_STREAM);
	ASSERT_EQ(out->rootfs->stream->size_limit_mib, 77);
	sbx__agent__v1__create_container_request__free_unpacked(out, NULL);

	Sbx__Agent__V1__StreamHello h = SBX__AGENT__V1__STREAM_HELLO__INIT;
	h.container_id = "c1";
	h.exec_id = "e1";
	h.kind = SBX__AGENT__V1__STREAM_HELLO__KIND__STDERR;
	n = sbx__agent__v1__stream_hello__pack(&h, buf);
	Sbx__Agent__V1__StreamHello *h2 = sbx__agent__v1__stream_hello__unpack(NULL, n, buf);
	ASSERT_NOT_NULL(h2);
	ASSERT_STR_EQ(h2->exec_id, "e1");
	ASSERT_EQ(h2->kind, SBX__AGENT__V1__STREAM_HELLO__KIND__STDERR);
	sbx__agent__v1__stream_hello__free_unpacked(h2, NULL);
	/* truncated bytes are refused, not misread */
	ASSERT_NULL(sbx__agent__v1__stream_hello__unpack(NULL, n - 1, buf));
}
