/* The KVM probe: one vCPU in 64-bit kernel mode, identity-mapped 2 MiB, executes INT3. The #BP
 * handler writes to port PROBE_PORT; reaching it means the host runs stock guest kernels. */
#include "vmm/x86/kvm-probe.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "vmm/x86/cpu.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_MEM_SIZE (2u << 20)
#define PROBE_PORT 0x10
#define GDT_ADDR 0x500
#define PML4_ADDR 0x1000
#define PDPT_ADDR 0x2000
#define PD_ADDR 0x3000
#define IDT_ADDR 0x4000
#define CODE_ADDR 0x5000
#define HANDLER_ADDR 0x6000
#define STACK_TOP 0x8000

const char *kvm_probe_name(enum kvm_probe_result r)
{
	switch (r) {
	case KVM_PROBE_HARDWARE:
		return "hardware";
	case KVM_PROBE_PVM_EMULATED:
		return "pvm-emulated";
	case KVM_PROBE_ABSENT:
		return "absent";
	}
	return "unknown";
}

static void build_guest(uint8_t *mem)
{
	/* GDT: null, 64-bit code (selector 0x8), data (0x10). */
	uint64_t *gdt = (uint64_t *)(mem + GDT_ADDR);
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;
	gdt[2] = 0x00cf93000000ffffull;

	/* Identity map the first 2 MiB with one large page. */
	*(uint64_t *)(mem + PML4_ADDR) = PDPT_ADDR | 0x3;
	*(uint64_t *)(mem + PDPT_ADDR) = PD_ADDR | 0x3;
	*(uint64_t *)(mem + PD_ADDR) = 0x0 | 0x83;

	/* IDT entry 3 (#BP): 64-bit interrupt gate to HANDLER_ADDR, selector 0x8, DPL 0. */
	uint8_t *gate = mem + IDT_ADDR + 3 * 16;
	memset(gate, 0, 16);
	gate[0] = HANDLER_ADDR & 0xff;
	gate[1] = (HANDLER_ADDR >> 8) & 0xff;
	gate[2] = 0x08;
	gate[5] = 0x8e;

	/* Code: int3; hlt. Handler: mov al, 0x42; out PROBE_PORT, al; hlt. */
	const uint8_t code[] = {0xcc, 0xf4};
	const uint8_t handler[] = {0xb0, 0x42, 0xe6, PROBE_PORT, 0xf4};
	memcpy(mem + CODE_ADDR, code, sizeof(code));
	memcpy(mem + HANDLER_ADDR, handler, sizeof(handler));
}

static int setup_vcpu(int vcpu, struct sbx_err *err)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return sbx_fail(err, errno, "KVM_GET_SREGS");
	x86_flat_segment(&sregs.cs, 0x8, 0xb, 1);
	x86_flat_segment(&sregs.ds, 0x10, 0x3, 1);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = IDT_ADDR;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = 1u << 5;                 /* PAE */
	sregs.cr0 = 0x80050033;              /* PG, WP, NE, ET, MP, PE */
	sregs.efer = (1u << 8) | (1u << 10); /* LME, LMA */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return sbx_fail(err, errno, "KVM_SET_SREGS");

	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rsp = STACK_TOP;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return sbx_fail(err, errno, "KVM_SET_REGS");
	return 0;
}

int kvm_probe(const char *dev_path, struct sbx_err *err)
{
	_cleanup_close_ int kvm = open(dev_path, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return KVM_PROBE_ABSENT;
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return KVM_PROBE_ABSENT;

	_cleanup_close_ int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return sbx_fail(err, errno, "KVM_CREATE_VM");

	uint8_t *mem = mmap(NULL, PROBE_MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return sbx_fail(err, errno, "mmap probe memory");
	_cleanup_close_ int vcpu = -1;
	struct kvm_run *run = MAP_FAILED;
	int run_size = 0;
	int r;
	build_guest(mem);
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = PROBE_MEM_SIZE,
	    .userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		r = sbx_fail(err, errno, "KVM_SET_USER_MEMORY_REGION");
		goto unmap_mem;
	}

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		r = sbx_fail(err, errno, "KVM_CREATE_VCPU");
		goto unmap_mem;
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		r = sbx_fail(err, errno, "KVM_GET_VCPU_MMAP_SIZE");
		goto unmap_mem;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		r = sbx_fail(err, errno, "mmap kvm_run");
		goto unmap_mem;
	}
	r = setup_vcpu(vcpu, err);
	if (r < 0)
		goto unmap_run;

	/* The guest is three instructions long; a handful of exits is plenty. */
	r = KVM_PROBE_PVM_EMULATED;
	for (int i = 0; i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			r = sbx_fail(err, errno, "KVM_RUN");
			break;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT) {
			r = KVM_PROBE_HARDWARE;
			break;
		}
		if (run->exit_reason != KVM_EXIT_IO)
			break; /* INTERNAL_ERROR on PVM; HLT or SHUTDOWN: the handler never ran */
	}
unmap_run:
	munmap(run, (size_t)run_size);
unmap_mem:
	munmap(mem, PROBE_MEM_SIZE);
	return r;
}

static bool module_loaded(const char *name)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

int kvm_probe_fast(const char *dev_path, struct sbx_err *err)
{
	/* Only kvm_intel or kvm_amd can be behind /dev/kvm when kvm_pvm is absent, and they run
	 * stock guests. Anything else, or a device path of the caller's choosing, is probed. */
	if (strcmp(dev_path, "/dev/kvm") == 0 && !module_loaded("kvm_pvm") &&
	    (module_loaded("kvm_intel") || module_loaded("kvm_amd")))
		return access(dev_path, R_OK | W_OK) == 0 ? KVM_PROBE_HARDWARE : KVM_PROBE_ABSENT;
	return kvm_probe(dev_path, err);
}
