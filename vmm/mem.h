/* Guest RAM: a memfd mapped MAP_SHARED, split around the 32-bit MMIO hole. The only code that
 * turns a guest physical address into a host pointer is here: gm_ptr() checks the whole
 * [gpa, gpa+len) range against one region, with overflow checks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_err;

#define GM_MAX_REGIONS 2
#define GM_MMIO_HOLE_START 0xc0000000ull /* 3 GiB: RAM below, devices above */
#define GM_MMIO_HOLE_END 0x100000000ull  /* 4 GiB: RAM continues here */

struct gm_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned nr_regions;
	uint64_t ram_size; /* total bytes of RAM */
	int memfd;         /* -1 for fake memory */
	uint8_t *mapping;  /* the whole memfd mapping; NULL for fake memory */
};

/* Creates RAM of `size` bytes (a multiple of 2 MiB), optionally on huge pages. */
int gm_create(struct guest_mem *gm, uint64_t size, bool hugepages, struct sbx_err *err);
void gm_destroy(struct guest_mem *gm);

/* For unit tests and fuzzers: one region at gpa 0 backed by caller-owned memory. */
void gm_init_fake(struct guest_mem *gm, void *buf, uint64_t size);

/* Host pointer for [gpa, gpa+len) when all of it lies in one RAM region, else NULL.
 * len 0 is treated as 1 so a bare address is still checked. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copies between guest and host; -EFAULT when the range is not RAM. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
