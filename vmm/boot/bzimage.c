/* bzImage through the 64-bit boot protocol (boot.rst): the protected-mode kernel at 1 MiB,
 * entered at +0x200 in long mode. The setup header is validated before anything is copied. */
#include "vmm/boot/boot.h"

#include "base/err.h"
#include "vmm/boot/layout.h"
#include "vmm/mem.h"

#include <asm/bootparam.h>
#include <string.h>

#define BZ_HEADER_MAGIC 0x53726448 /* "HdrS" */
#define BZ_MIN_VERSION 0x020c      /* 2.12: xloadflags and the 64-bit entry */

int boot_load_bzimage(struct guest_mem *gm, const uint8_t *buf, uint64_t len,
		      struct boot_image *ret, struct sbx_err *err)
{
	memset(ret, 0, sizeof(*ret));
	struct setup_header hdr;
	if (len < 0x1f1 + sizeof(hdr))
		return sbx_failx(err, ENOEXEC, "kernel: neither an ELF vmlinux nor a bzImage");
	memcpy(&hdr, buf + 0x1f1, sizeof(hdr));
	if (hdr.header != BZ_HEADER_MAGIC || hdr.boot_flag != 0xaa55)
		return sbx_failx(err, ENOEXEC, "kernel: neither an ELF vmlinux nor a bzImage");
	if (hdr.version < BZ_MIN_VERSION || !(hdr.xloadflags & XLF_KERNEL_64))
		return sbx_failx(err, ENOEXEC,
				 "kernel: bzImage boot protocol %x.%02x has no 64-bit entry",
				 hdr.version >> 8, hdr.version & 0xff);
	uint64_t setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
	uint64_t pm_off = (setup_sects + 1) * 512;
	if (pm_off >= len)
		return sbx_failx(err, ENOEXEC, "kernel: truncated bzImage");
	uint64_t pm_len = len - pm_off;
	/* The kernel decompresses itself in place: it needs init_size bytes from the load address.
	 */
	uint64_t need = pm_len > hdr.init_size ? pm_len : hdr.init_size;
	uint8_t *dst = gm_ptr(gm, LAYOUT_HIMEM, need);
	if (!dst)
		return sbx_failx(err, ENOMEM,
				 "memory is too small for the kernel (it needs %llu MiB)",
				 (unsigned long long)((LAYOUT_HIMEM + need) >> 20) + 1);
	memcpy(dst, buf + pm_off, pm_len);
	ret->pvh = false;
	ret->entry = LAYOUT_HIMEM + 0x200;
	ret->kernel_end = LAYOUT_HIMEM + need;
	ret->bz_version = hdr.version;
	ret->initrd_addr_max = hdr.initrd_addr_max;
	ret->cmdline_max = hdr.cmdline_size ? hdr.cmdline_size : 255;
	return 0;
}
