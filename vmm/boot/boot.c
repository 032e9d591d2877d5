/* Boot orchestration: kernel, initrd (as high in low RAM as the protocol allows), command line,
 * the memory map both protocols share, the MP table, and vCPU 0's registers. */
#define _GNU_SOURCE
#include "vmm/boot/boot.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "vmm/boot/layout.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/x86/cpu.h"
#include "vmm/x86/mptable.h"

#include <asm/bootparam.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define E820_RAM 1
#define E820_RESERVED 2
#define PVH_MAGIC 0x336ec578u

struct e820 {
	uint64_t addr, size;
	uint32_t type;
};

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static unsigned build_e820(const struct guest_mem *gm, struct e820 *e)
{
	unsigned n = 0;
	e[n++] = (struct e820){0, LAYOUT_MPTABLE, E820_RAM};
	e[n++] = (struct e820){LAYOUT_MPTABLE, LAYOUT_LOWMEM_END - LAYOUT_MPTABLE, E820_RESERVED};
	e[n++] = (struct e820){0xf0000, 0x10000, E820_RESERVED};
	const struct gm_region *low = &gm->regions[0];
	e[n++] = (struct e820){LAYOUT_HIMEM, low->size - LAYOUT_HIMEM, E820_RAM};
	if (gm->nr_regions > 1)
		e[n++] = (struct e820){gm->regions[1].gpa, gm->regions[1].size, E820_RAM};
	return n;
}

/* Maps a whole file read-only; ret_len gets its size. */
static int map_file(const char *what, const char *path, uint8_t **ret, uint64_t *ret_len,
		    struct sbx_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "%s '%s'", what, path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sbx_fail(err, errno, "%s '%s'", what, path);
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return sbx_failx(err, EINVAL, "%s '%s' is empty or not a file", what, path);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return sbx_fail(err, errno, "map %s '%s'", what, path);
	*ret = p;
	*ret_len = (uint64_t)st.st_size;
	return 0;
}

static int load_initrd(struct guest_mem *gm, const char *path, const struct boot_image *img,
		       uint64_t *ret_addr, uint64_t *ret_size, struct sbx_err *err)
{
	uint8_t *buf;
	uint64_t len;
	int r = map_file("initrd", path, &buf, &len, err);
	if (r < 0)
		return r;
	uint64_t top = gm->regions[0].size;
	if (top > (uint64_t)img->initrd_addr_max + 1)
		top = (uint64_t)img->initrd_addr_max + 1;
	uint64_t bottom = (img->kernel_end + 0xfff) & ~0xfffull;
	if (len > top || ((top - len) & ~0xfffull) < bottom) {
		munmap(buf, len);
		return sbx_failx(err, ENOMEM, "initrd '%s' (%llu MiB) does not fit in guest memory",
				 path, (unsigned long long)(len >> 20) + 1);
	}
	uint64_t addr = (top - len) & ~0xfffull;
	r = gm_write(gm, addr, buf, len);
	munmap(buf, len);
	if (r < 0)
		return sbx_failx(err, EFAULT, "initrd placement at 0x%llx failed",
				 (unsigned long long)addr);
	*ret_addr = addr;
	*ret_size = len;
	return 0;
}

static int write_pvh_info(struct guest_mem *gm, const struct e820 *e, unsigned n,
			  uint64_t initrd_addr, uint64_t initrd_size, struct sbx_err *err)
{
	struct hvm_memmap_entry map[LAYOUT_MEMMAP_MAX];
	for (unsigned i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){e[i].addr, e[i].size, e[i].type, 0};
	struct hvm_modlist_entry mod = {.paddr = initrd_addr, .size = initrd_size};
	struct hvm_start_info si = {
	    .magic = PVH_MAGIC,
	    .version = 1,
	    .nr_modules = initrd_size ? 1 : 0,
	    .modlist_paddr = initrd_size ? LAYOUT_MODLIST : 0,
	    .cmdline_paddr = LAYOUT_CMDLINE,
	    .memmap_paddr = LAYOUT_MEMMAP,
	    .memmap_entries = n,
	};
	if (gm_write(gm, LAYOUT_MEMMAP, map, n * sizeof(map[0])) < 0 ||
	    gm_write(gm, LAYOUT_MODLIST, &mod, sizeof(mod)) < 0 ||
	    gm_write(gm, LAYOUT_START_INFO, &si, sizeof(si)) < 0)
		return sbx_failx(err, EFAULT, "no RAM for the PVH start info");
	return 0;
}

static int write_zero_page(struct guest_mem *gm, const uint8_t *kbuf, const struct e820 *e,
			   unsigned n, uint64_t initrd_addr, uint64_t initrd_size,
			   struct sbx_err *err)
{
	struct boot_params bp;
	memset(&bp, 0, sizeof(bp));
	/* The setup header as the file has it, up to its declared end. */
	size_t hdr_end = 0x202 + kbuf[0x201];
	size_t hdr_len = hdr_end - 0x1f1;
	if (hdr_len > sizeof(bp.hdr))
		hdr_len = sizeof(bp.hdr);
	memcpy(&bp.hdr, kbuf + 0x1f1, hdr_len);
	bp.hdr.type_of_loader = 0xff;
	bp.hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp.hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp.hdr.ramdisk_size = (uint32_t)initrd_size;
	bp.hdr.loadflags |= KEEP_SEGMENTS;
	for (unsigned i = 0; i < n && i < E820_MAX_ENTRIES_ZEROPAGE; i++) {
		bp.e820_table[i].addr = e[i].addr;
		bp.e820_table[i].size = e[i].size;
		bp.e820_table[i].type = e[i].type;
	}
	bp.e820_entries = (uint8_t)n;
	if (gm_write(gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp)) < 0)
		return sbx_failx(err, EFAULT, "no RAM for the zero page");
	return 0;
}

int boot_prepare(struct guest_mem *gm, unsigned n_vcpus, const struct boot_config *cfg,
		 struct boot_image *img, struct sbx_err *err)
{
	uint8_t *kbuf;
	uint64_t klen;
	int r = map_file("kernel", cfg->kernel_path, &kbuf, &klen, err);
	if (r < 0)
		return r;
	if (klen >= 4 && memcmp(kbuf, "\177ELF", 4) == 0)
		r = boot_load_elf(gm, kbuf, klen, img, err);
	else
		r = boot_load_bzimage(gm, kbuf, klen, img, err);
	if (r < 0)
		goto unmap;
	size_t clen = strlen(cfg->cmdline);
	if (clen + 1 > LAYOUT_CMDLINE_MAX || clen > img->cmdline_max) {
		r = sbx_failx(err, E2BIG, "kernel command line is %zu bytes; the limit is %u", clen,
			      img->cmdline_max);
		goto unmap;
	}
	if (gm_write(gm, LAYOUT_CMDLINE, cfg->cmdline, clen + 1) < 0) {
		r = sbx_failx(err, EFAULT, "no RAM for the command line");
		goto unmap;
	}
	uint64_t initrd_addr = 0, initrd_size = 0;
	if (cfg->initrd_path) {
		r = load_initrd(gm, cfg->initrd_path, img, &initrd_addr, &initrd_size, err);
		if (r < 0)
			goto unmap;
	}
	struct e820 e[8];
	unsigned n = build_e820(gm, e);
	r = mptable_write(gm, n_vcpus, err);
	if (r < 0)
		goto unmap;
	if (img->pvh)
		r = write_pvh_info(gm, e, n, initrd_addr, initrd_size, err);
	else
		r = write_zero_page(gm, kbuf, e, n, initrd_addr, initrd_size, err);
unmap:
	munmap(kbuf, klen);
	return r;
}

int boot_set_registers(struct vm *vm, const struct boot_image *img, struct sbx_err *err)
{
	if (img->pvh)
		return x86_setup_regs_pvh(vm->vcpus[0]->fd, img->entry, LAYOUT_START_INFO, err);
	return x86_setup_regs_long(vm->vcpus[0]->fd, &vm->mem, img->entry, LAYOUT_ZERO_PAGE, err);
}
