/* x86 vCPU state at boot: CPUID with per-vCPU APIC ids, FPU, MSRs, local APIC LVTs, and the
 * register state the two boot protocols expect. */
#pragma once

#include <stdint.h>

struct sbx_err;
struct guest_mem;
struct kvm_segment;

/* A flat 4 GiB segment; code segments (type & 8) become 64-bit when long_mode. */
void x86_flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, int long_mode);

int x86_setup_cpuid(int kvm_fd, int vcpu_fd, unsigned id, unsigned n_vcpus, struct sbx_err *err);
/* FPU, MSRs and LVT0/LVT1 (ExtINT/NMI) for every vCPU. */
int x86_setup_common(int vcpu_fd, struct sbx_err *err);
/* PVH: 32-bit protected mode, paging off, EBX = hvm_start_info. */
int x86_setup_regs_pvh(int vcpu_fd, uint64_t entry, uint64_t start_info, struct sbx_err *err);
/* 64-bit boot protocol: long mode with identity-mapped low 4 GiB (tables written into gm),
 * RSI = boot_params. */
int x86_setup_regs_long(int vcpu_fd, struct guest_mem *gm, uint64_t entry, uint64_t boot_params,
			struct sbx_err *err);
