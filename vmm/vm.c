/* VM creation and the stop protocol: any thread records why the VM stops, vm_run kicks and joins
 * the vCPUs. */
#define _GNU_SOURCE
#include "vmm/vm.h"

#include "base/clock.h"
#include "base/err.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Addresses KVM needs for its own use on Intel; placed just below the 4 GiB boundary, inside
 * the MMIO hole where no RAM lives. */
#define KVM_TSS_ADDR 0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

int vm_init_memory(struct vm *vm, uint64_t mem_bytes, struct sbx_err *err)
{
	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	vm->mem.memfd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	return gm_create(&vm->mem, mem_bytes, false, err);
}

int vm_create_kvm(struct vm *vm, const char *kvm_path, unsigned n_vcpus, struct sbx_err *err)
{
	if (n_vcpus == 0 || n_vcpus > VM_MAX_VCPUS)
		return sbx_failx(err, EINVAL, "vCPU count %u is outside 1-%d", n_vcpus,
				 VM_MAX_VCPUS);
	vm->kvm_fd = open(kvm_path, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return sbx_fail(err, errno, "open %s", kvm_path);
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return sbx_failx(err, ENOTSUP, "%s: unsupported KVM API version", kvm_path);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return sbx_fail(err, errno, "KVM_CREATE_VM");
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return sbx_fail(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return sbx_fail(err, errno, "KVM_SET_TSS_ADDR");
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return sbx_fail(err, errno, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return sbx_fail(err, errno, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return sbx_fail(err, errno, "KVM_CREATE_PIT2");

	int r;
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct gm_region *g = &vm->mem.regions[i];
		struct kvm_userspace_memory_region region = {
		    .slot = i,
		    .guest_phys_addr = g->gpa,
		    .memory_size = g->size,
		    .userspace_addr = (uint64_t)(uintptr_t)g->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return sbx_fail(err, errno, "KVM_SET_USER_MEMORY_REGION %u", i);
	}
	for (unsigned i = 0; i < n_vcpus; i++) {
		r = vcpu_create(vm, i, n_vcpus, &vm->vcpus[i], err);
		if (r < 0)
			return r;
		vm->n_vcpus++;
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	vm->n_vcpus = 0;
	gm_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int vm_irq_line(struct vm *vm, uint32_t irq, int level)
{
	struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, struct sbx_err *err)
{
	struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return sbx_fail(err, errno, "KVM_IRQFD gsi %u", gsi);
	return 0;
}

int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t datamatch, struct sbx_err *err)
{
	struct kvm_ioeventfd io = {
	    .datamatch = datamatch,
	    .addr = addr,
	    .len = 4,
	    .fd = fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return sbx_fail(err, errno, "KVM_IOEVENTFD at 0x%llx", (unsigned long long)addr);
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_stop why, const char *detail)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop == VM_STOP_NONE) {
		vm->stop = why;
		snprintf(vm->stop_detail, sizeof(vm->stop_detail), "%s", detail ? detail : "");
	}
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
}

enum vm_stop vm_run(struct vm *vm)
{
	struct sbx_err err = {0};
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		if (vcpu_start(vm->vcpus[i], &err) < 0) {
			vm_request_stop(vm, VM_STOP_ERROR, err.msg);
			break;
		}
	}
	pthread_mutex_lock(&vm->stop_lock);
	while (vm->stop == VM_STOP_NONE)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	enum vm_stop why = vm->stop;
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
	return why;
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	vm->paused = true;
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	pthread_mutex_lock(&vm->stop_lock);
	while (vm->paused && vm->n_parked < vm->n_vcpus && vm->stop == VM_STOP_NONE)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	vm->paused = false;
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
}

bool vm_vcpu_park_if_paused(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->paused) {
		vm->n_parked++;
		pthread_cond_broadcast(&vm->stop_cond);
		while (vm->paused && vm->stop == VM_STOP_NONE)
			pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
		vm->n_parked--;
	}
	bool go_on = vm->stop == VM_STOP_NONE;
	pthread_mutex_unlock(&vm->stop_lock);
	return go_on;
}

void vm_sample_vcpus(struct vm *vm, int timeout_ms)
{
	pthread_mutex_lock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vm->vcpus[i]->sampled = false;
	uint64_t gen = vm->sample_gen + 1;
	__atomic_store_n(&vm->sample_gen, gen, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	struct timespec dl = clock_deadline(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&vm->stop_lock);
	for (;;) {
		unsigned done = 0;
		for (unsigned i = 0; i < vm->n_vcpus; i++)
			done += vm->vcpus[i]->sample_seen == gen;
		if (done == vm->n_vcpus || vm->stop != VM_STOP_NONE ||
		    pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &dl) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

void vm_vcpu_sample_if_asked(struct vm *vm, struct vcpu *v)
{
	/* seq_cst, like the store of immediate_exit before it: a request this load misses comes
	 * with a kick that lands after that store, so KVM_RUN returns at once and we get here
	 * again */
	uint64_t gen = __atomic_load_n(&vm->sample_gen, __ATOMIC_SEQ_CST);
	if (gen == v->sample_seen)
		return;
	struct kvm_regs regs;
	bool ok = ioctl(v->fd, KVM_GET_REGS, &regs) == 0;
	pthread_mutex_lock(&vm->stop_lock);
	v->sampled = ok;
	v->rip = ok ? regs.rip : 0;
	v->rsp = ok ? regs.rsp : 0;
	v->rflags = ok ? regs.rflags : 0;
	v->sample_seen = gen;
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
}
