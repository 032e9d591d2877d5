/* Clock readings as one 64-bit nanosecond count, for deadlines and boot-time stamps. */
#pragma once

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The absolute time ms from now on clock, for pthread_cond_timedwait (whose condition variable
 * must use the same clock). */
static inline struct timespec clock_deadline(clockid_t clock, int64_t ms)
{
	uint64_t at = clock_ns(clock) + (uint64_t)ms * 1000000ull;
	return (struct timespec){.tv_sec = (time_t)(at / 1000000000ull),
				 .tv_nsec = (long)(at % 1000000000ull)};
}
