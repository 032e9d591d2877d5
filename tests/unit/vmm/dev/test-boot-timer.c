/* The boot-timer keeps the first time each milestone id is written, in order, relative to the
 * VMM's start, and stops recording (without overflowing) once it is full. */
#include "tap.h"
#include "vmm/dev/boot-timer.h"

TEST(first_write_of_each_id_is_kept_in_order)
{
	struct boot_timer bt = {.start_ns = 1000};
	boot_timer_record(&bt, 1, 5000);
	boot_timer_record(&bt, 2, 9000);
	boot_timer_record(&bt, 1, 12000); /* a repeat does not move milestone 1 */
	struct boot_milestone got[4];
	ASSERT_EQ(boot_timer_snapshot(&bt, got, 4), 2u);
	ASSERT_EQ(got[0].id, 1);
	ASSERT_EQ(got[0].ns_since_start, 4000u);
	ASSERT_EQ(got[1].id, 2);
	ASSERT_EQ(got[1].ns_since_start, 8000u);
}

TEST(a_full_timer_ignores_new_ids_and_a_short_snapshot_is_cut)
{
	struct boot_timer bt = {.start_ns = 0};
	for (unsigned id = 0; id < 200; id++)
		boot_timer_record(&bt, (uint8_t)id, id + 1);
	struct boot_milestone got[BOOT_TIMER_MAX_MILESTONES];
	ASSERT_EQ(boot_timer_snapshot(&bt, got, BOOT_TIMER_MAX_MILESTONES),
		  (unsigned)BOOT_TIMER_MAX_MILESTONES);
	ASSERT_EQ(got[BOOT_TIMER_MAX_MILESTONES - 1].id, BOOT_TIMER_MAX_MILESTONES - 1);
	ASSERT_EQ(boot_timer_snapshot(&bt, got, 3), 3u);
}

TEST(a_clock_before_the_start_counts_as_zero)
{
	struct boot_timer bt = {.start_ns = 5000};
	boot_timer_record(&bt, 7, 10);
	struct boot_milestone got[1];
	ASSERT_EQ(boot_timer_snapshot(&bt, got, 1), 1u);
	ASSERT_EQ(got[0].ns_since_start, 0u);
}
