/* A foreground `sbx run`: one VM, one container; stdin, stdout and stderr relayed over the
 * agent's port-1025 streams; SIGINT and SIGTERM passed to the container; the container's exit
 * status returned; the VM and its state directory gone afterwards. */
#define _GNU_SOURCE
#include "cli/run.h"

#include "agent/client.h"
#include "base/err.h"
#include "base/io.h"
#include "proto/agent.pb-c.h"
#include "sandbox/sandbox.h"
#include "ttrpc/client.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIND(k) SBX__AGENT__V1__STREAM_HELLO__KIND__##k
#define CALL_TIMEOUT_MS 120000

int run_find_assets(struct run_assets *a, struct sbx_err *err)
{
	const char *env[3] = {getenv("SBX_VMM"), getenv("SBX_KERNEL"), getenv("SBX_INITRD")};
	char *out[3] = {a->vmm, a->kernel, a->initrd};
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	static const char *const local[3] = {"/sbx-vmm", "/../guest/vmlinux",
					     "/../guest/initrd.img"};
	static const char *const shared[3] = {"/usr/local/bin/sbx-vmm",
					      "/usr/local/share/kata-lite/vmlinux",
					      "/usr/local/share/kata-lite/initrd.img"};
	static const char *const what[3] = {"sbx-vmm (SBX_VMM)", "guest kernel (SBX_KERNEL)",
					    "guest initrd (SBX_INITRD)"};
	for (int i = 0; i < 3; i++) {
		if (env[i] && *env[i]) {
			snprintf(out[i], sizeof(a->vmm), "%s", env[i]);
		} else {
			snprintf(out[i], sizeof(a->vmm), "%s%s", self, local[i]);
			if (access(out[i], R_OK) != 0)
				snprintf(out[i], sizeof(a->vmm), "%s", shared[i]);
		}
		if (access(out[i], R_OK) != 0)
			return sbx_failx(err, ENOENT, "no %s at %s", what[i], out[i]);
	}
	return 0;
}

struct relay {
	int from, to;
	bool to_socket; /* stdin: shut the socket's write side at EOF */
};

static void *relay_thread(void *arg)
{
	struct relay *r = arg;
	sbx_copy_until_eof(r->from, r->to);
	if (r->to_socket)
		shutdown(r->to, SHUT_WR);
	return NULL;
}

struct signal_forwarder {
	pthread_mutex_t lock; /* cl is NULL once the sandbox is going away */
	struct ttrpc_client *cl;
	const char *id;
	sigset_t set;
};

/* SIGINT/SIGTERM/SIGHUP/SIGQUIT go to the container's init, as docker run does. */
static void *forward_signals(void *arg)
{
	struct signal_forwarder *f = arg;
	for (;;) {
		int sig;
		if (sigwait(&f->set, &sig) != 0)
			continue;
		Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
		Sbx__Agent__V1__SignalProcessRequest r =
		    SBX__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
		ref.container_id = (char *)f->id;
		r.process = &ref;
		r.signal = (uint32_t)sig;
		ProtobufCMessage *resp = NULL;
		struct sbx_err err = {0};
		pthread_mutex_lock(&f->lock);
		if (f->cl &&
		    agent_call(f->cl, "SignalProcess", &r.base, &sbx__agent__v1__empty__descriptor,
			       &resp, 10000, &err) == 0)
			protobuf_c_message_free_unpacked(resp, NULL);
		pthread_mutex_unlock(&f->lock);
	}
	return NULL;
}

static int call(struct ttrpc_client *cl, const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp, int timeout_ms,
		struct sbx_err *err)
{
	ProtobufCMessage *dummy = NULL;
	int r = agent_call(cl, method, req, desc ? desc : &sbx__agent__v1__empty__descriptor,
			   resp ? resp : &dummy, timeout_ms, err);
	if (dummy)
		protobuf_c_message_free_unpacked(dummy, NULL);
	return r;
}

static void random_id(char out[13])
{
	unsigned char b[6] = {0};
	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		pid_t pid = getpid();
		memcpy(b, &pid, sizeof(pid));
	}
	for (int i = 0; i < 6; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Runs the container in the started sandbox; returns its exit status. */
static int run_container(const struct run_opts *o, struct sandbox *sb, struct ttrpc_client *cl,
			 const char *id, const char *spec_json, struct sbx_err *err)
{
	Sbx__Agent__V1__CreateSandboxRequest sreq = SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
	sreq.hostname = (char *)o->hostname;
	sreq.sandbox_id = (char *)id;
	if (call(cl, "CreateSandbox", &sreq.base, NULL, NULL, CALL_TIMEOUT_MS, err) < 0)
		return -err->code;
	Sbx__Agent__V1__CreateContainerRequest req = SBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__RootfsSource src = SBX__AGENT__V1__ROOTFS_SOURCE__INIT;
	Sbx__Agent__V1__BlockRootfs blk = SBX__AGENT__V1__BLOCK_ROOTFS__INIT;
	req.container_id = (char *)id;
	req.oci_spec.data = (uint8_t *)spec_json;
	req.oci_spec.len = strlen(spec_json);
	req.rootfs = &src;
	req.stdin = o->interactive;
	src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_BLOCK;
	src.block = &blk;
	blk.serial = "rootfs";
	blk.fstype = "ext4";
	if (call(cl, "CreateContainer", &req.base, &sbx__agent__v1__process_started__descriptor,
		 NULL, CALL_TIMEOUT_MS, err) < 0)
		return -err->code;
	int streams[3] = {-1, -1, -1};
	pthread_t threads[3];
	bool started[3] = {false};
	struct relay relays[3];
	int kinds[3] = {KIND(STDIN), KIND(STDOUT), KIND(STDERR)};
	for (int i = 0; i < 3; i++) {
		if ((i == 0 && !o->interactive) || (i == 2 && o->tty))
			continue;
		streams[i] = agent_stream_open(sb, id, "", kinds[i], err);
		if (streams[i] < 0)
			goto fail;
		relays[i] = i == 0 ? (struct relay){0, streams[0], true}
				   : (struct relay){streams[i], i, false};
	}
	Sbx__Agent__V1__ContainerRequest cr = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	cr.container_id = (char *)id;
	if (call(cl, "StartContainer", &cr.base, NULL, NULL, CALL_TIMEOUT_MS, err) < 0)
		goto fail;
	for (int i = 0; i < 3; i++)
		if (streams[i] >= 0)
			started[i] =
			    pthread_create(&threads[i], NULL, relay_thread, &relays[i]) == 0;
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	ref.container_id = (char *)id;
	ProtobufCMessage *resp = NULL;
	if (call(cl, "WaitProcess", &ref.base, &sbx__agent__v1__wait_process_response__descriptor,
		 &resp, 0, err) < 0)
		goto fail;
	int status = ((Sbx__Agent__V1__WaitProcessResponse *)resp)->exit_status;
	protobuf_c_message_free_unpacked(resp, NULL);
	/* output still in flight ends with the container's last writer */
	for (int i = 1; i < 3; i++)
		if (started[i])
			pthread_join(threads[i], NULL);
	if (started[0])
		pthread_cancel(threads[0]), pthread_join(threads[0], NULL);
	for (int i = 0; i < 3; i++)
		if (streams[i] >= 0)
			close(streams[i]);
	return status;
fail:
	for (int i = 0; i < 3; i++) {
		if (streams[i] >= 0)
			shutdown(streams[i], SHUT_RDWR);
		if (started[i])
			pthread_join(threads[i], NULL);
		if (streams[i] >= 0)
			close(streams[i]);
	}
	return -err->code;
}

int run_sandbox(const struct run_opts *o, const char *root, const struct run_assets *assets,
		const char *spec_json, const char *rootfs, struct sbx_err *err)
{
	char id[13], dir[4200], runs[4150];
	random_id(id);
	snprintf(runs, sizeof(runs), "%s/sandboxes", root);
	if (mkdir(runs, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "create %s", runs);
	snprintf(dir, sizeof(dir), "%s/%s", runs, id);
	struct sandbox_disk disk = {.path = rootfs, .read_only = true, .serial = "rootfs"};
	unsigned mem = 256;
	if (o->memory_bytes > 0 && (uint64_t)o->memory_bytes / (1 << 20) + 128 > mem)
		mem = (unsigned)((uint64_t)o->memory_bytes / (1 << 20) + 128);
	unsigned cpus = o->cpus_milli > 1000 ? (unsigned)((o->cpus_milli + 999) / 1000) : 1;
	struct sandbox_config cfg = {.vmm = assets->vmm,
				     .kernel = assets->kernel,
				     .initrd = assets->initrd,
				     .state_dir = dir,
				     .cmdline = "quiet",
				     .cpus = cpus,
				     .mem_mib = mem,
				     .disks = &disk,
				     .n_disks = 1,
				     .boot_timeout_ms = 120000};
	/* signals are taken by the forwarder thread from now on, never by default actions */
	static struct signal_forwarder fwd = {.lock = PTHREAD_MUTEX_INITIALIZER};
	fwd.id = id;
	sigemptyset(&fwd.set);
	sigaddset(&fwd.set, SIGINT);
	sigaddset(&fwd.set, SIGTERM);
	sigaddset(&fwd.set, SIGHUP);
	sigaddset(&fwd.set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &fwd.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sandbox *sb = NULL;
	if (sandbox_start(&cfg, &sb, err) < 0)
		return -err->code;
	struct ttrpc_client *cl = NULL;
	int r = agent_client_connect(sb, &cl, err);
	if (r == 0) {
		pthread_mutex_lock(&fwd.lock);
		fwd.cl = cl;
		pthread_mutex_unlock(&fwd.lock);
		pthread_t t;
		if (pthread_create(&t, NULL, forward_signals, &fwd) == 0)
			pthread_detach(t);
		r = run_container(o, sb, cl, id, spec_json, err);
		Sbx__Agent__V1__DestroySandboxRequest d =
		    SBX__AGENT__V1__DESTROY_SANDBOX_REQUEST__INIT;
		struct sbx_err ignored = {0};
		call(cl, "DestroySandbox", &d.base, NULL, NULL, 10000, &ignored);
		pthread_mutex_lock(&fwd.lock);
		fwd.cl = NULL;
		pthread_mutex_unlock(&fwd.lock);
		ttrpc_client_free(cl);
		sandbox_wait(sb, 10000);
	}
	sandbox_free(sb);
	return r;
}
