/* The durability setting (see durability.h). */
#include "replica/durability.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"

/* The units a duration may take, largest first (durability_format picks
 * the first that divides it). */
static const struct {
    const char *name;
    uint32_t ms;
} durability_units[] = {{"m", 60000u}, {"s", 1000u}, {"ms", 1u}};

/* "N<unit>" into *ms; false unless it is a whole number of a known unit
 * within 1 ms .. DURABILITY_INTERVAL_MS_MAX. */
static bool duration_read(const char *text, uint32_t *ms)
{
    uint64_t value = 0;
    const char *c = text;
    for (; *c >= '0' && *c <= '9' && value <= DURABILITY_INTERVAL_MS_MAX; c++)
        value = value * 10u + (uint64_t)(*c - '0');
    if (c == text)
        return false;
    for (size_t i = 0; i < sizeof durability_units / sizeof durability_units[0]; i++) {
        if (strcmp(c, durability_units[i].name) != 0)
            continue;
        uint64_t total = value * durability_units[i].ms;
        if (total == 0 || total > DURABILITY_INTERVAL_MS_MAX)
            return false;
        *ms = (uint32_t)total;
        return true;
    }
    return false;
}

int durability_parse(const char *text, struct durability *out, char *errmsg,
                     size_t errmsg_size)
{
    assert(text != NULL && out != NULL);
    static const char prefix[] = "interval:";
    uint32_t ms = 0;
    if (strcmp(text, "always") == 0) {
        out->interval_ms = 0;
        return 0;
    }
    if (strncmp(text, prefix, sizeof prefix - 1) == 0 &&
        duration_read(text + sizeof prefix - 1, &ms)) {
        out->interval_ms = ms;
        assert(out->interval_ms >= 1 && out->interval_ms <= DURABILITY_INTERVAL_MS_MAX);
        return 0;
    }
    snprintf(errmsg, errmsg_size, "durability \"%.64s\": give always (each write synced "
             "before its acknowledgement) or interval:DURATION, a whole number of ms, s or m "
             "from 1ms to %um (100ms, 1s, 2m)", text, DURABILITY_INTERVAL_MS_MAX / 60000u);
    return ERR_USAGE;
}

/* "D" in the largest unit that divides interval_ms. */
static void duration_format(uint32_t interval_ms, char text[DURABILITY_TEXT_SIZE])
{
    assert(interval_ms >= 1 && interval_ms <= DURABILITY_INTERVAL_MS_MAX);
    size_t i = 0;
    while (interval_ms % durability_units[i].ms != 0)
        i++;
    snprintf(text, DURABILITY_TEXT_SIZE, "%u%s", interval_ms / durability_units[i].ms,
             durability_units[i].name);
}

/* "always", or the interval as prefix, then quote, duration, quote. */
static void durability_text(const struct durability *durability, const char *prefix,
                            const char *quote, char text[DURABILITY_TEXT_SIZE])
{
    assert(durability != NULL);
    char duration[DURABILITY_TEXT_SIZE];
    if (durability->interval_ms == 0) {
        snprintf(text, DURABILITY_TEXT_SIZE, "always");
        return;
    }
    duration_format(durability->interval_ms, duration);
    snprintf(text, DURABILITY_TEXT_SIZE, "%s%s%.20s%s", prefix, quote, duration, quote);
}

void durability_format(const struct durability *durability, char text[DURABILITY_TEXT_SIZE])
{
    durability_text(durability, "interval:", "", text);
}

void durability_sync_interval(const struct durability *durability,
                              char text[DURABILITY_TEXT_SIZE])
{
    durability_text(durability, "", "\"", text);
}
