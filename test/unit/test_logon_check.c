/* Tests of the logon checker (src/gateway/logon_check.h): secrets are
 * checked off the caller's thread, each result comes back with the slot
 * and generation it was asked for and no secret, the eventfd wakes a
 * poll() for each batch of results, and the queue is bounded. */
#include "gateway/logon_check.h"

#include <poll.h>

#include "core/result.h"
#include "test.h"

static struct logon_job job_for(uint32_t slot, const char *secret, const uint8_t *salt,
                                const uint8_t *hash)
{
    struct logon_job job;
    memset(&job, 0, sizeof job);
    job.slot = slot;
    job.generation = slot * 10 + 1;
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
        CHECK(logon_check_submit(check, &job));
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

/* Full: LOGON_CHECK_QUEUE jobs are taken, not one more, until results
 * are taken; closing drops the rest without checking them. */
TEST(queue_is_bounded)
{
    uint8_t salt[SECRET_SALT_SIZE] = {1};
    uint8_t hash[SECRET_HASH_SIZE] = {2};
    struct logon_check *check = NULL;
    CHECK_EQ_I64(logon_check_open(&check), 0);
    uint32_t accepted = 0;
    for (uint32_t i = 0; i < LOGON_CHECK_QUEUE + 10; i++) {
        struct logon_job job = job_for(i, "x", salt, hash);
        accepted += logon_check_submit(check, &job);
    }
    CHECK_EQ_I64(accepted, LOGON_CHECK_QUEUE);
    struct logon_job result;
    CHECK_EQ_I64(take_results(check, &result, 1), 1);
    CHECK_EQ_I64(result.slot, 0);
    CHECK_EQ_I64(result.ok, 0);
    struct logon_job job = job_for(999, "x", salt, hash);
    CHECK(logon_check_submit(check, &job)); /* one taken: room for one */
    CHECK(!logon_check_submit(check, &job));
    logon_check_close(check);
}

TEST_MAIN()
