/* The monotonic clock in milliseconds and nanoseconds, a sleep, and a
 * deadline for pthread_cond_timedwait on a condition that uses this clock,
 * for code outside the state machine (which never reads a clock: its time
 * comes from the stream). */
#ifndef NODOWN_LIB_CLOCK_H
#define NODOWN_LIB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static inline uint64_t clock_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* The instant at_ms (of clock_now_ms) as a timespec. */
static inline struct timespec clock_timespec_ms(int64_t at_ms)
{
    struct timespec at = {(time_t)(at_ms / 1000), (long)(at_ms % 1000) * 1000000L};
    return at;
}

static inline void clock_sleep_ms(int64_t ms)
{
    struct timespec pause = clock_timespec_ms(ms);
    nanosleep(&pause, NULL);
}

#endif
