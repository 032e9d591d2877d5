/* The KVM_RUN loop. Port I/O and MMIO exits go to the buses; everything that ends the guest goes
 * to vm_request_stop(). A stop request makes KVM_RUN return through immediate_exit + SIGUSR1. */
#define _GNU_SOURCE
#include "vmm/vcpu.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "vmm/seccomp.h"
#include "vmm/vm.h"
#include "vmm/x86/cpu.h"

#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

static void on_kick(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

static void install_kick_handler_once(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick; /* no SA_RESTART: KVM_RUN must return EINTR */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_kick_handler_once);
}

int vcpu_create(struct vm *vm, unsigned id, unsigned n_vcpus, struct vcpu **ret,
		struct sbx_err *err)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	if (!v)
		return sbx_fail(err, ENOMEM, "vCPU %u", id);
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		int e = errno;
		free(v);
		return sbx_fail(err, e, "KVM_CREATE_VCPU %u", id);
	}
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		close(v->fd);
		free(v);
		return sbx_fail(err, e, "mmap kvm_run of vCPU %u", id);
	}
	int r = x86_setup_cpuid(vm->kvm_fd, v->fd, id, n_vcpus, err);
	if (r == 0)
		r = x86_setup_common(v->fd, err);
	if (r < 0) {
		vcpu_destroy(v);
		return r;
	}
	*ret = v;
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}

static bool stopping(struct vcpu *v)
{
	return __atomic_load_n(&v->vm->stop, __ATOMIC_ACQUIRE) != VM_STOP_NONE;
}

static void count_exit(struct vm *vm, uint32_t reason)
{
	__atomic_add_fetch(&vm->exits[reason & 15], 1, __ATOMIC_RELAXED);
}

/* Returns false when the loop must end. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;
	char why[160];
	count_exit(vm, run->exit_reason);
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *data = (uint8_t *)run + run->io.data_offset;
		for (uint32_t i = 0; i < run->io.count; i++)
			bus_access(&vm->pio, run->io.port, data + (size_t)i * run->io.size,
				   run->io.size, run->io.direction == KVM_EXIT_IO_OUT);
		return true;
	}
	case KVM_EXIT_MMIO:
		bus_access(&vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			   run->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		vm_request_stop(vm, VM_STOP_POWEROFF, "the guest halted");
		return false;
	case KVM_EXIT_SHUTDOWN: {
		struct kvm_regs regs;
		if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
			snprintf(why, sizeof(why), "triple fault on vCPU %u at rip %#llx rsp %#llx",
				 v->id, regs.rip, regs.rsp);
		else
			snprintf(why, sizeof(why), "triple fault on vCPU %u", v->id);
		vm_request_stop(vm, VM_STOP_TRIPLE_FAULT, why);
		return false;
	}
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH)
			vm_request_stop(vm, VM_STOP_PANIC, "the guest reported a crash");
		else
			vm_request_stop(vm, VM_STOP_POWEROFF, "system event");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "KVM entry failed on vCPU %u (reason 0x%llx)", v->id,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_request_stop(vm, VM_STOP_ERROR, why);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM internal error on vCPU %u (suberror %u)", v->id,
			 run->internal.suberror);
		vm_request_stop(vm, VM_STOP_ERROR, why);
		return false;
	default:
		snprintf(why, sizeof(why), "unhandled KVM exit %u on vCPU %u", run->exit_reason,
			 v->id);
		vm_request_stop(vm, VM_STOP_ERROR, why);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	log_set_thread(name);
	pthread_setname_np(pthread_self(), name);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	struct sbx_err err = {0};
	if (vmm_seccomp_apply(VMM_THREAD_VCPU, &err) < 0) {
		vm_request_stop(v->vm, VM_STOP_ERROR, err.msg);
		return NULL;
	}
	while (!stopping(v)) {
		if (!vm_vcpu_park_if_paused(v->vm))
			break;
		/* A pause kick left immediate_exit set; clear it once we are running again. */
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (stopping(v))
			break;
		vm_vcpu_sample_if_asked(v->vm, v);
		if (v->vm->first_run_ns == 0) {
			uint64_t now = clock_ns(CLOCK_MONOTONIC), zero = 0;
			__atomic_compare_exchange_n(&v->vm->first_run_ns, &zero, now, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char why[96];
			snprintf(why, sizeof(why), "KVM_RUN on vCPU %u: %s", v->id,
				 strerror(errno));
			vm_request_stop(v->vm, VM_STOP_ERROR, why);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v, struct sbx_err *err)
{
	install_kick_handler();
	int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (r != 0)
		return sbx_fail(err, r, "start vCPU %u", v->id);
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}
