/* Control API handlers: thin wrappers over vm.c and the device models. */
#define _GNU_SOURCE
#include "vmm/ctl.h"

#include "base/clock.h"
#include "base/err.h"
#include "proto/vmm.pb-c.h"
#include "ttrpc/server.h"
#include "vmm/dev/boot-timer.h"
#include "vmm/seccomp.h"
#include "vmm/vcpu.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SERVICE "sbx.vmm.v1.Vmm"
#define SAMPLE_TIMEOUT_MS 1000 /* a vCPU stuck in the host kernel is reported, not waited for */

static const char *const exit_names[16] = {
    [2] = "io",
    [5] = "hlt",
    [6] = "mmio",
    [8] = "shutdown",
    [9] = "fail_entry",
    [10] = "intr",
    [14] = "internal_error",
};

static int h_ping(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		  ProtobufCMessage *resp, struct sbx_err *err)
{
	Sbx__Vmm__V1__PingResponse *out = (void *)resp;
	out->version = "sbx-vmm 0.1";
	out->pid = (uint32_t)getpid();
	return 0;
}

static int h_pause(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		   ProtobufCMessage *resp, struct sbx_err *err)
{
	vm_pause(((struct vmm_ctl *)ctx)->vm);
	return 0;
}

static int h_resume(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		    ProtobufCMessage *resp, struct sbx_err *err)
{
	vm_resume(((struct vmm_ctl *)ctx)->vm);
	return 0;
}

static int h_shutdown(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		      ProtobufCMessage *resp, struct sbx_err *err)
{
	vm_request_stop(((struct vmm_ctl *)ctx)->vm, VM_STOP_REQUESTED, "Shutdown request");
	return 0;
}

static int h_insert_disk(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
			 ProtobufCMessage *resp, struct sbx_err *err)
{
	struct vmm_ctl *c = ctx;
	const Sbx__Vmm__V1__InsertDiskRequest *in = (const void *)req;
	if (in->slot >= c->n_disks)
		return sbx_failx(err, EINVAL, "slot %u: the VM has %u disk slots", in->slot,
				 c->n_disks);
	if (!in->path || in->path[0] != '/')
		return sbx_failx(err, EINVAL, "path must be absolute");
	if (in->serial && strlen(in->serial) > 20)
		return sbx_failx(err, EINVAL, "serial is longer than 20 bytes");
	int r = virtio_blk_insert(c->disks[in->slot], in->path, in->read_only,
				  in->serial && in->serial[0] ? in->serial : NULL, err);
	return r < 0 ? sbx_wrap(err, "slot %u", in->slot) : 0;
}

static int h_stats(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		   ProtobufCMessage *resp, struct sbx_err *err)
{
	struct vmm_ctl *c = ctx;
	Sbx__Vmm__V1__StatsResponse *out = (void *)resp;
	out->exits = ttrpc_call_alloc(call, 16 * sizeof(*out->exits));
	out->devices = ttrpc_call_alloc(call, c->n_devices * sizeof(*out->devices) + 1);
	if (!out->exits || !out->devices)
		return sbx_fail(err, ENOMEM, "stats");
	for (unsigned i = 0; i < 16; i++) {
		uint64_t n = __atomic_load_n(&c->vm->exits[i], __ATOMIC_RELAXED);
		if (!n)
			continue;
		Sbx__Vmm__V1__ExitCount *e = ttrpc_call_alloc(call, sizeof(*e));
		char *name = ttrpc_call_alloc(call, 24);
		if (!e || !name)
			return sbx_fail(err, ENOMEM, "stats");
		sbx__vmm__v1__exit_count__init(e);
		snprintf(name, 24, "%s", exit_names[i] ? exit_names[i] : "other");
		e->reason = name;
		e->count = n;
		out->exits[out->n_exits++] = e;
	}
	for (unsigned i = 0; i < c->n_devices; i++) {
		Sbx__Vmm__V1__DeviceStats *d = ttrpc_call_alloc(call, sizeof(*d));
		if (!d)
			return sbx_fail(err, ENOMEM, "stats");
		sbx__vmm__v1__device_stats__init(d);
		d->name = (char *)c->devices[i]->ops->name;
		d->slot = i;
		d->bad_input = c->devices[i]->bad_input;
		d->needs_reset = c->devices[i]->status & 0x40;
		out->devices[out->n_devices++] = d;
	}
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	long page = sysconf(_SC_PAGESIZE);
	out->rss_bytes = (uint64_t)resident * (uint64_t)page;
	/* Guest pages the guest has touched, so RSS minus this is the VMM's own overhead. */
	const struct guest_mem *gm = &c->vm->mem;
	size_t pages = gm->ram_size / (size_t)page;
	unsigned char *vec = gm->mapping ? ttrpc_call_alloc(call, pages) : NULL;
	if (vec && mincore(gm->mapping, gm->ram_size, vec) == 0) {
		uint64_t n = 0;
		for (size_t i = 0; i < pages; i++)
			n += vec[i] & 1;
		out->guest_resident_bytes = n * (uint64_t)page;
	}
	pthread_mutex_lock(&c->vm->stop_lock);
	out->paused = c->vm->paused;
	pthread_mutex_unlock(&c->vm->stop_lock);
	return 0;
}

static int h_boot_times(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
			ProtobufCMessage *resp, struct sbx_err *err)
{
	struct vmm_ctl *c = ctx;
	Sbx__Vmm__V1__BootTimesResponse *out = (void *)resp;
	uint64_t first = __atomic_load_n(&c->vm->first_run_ns, __ATOMIC_RELAXED);
	out->start_to_first_run_ns = first ? first - c->start_ns : 0;
	out->start_to_now_ns = clock_ns(CLOCK_MONOTONIC) - c->start_ns;
	if (!c->boot_timer)
		return 0;
	struct boot_milestone seen[BOOT_TIMER_MAX_MILESTONES];
	unsigned n = boot_timer_snapshot(c->boot_timer, seen, BOOT_TIMER_MAX_MILESTONES);
	out->milestones = ttrpc_call_alloc(call, n * sizeof(*out->milestones) + 1);
	if (!out->milestones)
		return sbx_fail(err, ENOMEM, "boot times");
	for (unsigned i = 0; i < n; i++) {
		Sbx__Vmm__V1__BootMilestone *m = ttrpc_call_alloc(call, sizeof(*m));
		if (!m)
			return sbx_fail(err, ENOMEM, "boot times");
		sbx__vmm__v1__boot_milestone__init(m);
		m->id = seen[i].id;
		m->start_to_milestone_ns = seen[i].ns_since_start;
		out->milestones[out->n_milestones++] = m;
	}
	return 0;
}

static int h_sample_vcpus(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
			  ProtobufCMessage *resp, struct sbx_err *err)
{
	struct vm *vm = ((struct vmm_ctl *)ctx)->vm;
	Sbx__Vmm__V1__SampleVcpusResponse *out = (void *)resp;
	vm_sample_vcpus(vm, SAMPLE_TIMEOUT_MS);
	out->vcpus = ttrpc_call_alloc(call, vm->n_vcpus * sizeof(*out->vcpus) + 1);
	if (!out->vcpus)
		return sbx_fail(err, ENOMEM, "sample vcpus");
	pthread_mutex_lock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		Sbx__Vmm__V1__VcpuSample *v = ttrpc_call_alloc(call, sizeof(*v));
		if (!v)
			break;
		sbx__vmm__v1__vcpu_sample__init(v);
		v->id = i;
		v->sampled = vm->vcpus[i]->sampled;
		v->rip = vm->vcpus[i]->rip;
		v->rsp = vm->vcpus[i]->rsp;
		v->rflags = vm->vcpus[i]->rflags;
		out->vcpus[out->n_vcpus++] = v;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	return out->n_vcpus == vm->n_vcpus ? 0 : sbx_fail(err, ENOMEM, "sample vcpus");
}

#define EMPTY &sbx__vmm__v1__empty__descriptor
static const struct ttrpc_method methods[] = {
    {SERVICE, "Ping", EMPTY, &sbx__vmm__v1__ping_response__descriptor, h_ping},
    {SERVICE, "Pause", EMPTY, EMPTY, h_pause},
    {SERVICE, "Resume", EMPTY, EMPTY, h_resume},
    {SERVICE, "Shutdown", &sbx__vmm__v1__shutdown_request__descriptor, EMPTY, h_shutdown},
    {SERVICE, "InsertDisk", &sbx__vmm__v1__insert_disk_request__descriptor, EMPTY, h_insert_disk},
    {SERVICE, "Stats", EMPTY, &sbx__vmm__v1__stats_response__descriptor, h_stats},
    {SERVICE, "BootTimes", EMPTY, &sbx__vmm__v1__boot_times_response__descriptor, h_boot_times},
    {SERVICE, "SampleVcpus", EMPTY, &sbx__vmm__v1__sample_vcpus_response__descriptor,
     h_sample_vcpus},
};

struct accept_args {
	struct ttrpc_server *srv;
	int fd;
};

static void *accept_thread(void *arg)
{
	struct accept_args *a = arg;
	/* a filter that cannot be loaded leaves the API closed rather than unconfined */
	if (vmm_seccomp_apply(VMM_THREAD_CONTROL, NULL) < 0)
		return NULL;
	ttrpc_server_accept_loop(a->srv, a->fd);
	return NULL;
}

int vmm_ctl_start(struct vmm_ctl *c, const char *path, struct sbx_err *err)
{
	if (snprintf(c->path, sizeof(c->path), "%s", path) >= (int)sizeof(c->path))
		return sbx_failx(err, ENAMETOOLONG, "--api path '%s' is too long", path);
	struct ttrpc_server *srv;
	int r = ttrpc_server_new(methods, sizeof(methods) / sizeof(methods[0]), c, &srv, err);
	if (r < 0)
		return r;
	c->listen_fd = ttrpc_listen_unix(path, err);
	if (c->listen_fd < 0)
		return sbx_wrap(err, "--api");
	static struct accept_args a;
	a = (struct accept_args){srv, c->listen_fd};
	pthread_t t;
	if (pthread_create(&t, NULL, accept_thread, &a) != 0)
		return sbx_failx(err, EAGAIN, "control API thread");
	pthread_detach(t);
	return 0;
}

void vmm_ctl_stop(struct vmm_ctl *c)
{
	if (c->listen_fd >= 0) {
		shutdown(c->listen_fd, SHUT_RDWR);
		unlink(c->path);
	}
}
