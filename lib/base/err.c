/* The one error helper: fixed buffer, no heap, never logs. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fill(struct sbx_err *err, int errnum, int with_strerror, const char *fmt, va_list ap)
{
	if (errnum < 0)
		errnum = -errnum;
	if (errnum == 0)
		errnum = EINVAL;
	if (!err)
		return -errnum;
	err->code = errnum;
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (with_strerror && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
	return -errnum;
}

int sbx_fail(struct sbx_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = fill(err, errnum, 1, fmt, ap);
	va_end(ap);
	return r;
}

int sbx_failx(struct sbx_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = fill(err, errnum, 0, fmt, ap);
	va_end(ap);
	return r;
}

int sbx_wrap(struct sbx_err *err, const char *fmt, ...)
{
	if (!err)
		return -EINVAL;
	if (err->code == 0)
		err->code = EINVAL;
	char prefix[SBX_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	char old[SBX_ERR_MAX];
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* Truncation is fine: the message stays one bounded line. */
	size_t n = strnlen(prefix, sizeof(err->msg) - 1);
	memcpy(err->msg, prefix, n);
	for (const char *p = ": "; *p && n < sizeof(err->msg) - 1; p++)
		err->msg[n++] = *p;
	size_t rest = strnlen(old, sizeof(old));
	if (rest > sizeof(err->msg) - 1 - n)
		rest = sizeof(err->msg) - 1 - n;
	memcpy(err->msg + n, old, rest);
	err->msg[n + rest] = '\0';
	return -err->code;
}

void sbx_err_clear(struct sbx_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
