/* Decides whether /dev/kvm can run a stock Linux guest: a tiny 64-bit guest executes INT3
 * through an IDT. Hardware KVM runs the handler; PVM ends with KVM_EXIT_INTERNAL_ERROR. */
#pragma once

struct sbx_err;

enum kvm_probe_result {
	KVM_PROBE_HARDWARE = 0,     /* stock guests run at native speed */
	KVM_PROBE_PVM_EMULATED = 1, /* /dev/kvm exists but cannot run a stock guest */
	KVM_PROBE_ABSENT = 2,       /* no usable /dev/kvm */
};

const char *kvm_probe_name(enum kvm_probe_result r);

/* Returns a kvm_probe_result (>= 0), or -errno when the probe itself failed; err says why. */
int kvm_probe(const char *dev_path, struct sbx_err *err);

/* The same answer without running a guest when the loaded modules settle it (kvm_intel or
 * kvm_amd and no kvm_pvm behind /dev/kvm): sbx-vmm's start path, where the probe guest cost a
 * third of the time to the first KVM_RUN. Falls back to kvm_probe. */
int kvm_probe_fast(const char *dev_path, struct sbx_err *err);
