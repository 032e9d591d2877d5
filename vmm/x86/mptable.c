/* MP specification 1.4 structures: processors (APIC id = vCPU index), one ISA bus, one IOAPIC
 * whose id follows the last CPU, IRQ n -> IOAPIC pin n for the ISA range and the virtio slots,
 * ExtINT on LINT0 and NMI on LINT1. */
#include "vmm/x86/mptable.h"

#include "base/err.h"
#include "vmm/boot/layout.h"
#include "vmm/mem.h"

#include <string.h>

#define MP_IRQS 24 /* IOAPIC pins */

struct __attribute__((packed)) mpf {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t spec;
	uint8_t checksum;
	uint8_t feature[5];
};

struct __attribute__((packed)) mpc_header {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t count;
	uint32_t lapic;
	uint32_t reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type, busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)-s;
}

int mptable_write(struct guest_mem *gm, unsigned n_vcpus, struct sbx_err *err)
{
	uint8_t buf[1024];
	memset(buf, 0, sizeof(buf));
	struct mpf *f = (struct mpf *)buf;
	struct mpc_header *h = (struct mpc_header *)(buf + sizeof(*f));
	uint8_t *p = (uint8_t *)(h + 1);
	uint16_t count = 0;

	for (unsigned i = 0; i < n_vcpus; i++) {
		struct mpc_cpu c = {.type = 0,
				    .apicid = (uint8_t)i,
				    .apicver = 0x14,
				    .cpuflag = (uint8_t)(1 | (i == 0 ? 2 : 0)),
				    .cpufeature = 0x600,
				    .featureflag = 0x201};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
		count++;
	}
	struct mpc_bus bus = {.type = 1, .busid = 0, .bustype = {'I', 'S', 'A', ' ', ' ', ' '}};
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	count++;
	uint8_t ioapic_id = (uint8_t)n_vcpus;
	struct mpc_ioapic io = {.type = 2,
				.apicid = ioapic_id,
				.apicver = 0x11,
				.flags = 1,
				.apicaddr = (uint32_t)LAYOUT_IOAPIC_DEFAULT};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	count++;
	for (uint8_t irq = 0; irq < MP_IRQS; irq++) {
		struct mpc_intsrc s = {.type = 3,
				       .irqtype = 0,
				       .irqflag = 0,
				       .srcbus = 0,
				       .srcbusirq = irq,
				       .dstapic = ioapic_id,
				       .dstirq = irq};
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
		count++;
	}
	struct mpc_intsrc lint0 = {.type = 4, .irqtype = 3, .dstapic = 0xff, .dstirq = 0};
	struct mpc_intsrc lint1 = {.type = 4, .irqtype = 1, .dstapic = 0xff, .dstirq = 1};
	memcpy(p, &lint0, sizeof(lint0));
	p += sizeof(lint0);
	memcpy(p, &lint1, sizeof(lint1));
	p += sizeof(lint1);
	count += 2;

	memcpy(h->signature, "PCMP", 4);
	h->length = (uint16_t)(p - (uint8_t *)h);
	h->spec = 4;
	memcpy(h->oem, "SBX     ", 8);
	memcpy(h->product, "KATA-LITE   ", 12);
	h->count = count;
	h->lapic = (uint32_t)LAYOUT_APIC_DEFAULT;
	h->checksum = checksum((uint8_t *)h, h->length);

	memcpy(f->signature, "_MP_", 4);
	f->physptr = (uint32_t)(LAYOUT_MPTABLE + sizeof(*f));
	f->length = 1;
	f->spec = 4;
	f->checksum = checksum(buf, sizeof(*f));

	size_t total = (size_t)(p - buf);
	if (LAYOUT_MPTABLE + total > LAYOUT_LOWMEM_END)
		return sbx_failx(err, E2BIG, "MP table for %u vCPUs does not fit", n_vcpus);
	if (gm_write(gm, LAYOUT_MPTABLE, buf, total) < 0)
		return sbx_failx(err, EFAULT, "no RAM for the MP table");
	return 0;
}
