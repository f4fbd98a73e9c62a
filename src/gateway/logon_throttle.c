/* The logon throttle's tables and delays (see logon_throttle.h). */
#include "gateway/logon_throttle.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "lib/hash.h"

static const char *const failure_texts[LOGON_FAILURE_COUNT] = {
#define LOGON_FAILURE_TEXT(name, metric, text) [name] = text,
    LOGON_FAILURES(LOGON_FAILURE_TEXT)
#undef LOGON_FAILURE_TEXT
};

const char *logon_failure_text(enum logon_failure failure)
{
    assert(failure < LOGON_FAILURE_COUNT);
    return failure_texts[failure];
}

void logon_throttle_init(struct logon_throttle *throttle)
{
    memset(throttle, 0, sizeof *throttle);
}

/* The entry of key in table, found or made: a new key takes its set's
 * free entry or, with none free, the one touched longest ago. A count
 * whose latest failure is older than LOGON_THROTTLE_FORGET_MS starts
 * again. */
static struct logon_throttle_entry *entry_get(struct logon_throttle_entry *table, uint64_t key,
                                              int64_t now_ms)
{
    uint32_t sets = LOGON_THROTTLE_ENTRIES / LOGON_THROTTLE_WAYS;
    struct logon_throttle_entry *set =
        &table[(hash_mix64(key) % sets) * LOGON_THROTTLE_WAYS];
    struct logon_throttle_entry *entry = NULL;
    for (uint32_t i = 0; i < LOGON_THROTTLE_WAYS && entry == NULL; i++) {
        if (set[i].used && set[i].key == key)
            entry = &set[i];
    }
    if (entry == NULL) {
        entry = &set[0];
        for (uint32_t i = 1; i < LOGON_THROTTLE_WAYS && entry->used; i++) {
            if (!set[i].used || set[i].touched_ms < entry->touched_ms)
                entry = &set[i];
        }
        memset(entry, 0, sizeof *entry);
        entry->used = true;
        entry->key = key;
    }
    if (entry->failures > 0 && now_ms - entry->failed_ms > LOGON_THROTTLE_FORGET_MS) {
        entry->failures = 0;
        entry->next_ms = 0;
    }
    entry->touched_ms = now_ms;
    assert(entry->used && entry->key == key);
    return entry;
}

static uint64_t pair_key(uint32_t source, uint32_t account)
{
    return (uint64_t)source << 32 | account;
}

static int64_t delay_ms(uint32_t failures, uint32_t free, int64_t base_ms, int64_t max_ms)
{
    if (failures < free)
        return 0;
    uint32_t doublings = failures - free;
    if (doublings >= 20)
        return max_ms;
    int64_t delay = base_ms << doublings;
    return delay < max_ms ? delay : max_ms;
}

static int64_t source_delay_ms(const struct logon_throttle_entry *entry)
{
    return delay_ms(entry->failures, LOGON_THROTTLE_SOURCE_FREE, LOGON_THROTTLE_SOURCE_BASE_MS,
                    LOGON_THROTTLE_SOURCE_MAX_MS);
}

static int64_t pair_delay_ms(const struct logon_throttle_entry *entry)
{
    return delay_ms(entry->failures, LOGON_THROTTLE_ACCOUNT_FREE, LOGON_THROTTLE_ACCOUNT_BASE_MS,
                    LOGON_THROTTLE_ACCOUNT_MAX_MS);
}

static int64_t later(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* A failure to log; the first in LOGON_THROTTLE_REPORT_MS is due at once. */
static void unlogged_add(struct logon_throttle *throttle, struct logon_throttle_entry *entry,
                         enum logon_failure failure, int64_t now_ms)
{
    entry->unlogged[failure]++;
    if (now_ms - entry->reported_ms >= LOGON_THROTTLE_REPORT_MS)
        throttle->reports_due++;
}

int64_t logon_throttle_admit(struct logon_throttle *throttle, uint32_t source,
                             uint32_t account, int64_t now_ms)
{
    const struct logon_throttle_entry *by_source = entry_get(throttle->sources, source, now_ms);
    const struct logon_throttle_entry *by_pair =
        entry_get(throttle->pairs, pair_key(source, account), now_ms);
    int64_t at_ms = later(now_ms, later(by_source->next_ms, by_pair->next_ms));
    assert(at_ms >= now_ms);
    return at_ms;
}

void logon_throttle_reserve(struct logon_throttle *throttle, uint32_t source,
                            uint32_t account, int64_t at_ms)
{
    struct logon_throttle_entry *by_source = entry_get(throttle->sources, source, at_ms);
    struct logon_throttle_entry *by_pair =
        entry_get(throttle->pairs, pair_key(source, account), at_ms);
    by_source->next_ms = later(by_source->next_ms, at_ms + source_delay_ms(by_source));
    by_pair->next_ms = later(by_pair->next_ms, at_ms + pair_delay_ms(by_pair));
}

int64_t logon_throttle_failed(struct logon_throttle *throttle, uint32_t source,
                              uint32_t account, enum logon_failure failure, int64_t now_ms)
{
    assert(failure < LOGON_FAILURE_COUNT);
    struct logon_throttle_entry *by_source = entry_get(throttle->sources, source, now_ms);
    struct logon_throttle_entry *by_pair =
        entry_get(throttle->pairs, pair_key(source, account), now_ms);
    struct logon_throttle_entry *entries[2] = {by_source, by_pair};
    for (uint32_t i = 0; i < 2; i++) {
        if (entries[i]->failures < UINT32_MAX)
            entries[i]->failures++;
        entries[i]->failed_ms = now_ms;
    }
    unlogged_add(throttle, by_source, failure, now_ms);
    int64_t source_ms = source_delay_ms(by_source);
    int64_t pair_ms = pair_delay_ms(by_pair);
    by_source->next_ms = later(by_source->next_ms, now_ms + source_ms);
    by_pair->next_ms = later(by_pair->next_ms, now_ms + pair_ms);
    return now_ms + later(source_ms, pair_ms);
}

void logon_throttle_refused(struct logon_throttle *throttle, uint32_t source,
                            enum logon_failure failure, int64_t now_ms)
{
    assert(failure < LOGON_FAILURE_COUNT);
    unlogged_add(throttle, entry_get(throttle->sources, source, now_ms), failure, now_ms);
}

void logon_throttle_succeeded(struct logon_throttle *throttle, uint32_t source,
                              uint32_t account, int64_t now_ms)
{
    struct logon_throttle_entry *by_pair =
        entry_get(throttle->pairs, pair_key(source, account), now_ms);
    by_pair->failures = 0;
    by_pair->next_ms = 0;
    assert(pair_delay_ms(by_pair) == 0);
}

uint32_t logon_throttle_report(struct logon_throttle *throttle, int64_t now_ms,
                               logon_throttle_report_cb *cb, void *context)
{
    if (throttle->reports_due == 0 && now_ms - throttle->scanned_ms < LOGON_THROTTLE_REPORT_MS)
        return 0;
    throttle->scanned_ms = now_ms;
    throttle->reports_due = 0;
    uint32_t reported = 0;
    for (uint32_t i = 0; i < LOGON_THROTTLE_ENTRIES; i++) {
        struct logon_throttle_entry *entry = &throttle->sources[i];
        uint32_t total = 0;
        for (uint32_t reason = 0; reason < LOGON_FAILURE_COUNT; reason++)
            total += entry->unlogged[reason];
        if (!entry->used || total == 0 || now_ms - entry->reported_ms < LOGON_THROTTLE_REPORT_MS)
            continue;
        cb(context, (uint32_t)entry->key, entry->unlogged);
        memset(entry->unlogged, 0, sizeof entry->unlogged);
        entry->reported_ms = now_ms;
        reported++;
    }
    assert(reported <= LOGON_THROTTLE_ENTRIES);
    return reported;
}
