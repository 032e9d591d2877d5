/* The virtqueue walker against fake RAM: good chains, and every malformed shape rejected. */
#include "tap.h"
#include "../fake-vq.h"

#include <errno.h>

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

static struct vq_chain qt_chain;

TEST(a_chain_of_readable_then_writable_buffers)
{
	struct fvq f;
	fvq_init(&f, 8);
	ASSERT_EQ(vq_validate(&f.q, &f.gm), 0);
	fvq_desc(&f, 0, FVQ_DATA, 16, F_NEXT, 1);
	fvq_desc(&f, 1, FVQ_DATA + 0x100, 512, F_NEXT | F_WRITE, 2);
	fvq_desc(&f, 2, FVQ_DATA + 0x400, 1, F_WRITE, 0);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), 1);
	ASSERT_EQ(qt_chain.n_out, 1);
	ASSERT_EQ(qt_chain.n_in, 2);
	ASSERT_EQ(qt_chain.out_len, 16);
	ASSERT_EQ(qt_chain.in_len, 513);
	ASSERT_TRUE(qt_chain.out[0].iov_base == f.ram + FVQ_DATA);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), 0);
	ASSERT_EQ(vq_push(&f.q, &f.gm, qt_chain.head, 513), 0);
	ASSERT_EQ(fvq_used_idx(&f), 1);
	fvq_free(&f);
}

TEST(bad_queue_setup_is_refused)
{
	struct fvq f;
	fvq_init(&f, 6); /* not a power of two */
	ASSERT_EQ(vq_validate(&f.q, &f.gm), -EINVAL);
	f.q.num = 8;
	f.q.desc = FVQ_DESC + 8; /* misaligned */
	ASSERT_EQ(vq_validate(&f.q, &f.gm), -EINVAL);
	f.q.desc = FVQ_RAM - 16; /* runs past RAM */
	ASSERT_EQ(vq_validate(&f.q, &f.gm), -EINVAL);
	f.q.desc = FVQ_DESC;
	f.q.used = UINT64_MAX - 3;
	ASSERT_EQ(vq_validate(&f.q, &f.gm), -EINVAL);
	fvq_free(&f);
}

TEST(buffer_outside_ram)
{
	struct fvq f;
	fvq_init(&f, 8);
	fvq_desc(&f, 0, FVQ_RAM - 8, 16, 0, 0);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(address_plus_length_overflow)
{
	struct fvq f;
	fvq_init(&f, 8);
	fvq_desc(&f, 0, UINT64_MAX - 4, 0xffff, 0, 0);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(descriptor_loop_ends)
{
	struct fvq f;
	fvq_init(&f, 8);
	fvq_desc(&f, 0, FVQ_DATA, 4, F_NEXT, 1);
	fvq_desc(&f, 1, FVQ_DATA, 4, F_NEXT, 0);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(next_index_out_of_range)
{
	struct fvq f;
	fvq_init(&f, 8);
	fvq_desc(&f, 0, FVQ_DATA, 4, F_NEXT, 200);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(head_out_of_range)
{
	struct fvq f;
	fvq_init(&f, 8);
	fvq_publish(&f, 9);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(avail_index_too_far_ahead)
{
	struct fvq f;
	fvq_init(&f, 8);
	fvq_desc(&f, 0, FVQ_DATA, 4, 0, 0);
	fvq_set_avail_idx(&f, 9);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(readable_after_writable)
{
	struct fvq f;
	fvq_init(&f, 8);
	fvq_desc(&f, 0, FVQ_DATA, 4, F_NEXT | F_WRITE, 1);
	fvq_desc(&f, 1, FVQ_DATA, 4, 0, 0);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(indirect_rules)
{
	struct fvq f;
	fvq_init(&f, 8);
	/* An indirect table of two descriptors at FVQ_DATA. */
	uint8_t *t = f.ram + FVQ_DATA;
	uint64_t a0 = FVQ_DATA + 0x1000, a1 = FVQ_DATA + 0x2000;
	uint32_t l = 64;
	uint16_t fl0 = F_NEXT, fl1 = F_WRITE, n1 = 1;
	memcpy(t, &a0, 8), memcpy(t + 8, &l, 4), memcpy(t + 12, &fl0, 2), memcpy(t + 14, &n1, 2);
	memcpy(t + 16, &a1, 8), memcpy(t + 24, &l, 4), memcpy(t + 28, &fl1, 2);
	fvq_desc(&f, 0, FVQ_DATA, 32, F_INDIRECT, 0);
	fvq_publish(&f, 0);
	/* Not negotiated: refused. */
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	f.q.indirect = true;
	f.q.last_avail = 0;
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), 1);
	ASSERT_EQ(qt_chain.n_out, 1);
	ASSERT_EQ(qt_chain.n_in, 1);
	/* Nested indirect: refused. */
	uint16_t nested = F_INDIRECT;
	memcpy(t + 12, &nested, 2);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), -EINVAL);
	fvq_free(&f);
}

TEST(event_idx_suppresses_interrupts)
{
	struct fvq f;
	fvq_init(&f, 8);
	f.q.event_idx = true;
	/* used_event (avail->ring[num]) = 0: interrupt when used idx passes 0. */
	fvq_desc(&f, 0, FVQ_DATA, 4, 0, 0);
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), 1);
	ASSERT_EQ(vq_push(&f.q, &f.gm, 0, 0), 0);
	ASSERT_TRUE(vq_should_notify(&f.q, &f.gm));
	fvq_publish(&f, 0);
	ASSERT_EQ(vq_pop(&f.q, &f.gm, &qt_chain), 1);
	ASSERT_EQ(vq_push(&f.q, &f.gm, 0, 0), 0);
	/* used_event still 0, used idx went 1 -> 2: no interrupt wanted. */
	ASSERT_TRUE(!vq_should_notify(&f.q, &f.gm));
	fvq_free(&f);
}
