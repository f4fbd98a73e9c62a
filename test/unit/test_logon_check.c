/* Tests of the logon checker (src/gateway/logon_check.h): secrets are
 * checked off the caller's thread, each result comes back with the slot
 * and generation it was asked for and no secret, the eventfd wakes a
 * poll() for each batch of results, the queue is bounded, one source
 * address holds at most its share, a quiet source is checked before a
 * busy one's backlog, a job waits for its time without holding the
 * thread, an unknown account is never ok, and suspects share a budget. */
#include "gateway/logon_check.h"

#include <poll.h>

#include "core/result.h"
#include "lib/clock.h"
#include "test.h"

static struct logon_job job_for(uint32_t slot, const char *secret, const uint8_t *salt,
                                const uint8_t *hash)
{
    struct logon_job job;
    memset(&job, 0, sizeof job);
    job.slot = slot;
    job.generation = slot * 10 + 1;
    job.source = slot; /* each its own address, unless a test says */
    job.secret_size = (uint16_t)strlen(secret);
    memcpy(job.secret, secret, job.secret_size);
    memcpy(job.salt, salt, SECRET_SALT_SIZE);
    memcpy(job.hash, hash, SECRET_HASH_SIZE);
    return job;
}

/* Waits (at most 10 s) for count results, in the order submitted. */
static int take_results(struct logon_check *check, struct logon_job *results, uint32_t count)
{
    uint32_t taken = 0;
    for (int round = 0; taken < count && round < 1000; round++) {
        struct pollfd wake = {logon_check_wake_fd(check), POLLIN, 0};
        if (poll(&wake, 1, 10) < 0)
            return -1;
        while (taken < count && logon_check_take(check, &results[taken]))
            taken++;
    }
    return (int)taken;
}

static bool secret_wiped(const struct logon_job *job)
{
    for (size_t i = 0; i < sizeof job->secret; i++) {
        if (job->secret[i] != 0)
            return false;
    }
    return true;
}

TEST(checks_come_back_in_order)
{
    uint8_t salt[SECRET_SALT_SIZE];
    uint8_t hash[SECRET_HASH_SIZE];
    CHECK_EQ_I64(secret_salt_generate(salt), 0);
    CHECK_EQ_I64(secret_hash("right", 5, salt, hash), 0);
    struct logon_check *check = NULL;
    CHECK_EQ_I64(logon_check_open(&check), 0);
    const char *secrets[3] = {"right", "wrong", "right"};
    for (uint32_t i = 0; i < 3; i++) {
        struct logon_job job = job_for(i + 1, secrets[i], salt, hash);
        CHECK_EQ_I64(logon_check_submit(check, &job), LOGON_CHECK_QUEUED);
    }
    struct logon_job results[3];
    CHECK_EQ_I64(take_results(check, results, 3), 3);
    for (uint32_t i = 0; i < 3; i++) {
        CHECK_EQ_I64(results[i].slot, i + 1);
        CHECK_EQ_I64(results[i].generation, (i + 1) * 10 + 1);
        CHECK_EQ_I64(results[i].ok, i != 1);
        CHECK(secret_wiped(&results[i]));
    }
    struct logon_job none;
    CHECK(!logon_check_take(check, &none));
    logon_check_close(check);
}

#define OWN_SOURCE UINT32_MAX

/* Submits count wrong jobs, slots 0 up, from source (OWN_SOURCE: each
 * from its own); returns how many were queued. */
static uint32_t submit_wrong(struct logon_check *check, uint32_t count, uint32_t source)
{
    static const uint8_t salt[SECRET_SALT_SIZE] = {1};
    static const uint8_t hash[SECRET_HASH_SIZE] = {2};
    uint32_t queued = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct logon_job job = job_for(i, "x", salt, hash);
        job.source = source == OWN_SOURCE ? i : source;
        queued += logon_check_submit(check, &job) == LOGON_CHECK_QUEUED;
    }
    return queued;
}

/* Full: LOGON_CHECK_QUEUE jobs are taken, not one more, until results
 * are taken; closing drops the rest without checking them. */
TEST(queue_is_bounded)
{
    uint8_t salt[SECRET_SALT_SIZE] = {1};
    uint8_t hash[SECRET_HASH_SIZE] = {2};
    struct logon_check *check = NULL;
    CHECK_EQ_I64(logon_check_open(&check), 0);
    CHECK_EQ_I64(submit_wrong(check, LOGON_CHECK_QUEUE + 10, OWN_SOURCE), LOGON_CHECK_QUEUE);
    struct logon_job result;
    CHECK_EQ_I64(take_results(check, &result, 1), 1);
    CHECK_EQ_I64(result.slot, 0);
    CHECK_EQ_I64(result.ok, 0);
    struct logon_job job = job_for(999, "x", salt, hash);
    CHECK_EQ_I64(logon_check_submit(check, &job), LOGON_CHECK_QUEUED); /* room for one */
    CHECK_EQ_I64(logon_check_submit(check, &job), LOGON_CHECK_FULL);
    logon_check_close(check);
}

/* One source holds LOGON_CHECK_SOURCE_MAX jobs at most; another source's
 * job, submitted after them, is checked before the busy source's later
 * ones (after the one in hand at most). */
TEST(sources_share_fairly)
{
    uint8_t salt[SECRET_SALT_SIZE] = {1};
    uint8_t hash[SECRET_HASH_SIZE] = {2};
    struct logon_check *check = NULL;
    CHECK_EQ_I64(logon_check_open(&check), 0);
    CHECK_EQ_I64(submit_wrong(check, LOGON_CHECK_SOURCE_MAX + 3, 7), LOGON_CHECK_SOURCE_MAX);
    struct logon_job busy = job_for(50, "x", salt, hash);
    busy.source = 7;
    CHECK_EQ_I64(logon_check_submit(check, &busy), LOGON_CHECK_SOURCE_FULL);
    struct logon_job quiet = job_for(100, "x", salt, hash);
    quiet.source = 8;
    CHECK_EQ_I64(logon_check_submit(check, &quiet), LOGON_CHECK_QUEUED);
    struct logon_job results[LOGON_CHECK_SOURCE_MAX + 1];
    CHECK_EQ_I64(take_results(check, results, LOGON_CHECK_SOURCE_MAX + 1),
                 LOGON_CHECK_SOURCE_MAX + 1);
    uint32_t quiet_at = 0;
    while (quiet_at < LOGON_CHECK_SOURCE_MAX && results[quiet_at].slot != 100)
        quiet_at++;
    CHECK(quiet_at <= 2); /* behind the job in hand and, at worst, one of its round */
    logon_check_close(check);
}

/* A checker, and a salt and hash of the secret "right". */
static int checker_with_right(uint8_t *salt, uint8_t *hash, struct logon_check **check)
{
    if (secret_salt_generate(salt) != 0 || secret_hash("right", 5, salt, hash) != 0)
        return -1;
    return logon_check_open(check);
}

/* A job not due yet waits without holding the thread: a later job that
 * is due is checked first. An unknown account is never ok, even with the
 * right secret. */
TEST(waits_for_its_time_and_unknown_never_ok)
{
    uint8_t salt[SECRET_SALT_SIZE];
    uint8_t hash[SECRET_HASH_SIZE];
    struct logon_check *check = NULL;
    CHECK_EQ_I64(checker_with_right(salt, hash, &check), 0);
    int64_t start_ms = clock_now_ms();
    struct logon_job later = job_for(1, "right", salt, hash);
    later.not_before_ms = start_ms + 300;
    struct logon_job now = job_for(2, "right", salt, hash);
    now.unknown = true;
    CHECK_EQ_I64(logon_check_submit(check, &later), LOGON_CHECK_QUEUED);
    CHECK_EQ_I64(logon_check_submit(check, &now), LOGON_CHECK_QUEUED);
    struct logon_job results[2];
    CHECK_EQ_I64(take_results(check, results, 2), 2);
    CHECK_EQ_I64(results[0].slot, 2);
    CHECK_EQ_I64(results[0].ok, 0);
    CHECK_EQ_I64(results[1].slot, 1);
    CHECK_EQ_I64(results[1].ok, 1);
    CHECK(clock_now_ms() - start_ms >= 300);
    logon_check_close(check);
}

/* A source whose logon failed is a suspect: its other jobs share the
 * suspects' budget (LOGON_CHECK_SUSPECT_PER_S, after a burst), so sixteen
 * wrong logons from one address take at least (16 - 2 - burst) gaps
 * instead of sixteen derivations back to back (about 0.15 s here, which
 * failed this test before the budget); a right one from another address,
 * submitted once the budget is spent, is checked next. */
TEST(suspects_share_a_budget)
{
    uint8_t salt[SECRET_SALT_SIZE];
    uint8_t hash[SECRET_HASH_SIZE];
    struct logon_check *check = NULL;
    CHECK_EQ_I64(checker_with_right(salt, hash, &check), 0);
    int64_t start_ms = clock_now_ms();
    CHECK_EQ_I64(submit_wrong(check, LOGON_CHECK_SOURCE_MAX, 7), LOGON_CHECK_SOURCE_MAX);
    struct logon_job results[LOGON_CHECK_SOURCE_MAX + 1];
    const uint32_t spent = 1 + LOGON_CHECK_SUSPECT_BURST + 1; /* the first, the burst, one */
    CHECK_EQ_I64(take_results(check, results, spent), spent);
    struct logon_job quiet = job_for(100, "right", salt, hash);
    quiet.source = 8;
    CHECK_EQ_I64(logon_check_submit(check, &quiet), LOGON_CHECK_QUEUED);
    uint32_t rest = LOGON_CHECK_SOURCE_MAX + 1 - spent;
    CHECK_EQ_I64(take_results(check, results + spent, rest), rest);
    int64_t took_ms = clock_now_ms() - start_ms;
    uint32_t quiet_at = spent;
    while (quiet_at <= LOGON_CHECK_SOURCE_MAX && results[quiet_at].slot != 100)
        quiet_at++;
    fprintf(stderr, "  16 wrong logons from one address: %lld ms; a right one from another, "
                    "submitted after %u results: answered %u th\n",
            (long long)took_ms, spent, quiet_at + 1);
    CHECK(quiet_at <= spent + 1); /* behind the suspect's job in hand at most */
    CHECK(quiet_at <= LOGON_CHECK_SOURCE_MAX && results[quiet_at].ok);
    /* Unbudgeted: the first (no suspect yet) and the burst; the next one
     * waits a gap after the burst, and so on. */
    int64_t gaps = LOGON_CHECK_SOURCE_MAX - 2 - LOGON_CHECK_SUSPECT_BURST;
    CHECK(took_ms >= gaps * (1000 / LOGON_CHECK_SUSPECT_PER_S) - 50);
    logon_check_close(check);
}

TEST_MAIN()
