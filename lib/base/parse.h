/* Strict number and size parsing: no atoi(), the whole string must be used, ranges checked. */
#pragma once

#include <stdint.h>

struct sbx_err;

/* Decimal (or 0x hex) unsigned integer in [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret, struct sbx_err *err);
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret, struct sbx_err *err);

/* A size with an optional suffix k, m, g (binary, case-insensitive, optional trailing b/B),
 * e.g. "512m", "1G", "4096". */
int parse_size(const char *s, uint64_t *ret, struct sbx_err *err);
