/* Number parsing for flags, config files and RPC strings. */
#include "base/parse.h"

#include "base/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret, struct sbx_err *err)
{
	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return sbx_failx(err, EINVAL, "'%s' is not a number", s ? s : "");
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return sbx_failx(err, ERANGE, "'%s' is too large", s);
	if (*end != '\0')
		return sbx_failx(err, EINVAL, "'%s' is not a number", s);
	if (v < min || v > max)
		return sbx_failx(err, ERANGE, "%s is out of range [%llu, %llu]", s,
				 (unsigned long long)min, (unsigned long long)max);
	*ret = v;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *ret, struct sbx_err *err)
{
	uint64_t v;
	int r = parse_u64(s, min, max, &v, err);
	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret, struct sbx_err *err)
{
	if (!s || !isdigit((unsigned char)*s))
		return sbx_failx(err, EINVAL, "'%s' is not a size", s ? s : "");
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return sbx_failx(err, ERANGE, "size '%s' is too large", s);
	unsigned shift = 0;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		shift = 10;
		end++;
		break;
	case 'm':
		shift = 20;
		end++;
		break;
	case 'g':
		shift = 30;
		end++;
		break;
	case 't':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if ((*end == 'b' || *end == 'B') && (shift || end[1] == '\0'))
		end++;
	if (*end != '\0')
		return sbx_failx(err, EINVAL, "'%s' is not a size (use e.g. 512m or 2g)", s);
	if (shift && v > (UINT64_MAX >> shift))
		return sbx_failx(err, ERANGE, "size '%s' is too large", s);
	*ret = (uint64_t)v << shift;
	return 0;
}
