/* logfmt logging, one line per event, like containerd's shims:
 * time=.. level=warn comp=vmm sandbox=4f2a thread=vcpu1 msg=".." src=queue.c:212 */
#pragma once

#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* Process-wide settings; comp and sandbox are copied. fd defaults to 2. */
void log_init(const char *comp, const char *sandbox, enum log_level min_level, int fd);
/* Per-thread name shown as thread=; copied. */
void log_set_thread(const char *name);

void log_emit(enum log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A token bucket so a guest cannot flood the host log: at most `burst` lines, refilled by one
 * every `interval_ms`. Returns 1 when a line may be written. */
struct log_ratelimit {
	uint64_t last_ms;
	uint32_t tokens;
	uint32_t suppressed;
};
int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst, uint32_t interval_ms);

#define log_debug(...) log_emit(LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_LEVEL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_emit(LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)

/* For anything a guest can trigger: 10 lines, then one per second. */
#define log_ratelimited(rl, level, ...)                                                            \
	do {                                                                                       \
		if (log_ratelimit_ok((rl), 10, 1000))                                              \
			log_emit((level), __FILE__, __LINE__, __VA_ARGS__);                        \
	} while (0)
