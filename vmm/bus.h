/* Port-I/O and MMIO dispatch by address range. The bus checks that [addr, addr+size) lies inside
 * one registered range (no overflow) before a device sees it; devices get an offset and a size
 * of 1, 2, 4 or 8. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES 48

/* data holds size bytes: filled by the device on reads, given to it on writes. */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t size,
			  bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn fn;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	unsigned n;
};

/* -EINVAL for an empty or wrapping range, -EEXIST for an overlap, -ENOSPC when full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque);

/* Returns false when no device claims the access; reads are then filled with 0xff. */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t size, bool is_write);
