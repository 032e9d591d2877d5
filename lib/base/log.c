/* logfmt lines written with one write() each so concurrent threads do not interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_comp[32] = "sbx";
static char log_sandbox[72];
static enum log_level log_min = LOG_LEVEL_INFO;
static int log_fd = 2;
static __thread char log_thread[24] = "main";

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *comp, const char *sandbox, enum log_level min_level, int fd)
{
	snprintf(log_comp, sizeof(log_comp), "%s", comp ? comp : "sbx");
	snprintf(log_sandbox, sizeof(log_sandbox), "%s", sandbox ? sandbox : "");
	log_min = min_level;
	log_fd = fd;
}

void log_set_thread(const char *name)
{
	snprintf(log_thread, sizeof(log_thread), "%s", name);
}

/* Quotes msg for logfmt: backslash and double quote escaped, control bytes dropped. */
static size_t quote_into(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (; *src && n + 2 < cap; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c >= 0x20) {
			dst[n++] = (char)c;
		}
	}
	dst[n] = '\0';
	return n;
}

void log_emit(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	if (level < log_min)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	char quoted[2048];
	quote_into(quoted, sizeof(quoted), msg);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);

	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;

	char out[2560];
	int n = snprintf(out, sizeof(out),
			 "time=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=%s comp=%s%s%s thread=%s "
			 "msg=\"%s\" src=%s:%d\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000, level_names[level], log_comp,
			 log_sandbox[0] ? " sandbox=" : "", log_sandbox, log_thread, quoted, base,
			 line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	ssize_t w = write(log_fd, out, (size_t)n);
	(void)w;
}

int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst, uint32_t interval_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (rl->last_ms == 0) {
		rl->last_ms = now;
		rl->tokens = burst;
	}
	uint64_t refill = (now - rl->last_ms) / interval_ms;
	if (refill > 0) {
		uint64_t t = rl->tokens + refill;
		rl->tokens = t > burst ? burst : (uint32_t)t;
		rl->last_ms = now;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return 0;
	}
	rl->tokens--;
	return 1;
}
