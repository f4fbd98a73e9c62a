/* The monotonic clock in milliseconds, and a sleep, for code outside the
 * state machine (which never reads a clock: its time comes from the
 * stream). */
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

static inline void clock_sleep_ms(int64_t ms)
{
    struct timespec pause = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

#endif
