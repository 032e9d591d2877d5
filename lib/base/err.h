/* One error pattern for the whole project: functions return >= 0 or -errno, and fill a
 * struct sbx_err with a one-line message when a person must read the failure. */
#pragma once

#include <errno.h>
#include <stddef.h>

#define SBX_ERR_MAX 512

struct sbx_err {
	int code;              /* positive errno of the first failure */
	char msg[SBX_ERR_MAX]; /* one line, no trailing newline */
};

/* Fills err (may be NULL) with "<fmt>: strerror(errnum)" and returns -errnum.
 * errnum 0 means "no errno to show" and returns -EINVAL. */
int sbx_fail(struct sbx_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like sbx_fail but without the strerror() suffix: for input that is wrong, not a syscall. */
int sbx_failx(struct sbx_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<fmt>: " to the message already in err and returns -err->code. */
int sbx_wrap(struct sbx_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err so it can be reused. */
void sbx_err_clear(struct sbx_err *err);
