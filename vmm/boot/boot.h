/* Loading a Linux guest: ELF vmlinux through the PVH entry note (no decompression) or bzImage
 * through the 64-bit boot protocol; initrd, command line, memory map and MP table; boot
 * registers on vCPU 0 (the others wait for the guest's INIT/SIPI). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct sbx_err;
struct vm;
struct guest_mem;

struct boot_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;
};

struct boot_image {
	bool pvh;
	uint64_t entry;
	uint64_t kernel_end; /* first byte above the loaded kernel */
	uint16_t bz_version; /* bzImage boot protocol version */
	uint32_t initrd_addr_max;
	uint32_t cmdline_max;
};

/* Writes kernel, initrd, command line, memory map, MP table and start info / zero page into
 * guest RAM. Needs no KVM, so every input error is found before /dev/kvm is touched. */
int boot_prepare(struct guest_mem *gm, unsigned n_vcpus, const struct boot_config *cfg,
		 struct boot_image *img, struct sbx_err *err);
/* vCPU 0's entry state for the prepared image. */
int boot_set_registers(struct vm *vm, const struct boot_image *img, struct sbx_err *err);

/* The parsers, exposed for unit tests and fuzzing: buf is the whole kernel file. */
int boot_load_elf(struct guest_mem *gm, const uint8_t *buf, uint64_t len, struct boot_image *ret,
		  struct sbx_err *err);
int boot_load_bzimage(struct guest_mem *gm, const uint8_t *buf, uint64_t len,
		      struct boot_image *ret, struct sbx_err *err);
