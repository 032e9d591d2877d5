/* A tiny TAP test harness: TEST(name) { ... } registers a test; ASSERT_*() prints both values
 * and ends the test on failure. main() comes from tap.c. Exit 77 from a test file means skip. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
	struct tap_test *next;
};

void tap_register(struct tap_test *t);
/* Marks the running test failed; used by the ASSERT macros. */
void tap_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A fresh directory under /tmp, removed with everything in it when the test binary exits. */
const char *tap_tmpdir(void);
/* Marks the running test skipped with a reason. */
void tap_skip(const char *why);

#define TEST(tname)                                                                                \
	static void test_##tname(void);                                                            \
	static struct tap_test tap_entry_##tname = {#tname, test_##tname, NULL};                   \
	__attribute__((constructor)) static void tap_reg_##tname(void)                             \
	{                                                                                          \
		tap_register(&tap_entry_##tname);                                                  \
	}                                                                                          \
	static void test_##tname(void)

#define ASSERT_TRUE(c)                                                                             \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			tap_fail(__FILE__, __LINE__, "expected true: %s", #c);                     \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_INT_OP(a, op, b)                                                                    \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (!(_a op _b)) {                                                                 \
			tap_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, _a,    \
				 _b);                                                              \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)

#define ASSERT_U64_EQ(a, b)                                                                        \
	do {                                                                                       \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);                                   \
		if (_a != _b) {                                                                    \
			tap_fail(__FILE__, __LINE__, "%s == %s: 0x%" PRIx64 " vs 0x%" PRIx64, #a,  \
				 #b, _a, _b);                                                      \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			tap_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,         \
				 _a ? _a : "(null)", _b ? _b : "(null)");                          \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)
