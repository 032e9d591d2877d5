/* The pod's VM. It is started and stopped by one thread that lives exactly as long as the VM:
 * the VMM's PR_SET_PDEATHSIG is tied to the thread that forked it, and a VMM that dies on its
 * own (killed, guest panic) is seen here through its pidfd and turns every live process of the
 * pod into an exit, so no Wait hangs. The pod network (net.c) lives as long as the VM too, and
 * with debug_console this thread copies the guest console into the shim's log (console.c). */
#define _GNU_SOURCE
#include "shim/shim.h"

#include "agent/client.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/agent.pb-c.h"
#include "proto/shim.pb-c.h"
#include "proto/vmm.pb-c.h"
#include "sandbox/sandbox.h"
#include "shim/bootstrap.h"
#include "shim/console.h"
#include "shim/events.h"
#include "shim/net.h"
#include "ttrpc/client.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BOOT_TIMEOUT_MS 120000
#define CALL_TIMEOUT_MS 60000
#define SPARE_DISKS 8 /* container rootfs images inserted while the pod lives */
#define EXIT_VM_GONE 255

struct shim the_shim = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static int stop_efd = -1;
static unsigned boot_mem_mib;

/* Publishes TaskOOM for every OOM the agent reports, until the VM goes. */
static void *oom_thread(void *arg)
{
	struct shim *s = arg;
	struct ttrpc_client *cl = s->agent;
	log_set_thread("oom");
	for (;;) {
		Sbx__Agent__V1__Empty e = SBX__AGENT__V1__EMPTY__INIT;
		ProtobufCMessage *resp = NULL;
		if (agent_call(cl, "GetOOMEvent", &e.base, &sbx__agent__v1__oomevent__descriptor,
			       &resp, 0, NULL) < 0)
			return NULL;
		Sbx__Shim__V1__TaskOOM ev = SBX__SHIM__V1__TASK_OOM__INIT;
		ev.container_id = ((Sbx__Agent__V1__OOMEvent *)resp)->container_id;
		shim_events_publish(s->events, "/tasks/oom", "TaskOOM", &ev.base);
		protobuf_c_message_free_unpacked(resp, NULL);
	}
}

static int boot(struct shim *s, struct shim_net *net, struct sandbox **sb, struct ttrpc_client **cl,
		struct sbx_err *err)
{
	char vmdir[300];
	snprintf(vmdir, sizeof(vmdir), "%s/vm", s->state_dir);
	struct sandbox_config cfg = {.vmm = s->cfg.vmm,
				     .kernel = s->cfg.kernel,
				     .initrd = s->cfg.initrd,
				     .state_dir = vmdir,
				     .cmdline = s->cfg.debug_console ? "" : "quiet",
				     .cpus = s->cfg.vcpus,
				     .mem_mib = boot_mem_mib,
				     .spare_disks = SPARE_DISKS,
				     .boot_timeout_ms = BOOT_TIMEOUT_MS};
	if (net)
		cfg.extra_args = shim_net_vmm_args(net);
	if (sandbox_start(&cfg, sb, err) < 0)
		return -err->code;
	if (agent_client_connect(*sb, cl, err) < 0)
		return -err->code;
	if (net && shim_net_attach(net, *cl, err) < 0)
		return sbx_wrap(err, "pod network");
	Sbx__Agent__V1__CreateSandboxRequest req = SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
	req.sandbox_id = s->group;
	req.hostname = s->group;
	return agent_call(*cl, "CreateSandbox", &req.base, NULL, NULL, CALL_TIMEOUT_MS, err);
}

/* The VM is gone, and its taps with it: the network it had is not the next boot's. */
static void forget_net_locked(struct shim *s, struct shim_net *net)
{
	if (s->net == net)
		s->net = NULL;
}

/* Out of the lock: the redirects go, and a tap the VMM left. */
static void drop_net(struct shim_net *net)
{
	shim_net_detach(net);
	shim_net_free(net);
}

/* Every process that has not exited yet exits now: the VM under it is gone. */
static void fail_all_locked(struct shim *s)
{
	for (struct shim_container *c = s->containers; c; c = c->next) {
		if (!c->init.exited && !c->pod_sandbox)
			shim_process_exited_locked(s, &c->init, EXIT_VM_GONE);
		for (struct shim_process *p = c->execs; p; p = p->next)
			if (!p->exited)
				shim_process_exited_locked(s, p, EXIT_VM_GONE);
	}
}

/* Until the VMM exits (false) or shim_vm_stop asks (true), copying the console meanwhile. */
static bool wait_vm_end(struct sandbox *sb, struct shim_console *con)
{
	struct pollfd p[3] = {{.fd = sb->pidfd, .events = POLLIN},
			      {.fd = stop_efd, .events = POLLIN},
			      {.fd = shim_console_fd(con), .events = POLLIN}};
	for (;;) {
		p[0].revents = p[1].revents = p[2].revents = 0;
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN)
			shim_console_drain(con, false);
		if ((p[0].revents | p[1].revents) & POLLIN)
			break;
	}
	return p[1].revents & POLLIN;
}

static void *vm_thread(void *arg)
{
	struct shim *s = arg;
	log_set_thread("vm");
	struct sandbox *sb = NULL;
	struct ttrpc_client *cl = NULL;
	struct sbx_err err = {0};
	pthread_mutex_lock(&s->lock);
	struct shim_net *net = s->net;
	pthread_mutex_unlock(&s->lock);
	int r = boot(s, net, &sb, &cl, &err);
	pthread_mutex_lock(&s->lock);
	if (r < 0) {
		char tail[256] = "";
		if (sb)
			sandbox_console_tail(sb, tail, sizeof(tail));
		snprintf(s->vm_error, sizeof(s->vm_error), "boot the pod's VM: %.400s", err.msg);
		log_error("%s; console: %s", s->vm_error, tail);
		s->vm = VM_NONE;
		forget_net_locked(s, net);
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		ttrpc_client_free(cl);
		sandbox_free(sb);
		/* Create answers after the join, so nothing of the failed boot is left by then */
		drop_net(net);
		return NULL;
	}
	s->sb = sb;
	s->agent = cl;
	s->vmm_pid = sb->vmm_pid;
	s->next_slot = 0;
	s->n_slots = SPARE_DISKS;
	s->vm = VM_UP;
	shim_write_pid_file(s->state_dir, "vmm.pid", sb->vmm_pid);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	log_info("VM up: vmm pid %d, agent %s", (int)sb->vmm_pid, sb->agent_version);
	pthread_t oom;
	if (pthread_create(&oom, NULL, oom_thread, s) == 0)
		pthread_detach(oom);

	struct shim_console *con = NULL;
	if (s->cfg.debug_console && shim_console_open(sb->console, &con, &err) < 0)
		log_warn("debug_console: %s", err.msg);
	shim_console_drain(con, false); /* the boot's lines, written before the watch began */
	bool stopping = wait_vm_end(sb, con);
	if (stopping) {
		Sbx__Agent__V1__DestroySandboxRequest d =
		    SBX__AGENT__V1__DESTROY_SANDBOX_REQUEST__INIT;
		d.timeout_ms = 2000;
		agent_call(cl, "DestroySandbox", &d.base, NULL, NULL, 10000, NULL);
	}
	sandbox_wait(sb, stopping ? 10000 : -1);
	shim_console_drain(con, true);
	shim_console_free(con);
	pthread_mutex_lock(&s->lock);
	if (!stopping) {
		char console[256], vmm[256];
		sandbox_console_tail(sb, console, sizeof(console));
		sandbox_vmm_log_tail(sb, vmm, sizeof(vmm));
		log_warn("the pod's VM exited (status %d); console: %s; vmm: %s", sb->exit_status,
			 console, vmm);
		snprintf(s->vm_error, sizeof(s->vm_error), "the pod's VM exited (status %d)",
			 sb->exit_status);
		s->vm = VM_GONE;
		fail_all_locked(s);
		forget_net_locked(s, net);
		/* Handlers may still hold the client and the sandbox: both stay until exit. */
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		drop_net(net);
		return NULL;
	}
	s->agent = NULL;
	s->sb = NULL;
	s->vm = VM_NONE;
	forget_net_locked(s, net);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	ttrpc_client_free(cl);
	sandbox_free(sb);
	drop_net(net);
	char path[512];
	snprintf(path, sizeof(path), "%s/vmm.pid", s->state_dir);
	unlink(path);
	return NULL;
}

int shim_vm_network(struct shim *s, const char *spec_json, struct sbx_err *err)
{
	struct shim_net *net;
	if (shim_net_open(spec_json, &net, err) < 0)
		return sbx_wrap(err, "pod network");
	if (!net)
		return 0;
	pthread_mutex_lock(&s->lock);
	bool idle = s->vm == VM_NONE && !s->vm_thread_started;
	if (idle) {
		shim_net_free(s->net);
		s->net = net;
	}
	pthread_mutex_unlock(&s->lock);
	if (idle)
		return 0;
	shim_net_free(net);
	return sbx_failx(err, EBUSY, "pod network: the pod's VM runs already without it");
}

int shim_vm_ensure(struct shim *s, unsigned mem_mib, struct sbx_err *err)
{
	pthread_mutex_lock(&s->lock);
	if (s->vm == VM_NONE && !s->vm_thread_started) {
		if (stop_efd < 0)
			stop_efd = eventfd(0, EFD_CLOEXEC);
		boot_mem_mib = mem_mib;
		s->vm = VM_BOOTING;
		s->vm_error[0] = '\0';
		int e = pthread_create(&s->vm_thread, NULL, vm_thread, s);
		if (e) {
			s->vm = VM_NONE;
			pthread_mutex_unlock(&s->lock);
			return sbx_fail(err, e, "start the VM thread");
		}
		s->vm_thread_started = true;
	}
	while (s->vm == VM_BOOTING)
		pthread_cond_wait(&s->cond, &s->lock);
	int r = 0;
	if (s->vm != VM_UP) {
		r = sbx_failx(err, s->vm == VM_GONE ? EIO : EAGAIN, "%s",
			      s->vm_error[0] ? s->vm_error : "the pod's VM is not running");
		if (s->vm == VM_NONE && s->vm_thread_started) {
			/* a failed boot: the next Create may try again */
			pthread_t t = s->vm_thread;
			s->vm_thread_started = false;
			pthread_mutex_unlock(&s->lock);
			pthread_join(t, NULL);
			return r;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void shim_vm_stop(struct shim *s)
{
	pthread_mutex_lock(&s->lock);
	bool started = s->vm_thread_started;
	s->vm_thread_started = false;
	pthread_t t = s->vm_thread;
	while (s->vm == VM_BOOTING)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	if (!started)
		return;
	uint64_t one = 1;
	if (write(stop_efd, &one, 8) < 0)
		log_warn("stop the VM: %m");
	pthread_join(t, NULL);
	uint64_t v;
	if (read(stop_efd, &v, 8) < 0)
		v = 0; /* reset for a later VM */
}

/* Where each vCPU is, from the VMM's SampleVcpus: "vcpu0 rip 0x... rflags 0x...". */
static void vcpu_samples(const char *api, char *buf, size_t max)
{
	struct sbx_err err = {0};
	ProtobufCMessage *resp = NULL;
	Sbx__Vmm__V1__Empty empty = SBX__VMM__V1__EMPTY__INIT;
	if (ttrpc_call_unix(api, "sbx.vmm.v1.Vmm", "SampleVcpus", &empty.base,
			    &sbx__vmm__v1__sample_vcpus_response__descriptor, &resp, 5000,
			    &err) < 0) {
		snprintf(buf, max, "(%.120s)", err.msg); /* a dial or call error: short */
		return;
	}
	const Sbx__Vmm__V1__SampleVcpusResponse *out = (const void *)resp;
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < out->n_vcpus && n < max; i++) {
		const Sbx__Vmm__V1__VcpuSample *v = out->vcpus[i];
		int w = v->sampled ? snprintf(buf + n, max - n, "%svcpu%u rip %#llx rflags %#llx",
					      n ? " " : "", v->id, (unsigned long long)v->rip,
					      (unsigned long long)v->rflags)
				   : snprintf(buf + n, max - n, "%svcpu%u not sampled",
					      n ? " " : "", v->id);
		n += w > 0 ? (size_t)w : 0;
	}
	protobuf_c_message_free_unpacked(resp, NULL);
}

void shim_vm_log_lost_call(struct shim *s, const char *verb, const char *id,
			   const struct sbx_err *err)
{
	if (err->code != ETIMEDOUT && err->code != ECONNRESET)
		return;
	char threads[512] = "", vmm_log[320] = "", console[256] = "", api[300] = "",
	     vcpus[256] = "(no VM)";
	pthread_mutex_lock(&s->lock);
	if (s->sb) {
		sandbox_vmm_threads(s->sb, threads, sizeof(threads));
		sandbox_vmm_log_tail(s->sb, vmm_log, sizeof(vmm_log));
		sandbox_console_tail(s->sb, console, sizeof(console));
		snprintf(api, sizeof(api), "%s", s->sb->api);
	}
	pthread_mutex_unlock(&s->lock);
	/* out of the lock: the VMM takes up to a second to kick its vCPUs */
	if (api[0])
		vcpu_samples(api, vcpus, sizeof(vcpus));
	log_warn("%s %s: %s (%s); vmm threads: %s; vcpus: %s; vmm log: %s; console: %s", verb, id,
		 err->msg,
		 err->code == ETIMEDOUT ? "the guest does not answer"
					: "the connection to the guest agent was lost",
		 threads[0] ? threads : "(none)", vcpus, vmm_log, console);
}

int shim_agent(struct shim *s, struct ttrpc_client **ret, struct sbx_err *err)
{
	pthread_mutex_lock(&s->lock);
	*ret = s->vm == VM_UP ? s->agent : NULL;
	int r = *ret ? 0
		     : sbx_failx(err, ENOTCONN, "%s",
				 s->vm_error[0] ? s->vm_error : "the pod's VM is not running");
	pthread_mutex_unlock(&s->lock);
	return r;
}

uint32_t shim_task_pid(struct shim *s)
{
	return s->vmm_pid > 0 ? (uint32_t)s->vmm_pid : (uint32_t)getpid();
}
