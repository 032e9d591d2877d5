/* gm_ptr is the only guest-address check: edges, overflow, the MMIO hole. */
#include "tap.h"
#include "base/err.h"
#include "vmm/mem.h"

#include <stdlib.h>

TEST(fake_memory_bounds)
{
	static uint8_t buf[4096];
	struct guest_mem gm;
	gm_init_fake(&gm, buf, sizeof(buf));
	ASSERT_TRUE(gm_ptr(&gm, 0, 4096) == buf);
	ASSERT_TRUE(gm_ptr(&gm, 4095, 1) == buf + 4095);
	ASSERT_NULL(gm_ptr(&gm, 4095, 2));
	ASSERT_NULL(gm_ptr(&gm, 4096, 1));
	ASSERT_NULL(gm_ptr(&gm, 1, UINT64_MAX));
	ASSERT_NULL(gm_ptr(&gm, UINT64_MAX, 2));
	ASSERT_TRUE(gm_ptr(&gm, 0, 0) == buf);
}

TEST(read_write_refuse_outside)
{
	static uint8_t buf[64];
	struct guest_mem gm;
	gm_init_fake(&gm, buf, sizeof(buf));
	uint32_t v = 0x11223344;
	ASSERT_EQ(gm_write(&gm, 60, &v, 4), 0);
	ASSERT_EQ(gm_read(&gm, 60, &v, 4), 0);
	ASSERT_EQ(v, 0x11223344);
	ASSERT_EQ(gm_write(&gm, 61, &v, 4), -EFAULT);
}

TEST(large_ram_splits_around_hole)
{
	struct guest_mem gm;
	struct sbx_err err = {0};
	ASSERT_EQ(gm_create(&gm, 4ull << 30, false, &err), 0);
	ASSERT_EQ(gm.nr_regions, 2);
	ASSERT_U64_EQ(gm.regions[1].gpa, GM_MMIO_HOLE_END);
	ASSERT_U64_EQ(gm.regions[0].size + gm.regions[1].size, 4ull << 30);
	ASSERT_NULL(gm_ptr(&gm, GM_MMIO_HOLE_START, 1));
	ASSERT_NULL(gm_ptr(&gm, GM_MMIO_HOLE_START - 1, 2));
	ASSERT_NOT_NULL(gm_ptr(&gm, GM_MMIO_HOLE_END, 4096));
	gm_destroy(&gm);
}

TEST(bad_sizes_rejected)
{
	struct guest_mem gm;
	struct sbx_err err = {0};
	ASSERT_EQ(gm_create(&gm, 12345, false, &err), -EINVAL);
	ASSERT_EQ(gm_create(&gm, 0, false, &err), -EINVAL);
}
