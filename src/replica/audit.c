/* The journal audit (audit.h). */
#include "replica/audit.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "lib/clock.h"
#include "xxhash.h"

#define AUDIT_READ_MS 30000 /* the whole read-back, at most */

void audit_init(struct audit *audit)
{
    memset(audit, 0, sizeof *audit);
    pthread_mutex_init(&audit->lock, NULL);
}

void audit_destroy(struct audit *audit)
{
    pthread_mutex_lock(&audit->lock);
    bool started = audit->state != AUDIT_IDLE;
    pthread_mutex_unlock(&audit->lock);
    if (started)
        pthread_join(audit->thread, NULL);
    pthread_mutex_destroy(&audit->lock);
}

void audit_note(struct audit *audit, uint64_t seq, const void *data, size_t size)
{
    assert(seq > 0);
    struct audit_entry *entry = &audit->ring[seq % AUDIT_RING_SIZE];
    entry->seq = seq;
    entry->hash = XXH3_64bits(data, size);
}

/* The thread's read-back: the copy in sequence order, compared. */
struct audit_read {
    struct audit *audit;
    uint32_t at; /* the next entry of copy expected */
};

static int audit_compare(void *context, uint64_t seq, uint64_t timestamp_ns, const void *data,
                         size_t size)
{
    (void)timestamp_ns;
    struct audit_read *read = context;
    struct audit *audit = read->audit;
    while (read->at < audit->copy_count && audit->copy[read->at].seq < seq)
        read->at++; /* older than the stream's first: trimmed, nothing to compare */
    if (read->at == audit->copy_count)
        return 1; /* past the copy: done */
    const struct audit_entry *entry = &audit->copy[read->at];
    if (entry->seq != seq)
        return 0; /* not remembered (applied before the ring's window) */
    read->at++;
    audit->result.checked++;
    if (XXH3_64bits(data, size) == entry->hash)
        return 0;
    audit->result.differ_seq = seq;
    snprintf(audit->result.error, sizeof audit->result.error, "the stream's message %" PRIu64
             " is not the one this node applied (XXH3 %016" PRIx64 ", now %016" PRIx64 ")",
             seq, entry->hash, XXH3_64bits(data, size));
    return ERR_CHECKSUM;
}

static void *audit_main(void *context)
{
    struct audit *audit = context;
    struct audit_result *result = &audit->result;
    struct journal_config config = {.urls = audit->urls, .stream_name = audit->stream_name,
                                    .subject = audit->subject, .replicas = audit->replicas,
                                    .duplicate_window_ms = JOURNAL_DUPLICATE_WINDOW_MS,
                                    .must_exist = true};
    if (audit->mirror_of[0] != '\0') {
        config.mirror_of = audit->mirror_of;
        config.mirror_api = audit->mirror_api;
    }
    struct journal *journal = NULL;
    int rv = journal_open(&journal, &config, result->error, sizeof result->error);
    struct journal_stream_info info;
    if (rv == 0 && (rv = journal_stream_info(journal, &info)) != 0)
        snprintf(result->error, sizeof result->error, "%s", journal_error(journal));
    if (rv == 0 && info.last_seq < result->to_seq) {
        /* What this node applied is no longer all there: a lost tail. */
        result->differ_seq = info.last_seq + 1;
        snprintf(result->error, sizeof result->error, "the stream ends at %" PRIu64 " but this "
                 "node applied up to %" PRIu64, info.last_seq, result->to_seq);
        rv = ERR_CHECKSUM;
    }
    struct audit_read read = {audit, 0};
    uint64_t next = rv == 0 && info.first_seq > result->from_seq ? info.first_seq
                                                                 : result->from_seq;
    int64_t deadline_ms = clock_now_ms() + AUDIT_READ_MS;
    while (rv == 0 && read.at < audit->copy_count && clock_now_ms() < deadline_ms) {
        rv = journal_read(journal, next, 1024, 500, audit_compare, &read, &next);
        if (rv == ERR_IO)
            snprintf(result->error, sizeof result->error, "%s", journal_error(journal));
    }
    if (rv == 0 && read.at < audit->copy_count && next <= result->to_seq) {
        snprintf(result->error, sizeof result->error, "read back only to %" PRIu64 " of %"
                 PRIu64 " in %d ms", next - 1, result->to_seq, AUDIT_READ_MS);
        rv = ERR_TIMEOUT;
    }
    result->rv = rv == 1 ? 0 : rv;
    journal_close(journal);
    pthread_mutex_lock(&audit->lock);
    audit->state = AUDIT_DONE;
    pthread_mutex_unlock(&audit->lock);
    return NULL;
}

int audit_start(struct audit *audit, const struct journal_config *config, uint64_t last_seq)
{
    pthread_mutex_lock(&audit->lock);
    bool idle = audit->state == AUDIT_IDLE;
    pthread_mutex_unlock(&audit->lock);
    if (!idle)
        return -1;
    /* The ring in sequence order: the last AUDIT_RING_SIZE up to last_seq. */
    uint32_t count = 0;
    uint64_t first = last_seq >= AUDIT_RING_SIZE ? last_seq - AUDIT_RING_SIZE + 1 : 1;
    for (uint64_t seq = first; seq <= last_seq; seq++) {
        const struct audit_entry *entry = &audit->ring[seq % AUDIT_RING_SIZE];
        if (entry->seq == seq)
            audit->copy[count++] = *entry;
    }
    if (count == 0)
        return -1;
    audit->copy_count = count;
    memset(&audit->result, 0, sizeof audit->result);
    audit->result.from_seq = audit->copy[0].seq;
    audit->result.to_seq = audit->copy[count - 1].seq;
    snprintf(audit->urls, sizeof audit->urls, "%s", config->urls);
    snprintf(audit->stream_name, sizeof audit->stream_name, "%s", config->stream_name);
    snprintf(audit->subject, sizeof audit->subject, "%s", config->subject);
    snprintf(audit->mirror_of, sizeof audit->mirror_of, "%s",
             config->mirror_of != NULL ? config->mirror_of : "");
    snprintf(audit->mirror_api, sizeof audit->mirror_api, "%s",
             config->mirror_api != NULL ? config->mirror_api : "");
    audit->replicas = config->replicas;
    audit->state = AUDIT_RUNNING;
    audit->runs++;
    if (pthread_create(&audit->thread, NULL, audit_main, audit) != 0) {
        audit->state = AUDIT_IDLE;
        return -1;
    }
    return 0;
}

bool audit_poll(struct audit *audit, struct audit_result *result)
{
    pthread_mutex_lock(&audit->lock);
    bool done = audit->state == AUDIT_DONE;
    pthread_mutex_unlock(&audit->lock);
    if (!done)
        return false;
    pthread_join(audit->thread, NULL);
    *result = audit->result;
    audit->state = AUDIT_IDLE;
    return true;
}
