/* Where boot structures live in guest RAM. Everything below 1 MiB except the MP table area is
 * ordinary RAM to the guest once it has booted. */
#pragma once

#define LAYOUT_GDT 0x500ull
#define LAYOUT_START_INFO 0x6000ull /* PVH hvm_start_info */
#define LAYOUT_MODLIST 0x6040ull    /* PVH module list (the initrd) */
#define LAYOUT_MEMMAP 0x6100ull     /* PVH memory map, up to LAYOUT_MEMMAP_MAX entries */
#define LAYOUT_MEMMAP_MAX 32
#define LAYOUT_ZERO_PAGE 0x7000ull /* bzImage boot_params */
#define LAYOUT_PML4 0x9000ull
#define LAYOUT_PDPT 0xa000ull
#define LAYOUT_PD 0xb000ull /* four pages, 0xb000-0xefff */
#define LAYOUT_CMDLINE 0x20000ull
#define LAYOUT_CMDLINE_MAX 0x10000ull
#define LAYOUT_MPTABLE 0x9fc00ull /* the last KiB below 640 KiB, where Linux looks */
#define LAYOUT_LOWMEM_END 0xa0000ull
#define LAYOUT_HIMEM 0x100000ull
#define LAYOUT_APIC_DEFAULT 0xfee00000ull
#define LAYOUT_IOAPIC_DEFAULT 0xfec00000ull
/* Linux writes its reboot mode here before a reset: 0x1234 means warm (our panic marker). */
#define LAYOUT_REBOOT_FLAG 0x472ull
