/* The logon throttle: how long a logon from a source address must wait
 * before its secret is checked, and how late a wrong one is answered.
 *
 * Guessing a secret costs an attacker one LOGON per guess. Without a
 * throttle a node checks about a hundred a second from anyone; with it,
 * failed logons are counted per source address and per (source address,
 * account), and once a count passes its free allowance every further
 * logon of that kind waits, with a delay that doubles per failure up to a
 * ceiling:
 *
 *   delay = 0                                  failures <  free
 *         = min(ceiling, base << (failures - free))   otherwise
 *
 * The account itself is never locked: a count belongs to an address, so a
 * real user logging on from elsewhere is not slowed by someone guessing
 * at their account. Two waits apply, both without holding a checker
 * thread: a wrong logon is answered only after the delay its failure
 * earned (logon_throttle_failed), and a logon from a source that is
 * already waiting is checked no earlier than its turn
 * (logon_throttle_admit, then logon_throttle_reserve once it is queued):
 * each logon checked reserves the delay it would earn, so logons sent in
 * parallel from one address are spread out as if sent one after another.
 * Sustained, one address gets at most one guess per
 * LOGON_THROTTLE_SOURCE_MAX_MS, and one guess per
 * LOGON_THROTTLE_ACCOUNT_MAX_MS at any one account.
 *
 * A success clears its (source, account) count, not its source's: one
 * account the attacker knows must not buy guesses at the others. Counts
 * are forgotten after LOGON_THROTTLE_FORGET_MS without a failure.
 *
 * Memory is fixed: two tables (sources, and source-account pairs) of
 * LOGON_THROTTLE_ENTRIES entries each, set-associative by a hash of the
 * key; a key not found takes its set's free entry or the one touched
 * longest ago. An attacker with many addresses can push others' counts
 * out, which only forgets; it never locks anyone.
 *
 * It also keeps, per source, the failed logons not yet logged, by reason,
 * for logon_throttle_report: one line a second per source at most.
 *
 * Time is an input (milliseconds of a monotonic clock), so the tests drive
 * it; one thread (the gateway's loop) uses a throttle.
 */
#ifndef NODOWN_GATEWAY_LOGON_THROTTLE_H
#define NODOWN_GATEWAY_LOGON_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#define LOGON_THROTTLE_ENTRIES 4096u /* per table */
#define LOGON_THROTTLE_WAYS 8u       /* entries per set */
#define LOGON_THROTTLE_SOURCE_FREE 8u
#define LOGON_THROTTLE_SOURCE_BASE_MS 50
#define LOGON_THROTTLE_SOURCE_MAX_MS 1000
#define LOGON_THROTTLE_ACCOUNT_FREE 3u
#define LOGON_THROTTLE_ACCOUNT_BASE_MS 250
#define LOGON_THROTTLE_ACCOUNT_MAX_MS 4000
#define LOGON_THROTTLE_FORGET_MS (10 * 60 * 1000)
#define LOGON_THROTTLE_REPORT_MS 1000 /* one log line per source at most this often */

_Static_assert(LOGON_THROTTLE_ENTRIES % LOGON_THROTTLE_WAYS == 0, "whole sets");

/* Why a logon failed: each is a counter in /metrics
 * (nodown_logons_failed_<name>_total) and a count in the log line. */
#define LOGON_FAILURES(X)                                                                  \
    X(LOGON_FAILURE_WRONG_SECRET, wrong_secret, "wrong secret")                            \
    X(LOGON_FAILURE_UNKNOWN_ACCOUNT, unknown_account, "no such account or no secret")      \
    X(LOGON_FAILURE_SOURCE_BUSY, source_busy, "too many logons at once from the address")  \
    X(LOGON_FAILURE_CHECKER_FULL, checker_full, "the logon checker was full")

enum logon_failure {
#define LOGON_FAILURE_ENUM(name, metric, text) name,
    LOGON_FAILURES(LOGON_FAILURE_ENUM)
#undef LOGON_FAILURE_ENUM
        LOGON_FAILURE_COUNT
};

const char *logon_failure_text(enum logon_failure failure);

struct logon_throttle_entry {
    uint64_t key;
    bool used;
    int64_t touched_ms; /* for recycling: the oldest goes first */
    int64_t failed_ms;  /* the latest failure, for forgetting */
    int64_t next_ms;    /* no check of this key's logons before it */
    uint32_t failures;
    uint32_t unlogged[LOGON_FAILURE_COUNT]; /* sources only */
    int64_t reported_ms; /* sources only: its latest log line */
};

struct logon_throttle {
    struct logon_throttle_entry sources[LOGON_THROTTLE_ENTRIES];
    struct logon_throttle_entry pairs[LOGON_THROTTLE_ENTRIES];
    int64_t scanned_ms;    /* the latest report scan */
    uint32_t reports_due;  /* sources whose failure may be logged at once */
};

void logon_throttle_init(struct logon_throttle *throttle);

/* When a logon from source (an IPv4 address, host order) to account may
 * be checked: now_ms or later. Changes nothing. */
int64_t logon_throttle_admit(struct logon_throttle *throttle, uint32_t source,
                             uint32_t account, int64_t now_ms);

/* The logon admitted at at_ms was queued: its turn is taken, and the next
 * one from the source waits the delay this one would earn by failing. */
void logon_throttle_reserve(struct logon_throttle *throttle, uint32_t source,
                            uint32_t account, int64_t at_ms);

/* A wrong secret (or an unknown account) from source: counts it and
 * returns when the answer may be sent (now_ms or later). */
int64_t logon_throttle_failed(struct logon_throttle *throttle, uint32_t source,
                              uint32_t account, enum logon_failure failure, int64_t now_ms);

/* A logon refused before any check (busy): counted for the log only. */
void logon_throttle_refused(struct logon_throttle *throttle, uint32_t source,
                            enum logon_failure failure, int64_t now_ms);

/* A right secret: the (source, account) count starts again. */
void logon_throttle_succeeded(struct logon_throttle *throttle, uint32_t source,
                              uint32_t account, int64_t now_ms);

typedef void logon_throttle_report_cb(void *context, uint32_t source,
                                      const uint32_t counts[LOGON_FAILURE_COUNT]);

/* Calls cb for every source with failures not yet reported and no line
 * in the last LOGON_THROTTLE_REPORT_MS, with their counts by reason, and
 * clears them; a source's first failure in a while is reported at the
 * next call, the rest within two seconds. Cheap when there is nothing to
 * report: call it every turn. Returns how many sources were reported. */
uint32_t logon_throttle_report(struct logon_throttle *throttle, int64_t now_ms,
                               logon_throttle_report_cb *cb, void *context);

#endif
