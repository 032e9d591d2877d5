/* The error helper: message format, wrapping, NULL tolerance. */
#include "tap.h"
#include "base/err.h"

TEST(fail_formats_strerror)
{
	struct sbx_err err = {0};
	ASSERT_EQ(sbx_fail(&err, ENOENT, "open disk '%s'", "/x"), -ENOENT);
	ASSERT_STR_EQ(err.msg, "open disk '/x': No such file or directory");
	ASSERT_EQ(err.code, ENOENT);
}

TEST(wrap_prepends_context)
{
	struct sbx_err err = {0};
	sbx_failx(&err, EINVAL, "bad size");
	ASSERT_EQ(sbx_wrap(&err, "slot %u", 3u), -EINVAL);
	ASSERT_STR_EQ(err.msg, "slot 3: bad size");
}

TEST(null_err_is_fine)
{
	ASSERT_EQ(sbx_fail(NULL, EIO, "x"), -EIO);
	ASSERT_EQ(sbx_failx(NULL, 0, "x"), -EINVAL);
}
