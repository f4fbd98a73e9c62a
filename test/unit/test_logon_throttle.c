/* Tests of the logon throttle (src/gateway/logon_throttle.h), on a clock
 * the test drives: delays grow per failure up to their ceilings; a
 * guesser is held to about one guess a second from an address, and one
 * every four seconds at one account; logons sent in parallel are spread
 * out; another address is never slowed (the account is not locked); a
 * success clears its account's count only; counts are forgotten; the
 * tables stay bounded and recycle the oldest; the log is a line a second
 * per source with counts. */
#include "gateway/logon_throttle.h"

#include "test.h"

static struct logon_throttle throttle;

#define SOURCE 0x7f000002u /* 127.0.0.2 */
#define OTHER 0x7f000001u

/* One guess as a guesser sends them one after another: waits its turn,
 * is checked (10 ms), answered when the throttle says. Returns when the
 * answer comes. */
static int64_t guess(uint32_t source, uint32_t account, int64_t now_ms)
{
    int64_t at_ms = logon_throttle_admit(&throttle, source, account, now_ms);
    logon_throttle_reserve(&throttle, source, account, at_ms);
    return logon_throttle_failed(&throttle, source, account, LOGON_FAILURE_WRONG_SECRET,
                                 at_ms + 10);
}

TEST(delays_grow_to_their_ceiling)
{
    logon_throttle_init(&throttle);
    int64_t now_ms = 1000000;
    int64_t waits[12];
    for (uint32_t i = 0; i < 12; i++) {
        int64_t answer_ms = guess(SOURCE, 5, now_ms);
        waits[i] = answer_ms - now_ms - 10;
        now_ms = answer_ms;
    }
    /* The first LOGON_THROTTLE_ACCOUNT_FREE are answered at once. */
    for (uint32_t i = 0; i < LOGON_THROTTLE_ACCOUNT_FREE - 1; i++)
        CHECK_EQ_I64(waits[i], 0);
    CHECK_EQ_I64(waits[LOGON_THROTTLE_ACCOUNT_FREE - 1], LOGON_THROTTLE_ACCOUNT_BASE_MS);
    CHECK_EQ_I64(waits[LOGON_THROTTLE_ACCOUNT_FREE], 2 * LOGON_THROTTLE_ACCOUNT_BASE_MS);
    CHECK_EQ_I64(waits[11], LOGON_THROTTLE_ACCOUNT_MAX_MS);
    for (uint32_t i = 1; i < 12; i++)
        CHECK(waits[i] >= waits[i - 1]);
}

/* A minute of guessing from one address: at most about a guess a second
 * spread over accounts, about one per four seconds at one account. */
TEST(sustained_guesses_are_few)
{
    logon_throttle_init(&throttle);
    int64_t start_ms = 1000000;
    int64_t now_ms = start_ms;
    uint32_t spread = 0;
    while (now_ms - start_ms < 60000) {
        now_ms = guess(SOURCE, 100 + spread, now_ms);
        spread++;
    }
    CHECK(spread <= 60 + LOGON_THROTTLE_SOURCE_FREE + 5);
    logon_throttle_init(&throttle);
    now_ms = start_ms;
    uint32_t one = 0;
    while (now_ms - start_ms < 60000) {
        now_ms = guess(SOURCE, 5, now_ms);
        one++;
    }
    CHECK(one <= 15 + LOGON_THROTTLE_ACCOUNT_FREE + 4);
}

/* Logons sent together from a throttled address get turns a delay apart. */
TEST(parallel_logons_spread_out)
{
    logon_throttle_init(&throttle);
    int64_t now_ms = 1000000;
    for (uint32_t i = 0; i < 20; i++)
        now_ms = guess(SOURCE, 100 + i, now_ms);
    int64_t previous_ms = now_ms;
    for (uint32_t i = 0; i < 4; i++) {
        int64_t at_ms = logon_throttle_admit(&throttle, SOURCE, 200 + i, now_ms);
        logon_throttle_reserve(&throttle, SOURCE, 200 + i, at_ms);
        CHECK(at_ms >= previous_ms);
        if (i > 0)
            CHECK(at_ms - previous_ms >= LOGON_THROTTLE_SOURCE_MAX_MS);
        previous_ms = at_ms;
    }
}

/* However long one address guesses at an account, its owner logs on from
 * another at once; a success clears the (source, account) count, not the
 * source's. */
TEST(account_never_locked)
{
    logon_throttle_init(&throttle);
    int64_t now_ms = 1000000;
    for (uint32_t i = 0; i < 50; i++)
        now_ms = guess(SOURCE, 5, now_ms);
    CHECK_EQ_I64(logon_throttle_admit(&throttle, OTHER, 5, now_ms), now_ms);
    CHECK_EQ_I64(
        logon_throttle_failed(&throttle, OTHER, 5, LOGON_FAILURE_WRONG_SECRET, now_ms), now_ms);
    int64_t again_ms = guess(SOURCE, 5, now_ms);
    CHECK_EQ_I64(again_ms - now_ms - 10, LOGON_THROTTLE_ACCOUNT_MAX_MS);
    now_ms = again_ms;
    logon_throttle_succeeded(&throttle, SOURCE, 5, now_ms);
    /* The pair starts again; the source still waits its own delay. */
    int64_t answer_ms =
        logon_throttle_failed(&throttle, SOURCE, 5, LOGON_FAILURE_WRONG_SECRET, now_ms);
    CHECK_EQ_I64(answer_ms - now_ms, LOGON_THROTTLE_SOURCE_MAX_MS);
}

TEST(counts_are_forgotten)
{
    logon_throttle_init(&throttle);
    int64_t now_ms = 1000000;
    for (uint32_t i = 0; i < 30; i++)
        now_ms = guess(SOURCE, 5, now_ms);
    now_ms += LOGON_THROTTLE_FORGET_MS + 1;
    CHECK_EQ_I64(logon_throttle_admit(&throttle, SOURCE, 5, now_ms), now_ms);
    CHECK_EQ_I64(guess(SOURCE, 5, now_ms), now_ms + 10);
}

/* A hundred thousand addresses: the tables keep their size, the oldest
 * entries go, the newest stay. */
TEST(tables_bounded_oldest_recycled)
{
    logon_throttle_init(&throttle);
    int64_t now_ms = 1000000;
    for (uint32_t i = 0; i < 30; i++)
        now_ms = guess(SOURCE, 5, now_ms);
    for (uint32_t i = 0; i < 100000; i++)
        logon_throttle_failed(&throttle, 0x0a000000u + i, 1, LOGON_FAILURE_WRONG_SECRET,
                              ++now_ms);
    CHECK_EQ_I64(logon_throttle_admit(&throttle, SOURCE, 5, now_ms), now_ms); /* recycled */
    uint32_t last = 0x0a000000u + 99999;
    for (uint32_t i = 0; i < LOGON_THROTTLE_SOURCE_FREE + 2; i++)
        logon_throttle_failed(&throttle, last, 1, LOGON_FAILURE_WRONG_SECRET, now_ms);
    CHECK(logon_throttle_admit(&throttle, last, 1, now_ms) > now_ms);
}

struct report_log {
    uint32_t lines;
    uint32_t source;
    uint32_t counts[LOGON_FAILURE_COUNT];
};

static void report_cb(void *context, uint32_t source, const uint32_t counts[LOGON_FAILURE_COUNT])
{
    struct report_log *log = context;
    log->lines++;
    log->source = source;
    for (uint32_t i = 0; i < LOGON_FAILURE_COUNT; i++)
        log->counts[i] += counts[i];
}

TEST(a_line_a_second_per_source)
{
    logon_throttle_init(&throttle);
    struct report_log log = {0};
    int64_t now_ms = 1000000;
    for (uint32_t i = 0; i < 100; i++) {
        logon_throttle_failed(&throttle, SOURCE, i, i % 2 ? LOGON_FAILURE_WRONG_SECRET
                                                          : LOGON_FAILURE_UNKNOWN_ACCOUNT,
                              now_ms + i);
        logon_throttle_refused(&throttle, SOURCE, LOGON_FAILURE_SOURCE_BUSY, now_ms + i);
        logon_throttle_report(&throttle, now_ms + i, report_cb, &log);
    }
    CHECK_EQ_I64(log.lines, 1); /* the first failure's second */
    CHECK_EQ_I64(logon_throttle_report(&throttle, now_ms + 500, report_cb, &log), 0);
    CHECK_EQ_I64(logon_throttle_report(&throttle, now_ms + 1000, report_cb, &log), 1);
    CHECK_EQ_I64(log.lines, 2);
    CHECK_EQ_I64(log.source, SOURCE);
    CHECK_EQ_I64(log.counts[LOGON_FAILURE_WRONG_SECRET], 50);
    CHECK_EQ_I64(log.counts[LOGON_FAILURE_UNKNOWN_ACCOUNT], 50);
    CHECK_EQ_I64(log.counts[LOGON_FAILURE_SOURCE_BUSY], 100);
    CHECK_EQ_I64(logon_throttle_report(&throttle, now_ms + 3000, report_cb, &log), 0);
    CHECK_STR(logon_failure_text(LOGON_FAILURE_WRONG_SECRET), "wrong secret");
}

TEST_MAIN()
