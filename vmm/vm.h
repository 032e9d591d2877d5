/* One KVM virtual machine: RAM, the in-kernel irqchip and PIT, vCPU threads, the port-I/O and
 * MMIO buses, and how it ended. Only vm.c, vcpu.c, x86/ and boot/ see <linux/kvm.h>. */
#pragma once

#include "vmm/bus.h"
#include "base/err.h"
#include "vmm/mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct sbx_err;
struct vcpu;

#define VM_MAX_VCPUS 32

/* Why the guest stopped; main() turns this into the process exit code. */
enum vm_stop {
	VM_STOP_NONE = 0,
	VM_STOP_POWEROFF,     /* reset with a cold reboot mode: power-off or reboot */
	VM_STOP_PANIC,        /* reset after a kernel panic (the guest wrote the warm flag) */
	VM_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
	VM_STOP_ERROR,        /* KVM failed or an exit we cannot handle */
	VM_STOP_REQUESTED,    /* the host asked (signal or control API) */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size; /* mmap size of struct kvm_run */
	struct guest_mem mem;
	unsigned n_vcpus;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	struct bus pio;
	struct bus mmio;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	enum vm_stop stop;
	char stop_detail[SBX_ERR_MAX];
	bool paused;           /* guarded by stop_lock */
	unsigned n_parked;     /* vCPUs parked by a pause */
	uint64_t sample_gen;   /* vm_sample_vcpus requests, guarded by stop_lock */
	uint64_t first_run_ns; /* CLOCK_MONOTONIC of the first KVM_RUN */
	uint64_t exits[16];    /* by vm_exit_counter */
};

/* Guest RAM only: boot images can be prepared before KVM is opened. */
int vm_init_memory(struct vm *vm, uint64_t mem_bytes, struct sbx_err *err);
/* The KVM VM over that memory, with n_vcpus vCPUs. */
int vm_create_kvm(struct vm *vm, const char *kvm_path, unsigned n_vcpus, struct sbx_err *err);
void vm_destroy(struct vm *vm);

/* Sets a level on an in-kernel irqchip input (ISA IRQ or IOAPIC pin). */
int vm_irq_line(struct vm *vm, uint32_t irq, int level);

/* Registers an eventfd that injects GSI `gsi` when signalled (KVM_IRQFD). */
int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, struct sbx_err *err);
/* Makes a guest write of `datamatch` (4 bytes) to MMIO addr signal fd (KVM_IOEVENTFD). */
int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t datamatch, struct sbx_err *err);

/* Records why the VM stops (first caller wins) and wakes vm_run. Any thread. */
void vm_request_stop(struct vm *vm, enum vm_stop why, const char *detail);

/* Parks every vCPU outside KVM_RUN and returns once all are parked; vm_resume lets them go. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* For vCPU threads: parks while paused. Returns false when the VM is stopping. */
bool vm_vcpu_park_if_paused(struct vm *vm);
/* Kicks every vCPU out of KVM_RUN to record its registers (vcpu->rip etc.), and lets it run on.
 * Waits at most timeout_ms; a vCPU that has not come back (or is paused) is left with
 * sampled false. */
void vm_sample_vcpus(struct vm *vm, int timeout_ms);
/* For vCPU threads, just before KVM_RUN: records the registers if a sample was asked for. */
void vm_vcpu_sample_if_asked(struct vm *vm, struct vcpu *v);

/* Starts every vCPU thread, waits until something requests a stop, stops and joins the vCPUs.
 * Returns the reason. */
enum vm_stop vm_run(struct vm *vm);
