/* The Intel MP table: how a guest without ACPI finds its CPUs, the IOAPIC and the ISA IRQ
 * wiring. */
#pragma once

struct sbx_err;
struct guest_mem;

/* Writes the floating pointer and configuration table at LAYOUT_MPTABLE. */
int mptable_write(struct guest_mem *gm, unsigned n_vcpus, struct sbx_err *err);
