/* Strict number and size parsing. */
#include "tap.h"
#include "base/err.h"
#include "base/parse.h"

TEST(parse_u64_accepts_decimal_and_hex)
{
	uint64_t v = 0;
	ASSERT_EQ(parse_u64("42", 0, 100, &v, NULL), 0);
	ASSERT_EQ(v, 42);
	ASSERT_EQ(parse_u64("0x10", 0, 100, &v, NULL), 0);
	ASSERT_EQ(v, 16);
}

TEST(parse_u64_rejects_junk_and_range)
{
	struct sbx_err err = {0};
	uint64_t v = 7;
	ASSERT_EQ(parse_u64("12abc", 0, 100, &v, &err), -EINVAL);
	ASSERT_EQ(parse_u64("", 0, 100, &v, &err), -EINVAL);
	ASSERT_EQ(parse_u64("-1", 0, 100, &v, &err), -EINVAL);
	ASSERT_EQ(parse_u64("101", 0, 100, &v, &err), -ERANGE);
	ASSERT_EQ(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v, &err), -ERANGE);
	ASSERT_EQ(v, 7);
}

TEST(parse_size_suffixes)
{
	uint64_t v = 0;
	ASSERT_EQ(parse_size("512m", &v, NULL), 0);
	ASSERT_U64_EQ(v, 512ull << 20);
	ASSERT_EQ(parse_size("2G", &v, NULL), 0);
	ASSERT_U64_EQ(v, 2ull << 30);
	ASSERT_EQ(parse_size("4kb", &v, NULL), 0);
	ASSERT_U64_EQ(v, 4096);
	ASSERT_EQ(parse_size("100", &v, NULL), 0);
	ASSERT_U64_EQ(v, 100);
	ASSERT_EQ(parse_size("1x", &v, NULL), -EINVAL);
	ASSERT_EQ(parse_size("m", &v, NULL), -EINVAL);
	ASSERT_EQ(parse_size("99999999999t", &v, NULL), -ERANGE);
}
