/* A vCPU: its KVM fd, the shared kvm_run page and the thread that runs KVM_RUN. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct sbx_err;
struct vm;
struct kvm_run;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* vm_sample_vcpus: the thread records its registers when sample_seen != vm->sample_gen */
	uint64_t sample_seen; /* guarded by vm->stop_lock, like the rest below */
	bool sampled;
	uint64_t rip, rsp, rflags;
};

/* n_vcpus: how many the VM will have, for CPUID topology. */
int vcpu_create(struct vm *vm, unsigned id, unsigned n_vcpus, struct vcpu **ret,
		struct sbx_err *err);
void vcpu_destroy(struct vcpu *v);

int vcpu_start(struct vcpu *v, struct sbx_err *err);
/* Makes KVM_RUN return (immediate_exit + a signal) so the thread sees the stop request. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
