/* One sandbox's owner: boot, create, start, relay, wait, record, tear down. With SBX_TIMING set
 * it prints the phases on stderr (the benchmark's split). */
#define _GNU_SOURCE
#include "cli/monitor.h"

#include "agent/client.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/io.h"
#include "cli/attach.h"
#include "cli/logfile.h"
#include "proto/agent.pb-c.h"
#include "proto/vmm.pb-c.h"
#include "sandbox/sandbox.h"
#include "ttrpc/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 120000

static int create_container(const struct monitor_args *m, struct sandbox *sb,
			    struct ttrpc_client *cl, struct sbx_err *err)
{
	const struct run_opts *o = m->opts;
	Sbx__Agent__V1__CreateSandboxRequest sreq = SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
	sreq.hostname = (char *)o->hostname;
	sreq.sandbox_id = m->rec->id;
	if (agent_call(cl, "CreateSandbox", &sreq.base, NULL, NULL, CALL_TIMEOUT_MS, err) < 0)
		return -err->code;
	Sbx__Agent__V1__CreateContainerRequest req = SBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__RootfsSource src = SBX__AGENT__V1__ROOTFS_SOURCE__INIT;
	Sbx__Agent__V1__BlockRootfs blk = SBX__AGENT__V1__BLOCK_ROOTFS__INIT;
	Sbx__Agent__V1__StreamRootfs str = SBX__AGENT__V1__STREAM_ROOTFS__INIT;
	req.container_id = m->rec->id;
	req.oci_spec.data = (uint8_t *)m->spec_json;
	req.oci_spec.len = strlen(m->spec_json);
	req.rootfs = &src;
	req.stdin = o->interactive;
	bool stream = o->transfer && !strcmp(o->transfer, "stream");
	struct agent_rootfs_sender *sender = NULL;
	if (stream) {
		src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_STREAM;
		src.stream = &str;
		if (agent_rootfs_send_start(sb, m->rec->id, m->rootfs, &sender, err) < 0)
			return -err->code;
	} else {
		src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_BLOCK;
		src.block = &blk;
		blk.serial = "rootfs";
		blk.fstype = "ext4";
	}
	int r =
	    agent_call(cl, "CreateContainer", &req.base,
		       &sbx__agent__v1__process_started__descriptor, NULL, CALL_TIMEOUT_MS, err);
	if (sender) {
		struct sbx_err send_err = {0};
		int sent = agent_rootfs_send_finish(sender, &send_err);
		if (r == 0 && sent < 0) {
			*err = send_err;
			r = sent;
		}
	}
	return r;
}

struct phases {
	uint64_t spawn, ready, started, exited, teardown_start, teardown_end;
	uint64_t first_run, agent_start; /* host monotonic, from the VMM and the agent */
};

/* Where the VMM's first KVM_RUN and the agent's start fall on this host's clock. */
static void query_phases(struct sandbox *sb, struct ttrpc_client *cl, struct phases *p)
{
	struct ttrpc_client *vmm = NULL;
	ProtobufCMessage *resp = NULL;
	Sbx__Vmm__V1__Empty e = SBX__VMM__V1__EMPTY__INIT;
	if (ttrpc_client_dial_unix(sb->api, &vmm, NULL) == 0) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		if (ttrpc_client_call(vmm, "sbx.vmm.v1.Vmm", "BootTimes", &e.base,
				      &sbx__vmm__v1__boot_times_response__descriptor, &resp, 10000,
				      NULL) == 0) {
			Sbx__Vmm__V1__BootTimesResponse *b = (void *)resp;
			p->first_run = now - b->start_to_now_ns + b->start_to_first_run_ns;
			protobuf_c_message_free_unpacked(resp, NULL);
		}
		ttrpc_client_free(vmm);
	}
	Sbx__Agent__V1__Empty ae = SBX__AGENT__V1__EMPTY__INIT;
	uint64_t before = clock_ns(CLOCK_MONOTONIC);
	if (agent_call(cl, "Health", &ae.base, &sbx__agent__v1__health_response__descriptor, &resp,
		       10000, NULL) == 0) {
		uint64_t now = (before + clock_ns(CLOCK_MONOTONIC)) / 2;
		p->agent_start =
		    now - ((Sbx__Agent__V1__HealthResponse *)resp)->uptime_ms * 1000000;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
}

static void print_phases(const struct phases *p)
{
	double ms = 1e6;
	uint64_t first = p->first_run ? p->first_run : p->spawn;
	uint64_t agent = p->agent_start ? p->agent_start : first;
	fprintf(stderr,
		"sbx-timing vmm_spawn_ms=%.1f kernel_boot_ms=%.1f agent_ready_ms=%.1f "
		"container_start_ms=%.1f container_exit_ms=%.1f teardown_ms=%.1f total_ms=%.1f\n",
		(double)(first - p->spawn) / ms, (double)(agent - first) / ms,
		(double)(p->ready - agent) / ms, (double)(p->started - p->ready) / ms,
		(double)(p->exited - p->started) / ms,
		(double)(p->teardown_end - p->teardown_start) / ms,
		(double)(p->teardown_end - p->spawn) / ms);
}

static void tell_ready(int *fd, const char *line)
{
	if (*fd < 0)
		return;
	dprintf(*fd, "%s\n", line);
	close(*fd);
	*fd = -1;
}

int monitor_run(const struct monitor_args *m, struct sbx_err *err)
{
	const struct run_opts *o = m->opts;
	struct record *rec = m->rec;
	int ready_fd = m->ready_fd;
	bool timing = getenv("SBX_TIMING") != NULL;
	struct phases ph = {0};
	int lock = record_lock_monitor(rec, err);
	if (lock < 0)
		goto fail_early;
	json_object_set_new(json_object_get(rec->json, "State"), "Pid", json_integer(getpid()));
	if (record_save(rec, err) < 0)
		goto fail_early;

	char vmdir[4300], log[4300];
	record_path(rec, "vm", vmdir, sizeof(vmdir));
	record_path(rec, "container.log", log, sizeof(log));
	bool stream = o->transfer && !strcmp(o->transfer, "stream");
	struct sandbox_disk disk = {.path = m->rootfs, .read_only = true, .serial = "rootfs"};
	unsigned mem = 256;
	if (o->memory_bytes > 0 && (uint64_t)o->memory_bytes / (1 << 20) + 128 > mem)
		mem = (unsigned)((uint64_t)o->memory_bytes / (1 << 20) + 128);
	if (stream) /* the rootfs lives in guest RAM */
		mem += 256;
	unsigned cpus = o->cpus_milli > 1000 ? (unsigned)((o->cpus_milli + 999) / 1000) : 1;
	struct sandbox_config cfg = {.vmm = m->assets->vmm,
				     .kernel = m->assets->kernel,
				     .initrd = m->assets->initrd,
				     .state_dir = vmdir,
				     .cmdline = "quiet",
				     .cpus = cpus,
				     .mem_mib = mem,
				     .disks = stream ? NULL : &disk,
				     .n_disks = stream ? 0 : 1,
				     .boot_timeout_ms = 120000};
	char mac[18], net_spec[2048];
	const char *net_args[] = {"--net", net_spec, NULL};
	run_net_mac(rec->id, mac, sizeof(mac));
	if (run_net_vmm_spec(&o->net, mac, net_spec, sizeof(net_spec)))
		cfg.extra_args = net_args;
	struct log_sink sink = {.fd = -1};
	if (log_sink_open(&sink, log, err) < 0)
		goto fail_early;
	struct sandbox *sb = NULL;
	if (sandbox_start(&cfg, &sb, err) < 0) {
		log_sink_close(&sink);
		goto fail_early;
	}
	ph.spawn = sb->spawn_ns;
	ph.ready = sb->ready_ns;
	json_object_set_new(json_object_get(rec->json, "State"), "VmmPid",
			    json_integer(sb->vmm_pid));
	struct ttrpc_client *cl = NULL;
	struct attach at = {.sb = sb,
			    .container_id = rec->id,
			    .exec_id = "",
			    .tty = o->tty,
			    .stdin_relay = o->interactive && m->foreground,
			    .stdin_hold = o->interactive && !m->foreground,
			    .to_terminal = m->foreground,
			    .forward_signals = m->foreground,
			    .log = &sink};
	int status = -1;
	bool running = false;
	if (agent_client_connect(sb, &cl, err) < 0)
		goto teardown;
	at.cl = cl;
	if (run_net_configure(&o->net, mac, cl, err) < 0 || create_container(m, sb, cl, err) < 0 ||
	    attach_open(&at, err) < 0)
		goto teardown;
	attach_resize(&at);
	Sbx__Agent__V1__ContainerRequest cr = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	cr.container_id = rec->id;
	if (agent_call(cl, "StartContainer", &cr.base, NULL, NULL, CALL_TIMEOUT_MS, err) < 0)
		goto teardown;
	ph.started = clock_ns(CLOCK_MONOTONIC);
	running = true;
	if (record_set_state(rec, "running", 0, NULL, err) < 0)
		goto teardown;
	tell_ready(&ready_fd, "ok");
	attach_start(&at);
	status = attach_wait(&at, err);
	if (status < 0) { /* the agent's answer was lost: say what became of the VM */
		char what[400], call[SBX_ERR_MAX];
		snprintf(call, sizeof(call), "%s", err->msg);
		sandbox_describe_vm(sb, 2000, what, sizeof(what));
		sbx_failx(err, err->code, "%s (%s)", call, what);
	}
	ph.exited = clock_ns(CLOCK_MONOTONIC);
	if (timing && status >= 0)
		query_phases(sb, cl, &ph);
teardown:
	ph.teardown_start = clock_ns(CLOCK_MONOTONIC);
	attach_close(&at);
	if (cl) {
		Sbx__Agent__V1__DestroySandboxRequest d =
		    SBX__AGENT__V1__DESTROY_SANDBOX_REQUEST__INIT;
		struct sbx_err ignored = {0};
		agent_call(cl, "DestroySandbox", &d.base, NULL, NULL, 10000, &ignored);
		ttrpc_client_free(cl);
	}
	sandbox_wait(sb, 10000);
	sandbox_free(sb);
	log_sink_close(&sink);
	ph.teardown_end = clock_ns(CLOCK_MONOTONIC);
	if (!running) {
		record_remove(m->root, rec, NULL);
		tell_ready(&ready_fd, err->msg);
		close(lock);
		return -err->code;
	}
	if (status < 0) /* the VM went away under the container */
		record_set_state(rec, "exited", 255, err->msg, NULL);
	else
		record_set_state(rec, "exited", status, NULL, NULL);
	if (o->rm)
		record_remove(m->root, rec, NULL);
	close(lock);
	if (timing && status >= 0)
		print_phases(&ph);
	return status < 0 ? -err->code : status;

fail_early:
	record_remove(m->root, rec, NULL);
	tell_ready(&ready_fd, err->msg);
	if (lock >= 0)
		close(lock);
	return -err->code;
}
