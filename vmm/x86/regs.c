/* Boot register state. PVH enters 32-bit code with paging off; the 64-bit protocol needs long
 * mode, a GDT with __BOOT_CS 0x10 / __BOOT_DS 0x18 and identity page tables, written here into
 * guest RAM below 1 MiB (see boot/layout.h). */
#include "vmm/x86/cpu.h"

#include "base/err.h"
#include "vmm/boot/layout.h"
#include "vmm/mem.h"

#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRING 1ull
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void lapic_set_mode(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
	uint32_t v;
	memcpy(&v, l->regs + reg, 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(l->regs + reg, &v, 4);
}

int x86_setup_common(int vcpu_fd, struct sbx_err *err)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return sbx_fail(err, errno, "KVM_SET_FPU");
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs = {.hdr.nmsrs = 1,
		  .e = {{.index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING}}};
	if (ioctl(vcpu_fd, KVM_SET_MSRS, &msrs) != 1)
		return sbx_fail(err, errno, "KVM_SET_MSRS");
	struct kvm_lapic_state lapic;
	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return sbx_fail(err, errno, "KVM_GET_LAPIC");
	/* As a BIOS would: the 8259's output on LINT0, NMIs on LINT1. */
	lapic_set_mode(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_mode(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
		return sbx_fail(err, errno, "KVM_SET_LAPIC");
	return 0;
}

void x86_flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, int long_mode)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->db = long_mode && (type & 0x8) ? 0 : 1;
	s->l = long_mode && (type & 0x8) ? 1 : 0;
}

static int set_regs(int vcpu_fd, uint64_t rip, uint64_t rbx, uint64_t rsi, struct sbx_err *err)
{
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rbx = rbx;
	regs.rsi = rsi;
	regs.rflags = 0x2;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return sbx_fail(err, errno, "KVM_SET_REGS");
	return 0;
}

int x86_setup_regs_pvh(int vcpu_fd, uint64_t entry, uint64_t start_info, struct sbx_err *err)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return sbx_fail(err, errno, "KVM_GET_SREGS");
	x86_flat_segment(&sregs.cs, 0x10, 0xb, 0);
	x86_flat_segment(&sregs.ds, 0x18, 0x3, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	x86_flat_segment(&sregs.tr, 0x20, 0xb, 0);
	sregs.tr.s = 0;
	sregs.cr0 = 0x11; /* PE, ET */
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return sbx_fail(err, errno, "KVM_SET_SREGS");
	return set_regs(vcpu_fd, entry, start_info, 0, err);
}

int x86_setup_regs_long(int vcpu_fd, struct guest_mem *gm, uint64_t entry, uint64_t boot_params,
			struct sbx_err *err)
{
	/* GDT: null, null, __BOOT_CS (0x10) 64-bit code, __BOOT_DS (0x18) data. */
	const uint64_t gdt[4] = {0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull};
	if (gm_write(gm, LAYOUT_GDT, gdt, sizeof(gdt)) < 0)
		return sbx_failx(err, EFAULT, "no RAM for the boot GDT");
	/* PML4 -> one PDPT -> four PDs of 2 MiB pages: the low 4 GiB identity-mapped. */
	uint64_t pml4 = LAYOUT_PDPT | 0x3;
	uint64_t pdpt[4], pd[512];
	for (int i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + (uint64_t)i * 0x1000) | 0x3;
	if (gm_write(gm, LAYOUT_PML4, &pml4, sizeof(pml4)) < 0 ||
	    gm_write(gm, LAYOUT_PDPT, pdpt, sizeof(pdpt)) < 0)
		return sbx_failx(err, EFAULT, "no RAM for the boot page tables");
	for (int t = 0; t < 4; t++) {
		for (int i = 0; i < 512; i++)
			pd[i] = (((uint64_t)t * 512 + (uint64_t)i) << 21) | 0x83;
		if (gm_write(gm, LAYOUT_PD + (uint64_t)t * 0x1000, pd, sizeof(pd)) < 0)
			return sbx_failx(err, EFAULT, "no RAM for the boot page tables");
	}
	struct kvm_sregs sregs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return sbx_fail(err, errno, "KVM_GET_SREGS");
	x86_flat_segment(&sregs.cs, 0x10, 0xb, 1);
	x86_flat_segment(&sregs.ds, 0x18, 0x3, 1);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.cr3 = LAYOUT_PML4;
	sregs.cr4 = 1u << 5;                 /* PAE */
	sregs.cr0 = 0x80000011;              /* PG, ET, PE */
	sregs.efer = (1u << 8) | (1u << 10); /* LME, LMA */
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return sbx_fail(err, errno, "KVM_SET_SREGS");
	return set_regs(vcpu_fd, entry, 0, boot_params, err);
}
