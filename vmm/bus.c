/* Range lookup for port I/O and MMIO exits. Registration happens before vCPUs run, so lookups
 * need no lock. */
#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	for (unsigned i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->ranges[i];
		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	if (bus->n == BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->n++] = (struct bus_range){base, len, fn, opaque};
	return 0;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t size, bool is_write)
{
	if (size == 0 || size > 8 || (size & (size - 1))) {
		if (!is_write)
			memset(data, 0xff, size > 8 ? 8 : size);
		return false;
	}
	for (unsigned i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->ranges[i];
		if (addr < r->base)
			continue;
		uint64_t off = addr - r->base;
		if (off < r->len && size <= r->len - off) {
			r->fn(r->opaque, off, data, size, is_write);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}
