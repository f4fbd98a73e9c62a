/* Tests of the journal audit (src/replica/audit.h) on a real nats-server
 * started by the supervisor in a fresh directory: what a node applied is
 * read back from the stream and compared; a message that differs is
 * named. (A NATS failure that rewrites history cannot be caused on
 * purpose, so the node's memory of a message is altered instead.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/audit.h"
#include "replica/journal.h"
#include "replica/nats_supervisor.h"
#include "test.h"
#include "test_dir.h"

#define MESSAGES 20u

static struct nats_supervisor supervisor;
static struct journal *journal;
static struct audit audit;
static char dir[128];

static struct journal_config config_of(void)
{
    struct journal_config config = {.urls = supervisor.url, .stream_name = "NODOWN",
                                     .subject = "nodown.batch", .replicas = 1,
                                     .duplicate_window_ms = 120000};
    return config;
}

static int note(void *context, uint64_t seq, uint64_t time_ns, const void *data, size_t size)
{
    (void)context;
    (void)time_ns;
    audit_note(&audit, seq, data, size);
    return 0;
}

/* Starts an audit up to MESSAGES and waits for its result (10 s). */
static bool audit_run(struct audit_result *result)
{
    struct journal_config config = config_of();
    if (audit_start(&audit, &config, MESSAGES) != 0)
        return false;
    int64_t deadline_ms = clock_now_ms() + 10000;
    while (!audit_poll(&audit, result)) {
        if (clock_now_ms() >= deadline_ms)
            return false;
        clock_sleep_ms(10);
    }
    return true;
}

static void audit_body(void)
{
    snprintf(dir, sizeof dir, "/tmp/nodown-test-audit-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char errmsg[512];
    CHECK_EQ_I64(nats_supervisor_start(&supervisor, dir, 0, (struct durability){0},
                                       errmsg, sizeof errmsg), 0);
    struct journal_config config = config_of();
    CHECK_EQ_I64(journal_open(&journal, &config, errmsg, sizeof errmsg), 0);
    for (uint32_t i = 1; i <= MESSAGES; i++) {
        char data[32], id[16];
        uint64_t seq = 0;
        bool duplicate = false;
        snprintf(data, sizeof data, "batch %u", i);
        snprintf(id, sizeof id, "a%u", i);
        CHECK_EQ_I64(journal_publish(journal, data, strlen(data), id, 5000, &seq, &duplicate), 0);
    }
    uint64_t next = 1;
    while (next <= MESSAGES)
        CHECK_EQ_I64(journal_read(journal, next, MESSAGES, 1000, note, NULL, &next), 0);
    struct audit_result result;
    CHECK(audit_run(&result));
    CHECK_EQ_I64(result.rv, 0);
    CHECK_EQ_I64(result.checked, MESSAGES);
    CHECK_EQ_I64(result.from_seq, 1);
    CHECK_EQ_I64(result.to_seq, MESSAGES);

    audit.ring[13 % AUDIT_RING_SIZE].hash ^= 1; /* "applied" other bytes at 13 */
    CHECK(audit_run(&result));
    CHECK_EQ_I64(result.rv, ERR_CHECKSUM);
    CHECK_EQ_I64(result.differ_seq, 13);
    CHECK(strstr(result.error, "message 13 ") != NULL);
    audit.ring[13 % AUDIT_RING_SIZE].hash ^= 1;

    uint64_t purged = 0; /* trimmed below 5: only 5.. can be compared */
    CHECK_EQ_I64(journal_stream_purge_below(journal, 5, &purged), 0);
    CHECK(audit_run(&result));
    CHECK_EQ_I64(result.rv, 0);
    CHECK_EQ_I64(result.checked, MESSAGES - 4);
    CHECK(audit.runs == 3);

    audit_note(&audit, MESSAGES + 1, "never stored", 12); /* applied beyond the stream */
    struct journal_config again = config_of();
    CHECK_EQ_I64(audit_start(&audit, &again, MESSAGES + 1), 0);
    int64_t deadline_ms = clock_now_ms() + 10000;
    while (!audit_poll(&audit, &result) && clock_now_ms() < deadline_ms)
        clock_sleep_ms(10);
    CHECK_EQ_I64(result.rv, ERR_CHECKSUM);
    CHECK_EQ_I64(result.differ_seq, MESSAGES + 1);
    CHECK(strstr(result.error, "the stream ends at 20") != NULL);
}

TEST(read_back_and_compare)
{
    audit_init(&audit);
    audit_body();
    audit_destroy(&audit);
    journal_close(journal);
    journal = NULL;
    nats_supervisor_stop(&supervisor);
    if (dir[0] != '\0')
        test_dir_remove(dir);
}

TEST_MAIN()
