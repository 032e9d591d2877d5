/* ELF vmlinux: PT_LOAD segments copied to their physical addresses, the entry taken from the
 * XEN_ELFNOTE_PHYS32_ENTRY note that CONFIG_PVH adds. Every offset and size from the file is
 * checked against the file and against guest RAM. */
#include "vmm/boot/boot.h"

#include "base/err.h"
#include "vmm/mem.h"

#include <elf.h>
#include <string.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18

static bool in_file(uint64_t off, uint64_t size, uint64_t len)
{
	return off <= len && size <= len - off;
}

static int find_pvh_entry(const uint8_t *buf, uint64_t len, const Elf64_Phdr *ph, uint64_t *entry)
{
	if (!in_file(ph->p_offset, ph->p_filesz, len))
		return -EINVAL;
	uint64_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;
	while (off + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr n;
		memcpy(&n, buf + off, sizeof(n));
		uint64_t name_off = off + sizeof(n);
		uint64_t desc_off = name_off + (((uint64_t)n.n_namesz + 3) & ~3ull);
		uint64_t next = desc_off + (((uint64_t)n.n_descsz + 3) & ~3ull);
		if (next > end || desc_off > end)
			return -EINVAL;
		if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
		    memcmp(buf + name_off, "Xen", 4) == 0 && n.n_descsz >= 4) {
			uint32_t e;
			memcpy(&e, buf + desc_off, 4);
			*entry = e;
			return 0;
		}
		off = next;
	}
	return -ENOENT;
}

int boot_load_elf(struct guest_mem *gm, const uint8_t *buf, uint64_t len, struct boot_image *ret,
		  struct sbx_err *err)
{
	memset(ret, 0, sizeof(*ret));
	Elf64_Ehdr eh;
	if (len < sizeof(eh))
		return sbx_failx(err, ENOEXEC, "kernel: truncated ELF header");
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64)
		return sbx_failx(err, ENOEXEC, "kernel: not an x86-64 ELF");
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
	    !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len))
		return sbx_failx(err, ENOEXEC, "kernel: corrupt ELF program headers");
	bool have_entry = false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE && !have_entry) {
			int r = find_pvh_entry(buf, len, &ph, &ret->entry);
			if (r == -EINVAL)
				return sbx_failx(err, ENOEXEC, "kernel: corrupt ELF note");
			have_entry = r == 0;
			continue;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, len) || ph.p_filesz > ph.p_memsz)
			return sbx_failx(err, ENOEXEC, "kernel: corrupt ELF segment %u", i);
		uint8_t *dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return sbx_failx(err, ENOMEM,
					 "memory is too small for the kernel (it needs %llu MiB)",
					 (unsigned long long)((ph.p_paddr + ph.p_memsz) >> 20) + 1);
		/* The BSS needs no memset: guest RAM is a fresh memfd, already zero, and touching
		 * it would only fault in pages the guest may never use. */
		memcpy(dst, buf + ph.p_offset, ph.p_filesz);
		if (ph.p_paddr + ph.p_memsz > ret->kernel_end)
			ret->kernel_end = ph.p_paddr + ph.p_memsz;
	}
	if (!have_entry)
		return sbx_failx(
		    err, ENOEXEC,
		    "kernel: vmlinux has no PVH entry note (build it with CONFIG_PVH=y)");
	if (ret->kernel_end == 0)
		return sbx_failx(err, ENOEXEC, "kernel: no loadable segments");
	ret->pvh = true;
	ret->initrd_addr_max = 0xffffffff;
	ret->cmdline_max = 0xffff;
	return 0;
}
