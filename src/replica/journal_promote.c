/* Promotion of a disaster-recovery site (journal.h, docs/cluster.md).
 *
 * nats-server 2.9 cannot turn a mirror into an ordinary stream (its
 * configuration refuses any change of the mirror), so the site's primary
 * stream is a new one, made from the mirror by copying: same sequences
 * (a purge of the new, empty stream sets its first sequence), same
 * message ids (a gateway's resend after the promotion is still caught by
 * the duplicate window), and the primary's stored time in a header (the
 * copy's own is the time of the copy). Every ack's sequence is checked
 * against the mirror's: the expected-last-sequence check cannot be used,
 * since 2.9.10 does not move the stream's last sequence on such a purge.
 *
 * The stream's description records the state: "promoting" while the copy
 * runs (a promotion interrupted goes on from the copy's last message),
 * JOURNAL_PROMOTED_PREFIX once complete. Nodes at the site poll it
 * (journal_stream_lookup) to know when to switch to the new stream.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal_internal.h"

#define PROMOTE_WAIT_MS 5000      /* for each copied message */
#define PROMOTE_PROGRESS_MS 1000  /* between progress calls */

static natsStatus promote_stream_put(struct journal *journal, const struct journal_config *target,
                                     const char *description, bool create, jsErrCode *js_error)
{
    const char *subjects[1];
    jsStreamConfig stream;
    journal_stream_config(&stream, target, subjects);
    stream.Description = description;
    return create ? js_AddStream(NULL, journal->js, &stream, NULL, js_error)
                  : js_UpdateStream(NULL, journal->js, &stream, NULL, js_error);
}

/* The target stream as a promotion finds it: made now (empty, its first
 * sequence the mirror's), or one a promotion made before. *next is the
 * first sequence left to copy. */
static int promote_prepare(struct journal *journal, const struct journal_config *target,
                           const struct journal_stream_info *mirror, uint64_t *next,
                           struct journal_promotion *out)
{
    struct journal_stream_info stream;
    int rv = journal_stream_lookup(journal, target->stream_name, &stream);
    if (rv == 0 && stream.promoted) {
        out->already = true;
        out->first_seq = stream.first_seq;
        out->last_seq = stream.last_seq;
        return 0;
    }
    if (rv == 0 && strncmp(stream.description, "nodown: promoting", 17) != 0) {
        snprintf(journal->error, sizeof journal->error, "promote: this site already has a "
                 "stream %.64s that no promotion made (\"%.64s\"): nothing done",
                 target->stream_name, stream.description);
        return ERR_IO;
    }
    jsErrCode js_error = 0;
    natsStatus s = NATS_OK;
    if (rv == ERR_NOT_FOUND) {
        char description[128];
        snprintf(description, sizeof description, "nodown: promoting from %.64s",
                 journal->stream_name);
        s = promote_stream_put(journal, target, description, true, &js_error);
        rv = s == NATS_OK ? journal_stream_lookup(journal, target->stream_name, &stream) : 0;
    }
    /* Empty: its first sequence must be the mirror's (again, if a
     * promotion stopped between creating and purging). */
    uint64_t first = mirror->first_seq > 0 ? mirror->first_seq : 1;
    jsOptions purge;
    jsOptions_Init(&purge);
    purge.Stream.Purge.Sequence = first;
    if (s == NATS_OK && rv == 0 && stream.messages == 0 && stream.last_seq + 1 != first)
        s = js_PurgeStream(journal->js, target->stream_name, &purge, &js_error);
    if (s != NATS_OK) {
        journal_nats_error(journal->error, sizeof journal->error,
                           "promote: creating the stream", s, js_error);
        return ERR_IO;
    }
    *next = stream.messages == 0 ? first : stream.last_seq + 1;
    return rv;
}

/* Publishes msg's copy at the target; its ack must name seq. */
static int promote_copy_one(struct journal *journal, const struct journal_config *target,
                            natsMsg *msg, uint64_t seq, uint64_t stored_ns)
{
    natsMsg *copy = NULL;
    natsStatus s = natsMsg_Create(&copy, target->subject, NULL, natsMsg_GetData(msg),
                                  natsMsg_GetDataLength(msg));
    const char *id = NULL;
    if (s == NATS_OK && natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != NULL)
        s = natsMsgHeader_Set(copy, "Nats-Msg-Id", id);
    const char *stored = NULL; /* a copy of a copy keeps the first time */
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, stored_ns);
    if (natsMsgHeader_Get(msg, JOURNAL_HEADER_STORED_NS, &stored) != NATS_OK || stored == NULL)
        stored = text;
    if (s == NATS_OK)
        s = natsMsgHeader_Set(copy, JOURNAL_HEADER_STORED_NS, stored);
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MaxWait = PROMOTE_WAIT_MS;
    jsPubAck *ack = NULL;
    jsErrCode js_error = 0;
    if (s == NATS_OK)
        s = js_PublishMsg(&ack, journal->js, copy, &options, &js_error);
    natsMsg_Destroy(copy);
    if (s != NATS_OK) {
        journal_nats_error(journal->error, sizeof journal->error, "promote: copying", s,
                           js_error);
        return ERR_IO;
    }
    int rv = ack->Sequence == seq ? 0 : ERR_IO;
    if (rv != 0)
        snprintf(journal->error, sizeof journal->error, "promote: the mirror's message %"
                 PRIu64 " was stored at %" PRIu64 " in %.64s: something else writes to it",
                 seq, ack->Sequence, target->stream_name);
    jsPubAck_Destroy(ack);
    return rv;
}

/* Copies the mirror's messages next..last, in order. */
static int promote_copy(struct journal *journal, const struct journal_config *target,
                        uint64_t next, uint64_t last, journal_progress_cb progress,
                        void *context, struct journal_promotion *out)
{
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = journal->stream_name;
    options.Ordered = true;
    options.Config.DeliverPolicy = js_DeliverByStartSequence;
    options.Config.OptStartSeq = next;
    natsSubscription *sub = NULL;
    jsErrCode js_error = 0;
    natsStatus s = js_SubscribeSync(&sub, journal->js, journal->subject, NULL, &options,
                                    &js_error);
    int rv = s == NATS_OK ? 0 : ERR_IO;
    if (rv != 0)
        journal_nats_error(journal->error, sizeof journal->error, "promote: reading the mirror",
                           s, js_error);
    int64_t said_ms = clock_now_ms();
    while (rv == 0 && next <= last) {
        natsMsg *msg = NULL;
        jsMsgMetaData *meta = NULL;
        s = natsSubscription_NextMsg(&msg, sub, PROMOTE_WAIT_MS);
        if (s == NATS_OK)
            s = natsMsg_GetMetaData(&meta, msg);
        if (s != NATS_OK) {
            journal_nats_error(journal->error, sizeof journal->error,
                               "promote: reading the mirror", s, 0);
            rv = ERR_IO;
        } else if (meta->Sequence.Stream != next) {
            snprintf(journal->error, sizeof journal->error, "promote: the mirror gave message %"
                     PRIu64 " where %" PRIu64 " was due", meta->Sequence.Stream, next);
            rv = ERR_IO;
        } else {
            rv = promote_copy_one(journal, target, msg, next, (uint64_t)meta->Timestamp);
            next += rv == 0;
            out->copied += rv == 0;
        }
        jsMsgMetaData_Destroy(meta);
        natsMsg_Destroy(msg);
        if (progress != NULL && clock_now_ms() - said_ms >= PROMOTE_PROGRESS_MS) {
            progress(context, next - 1, last);
            said_ms = clock_now_ms();
        }
    }
    if (sub != NULL) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
    return rv;
}

int journal_promote(struct journal *journal, const struct journal_config *target,
                    journal_progress_cb progress, void *context, struct journal_promotion *out)
{
    assert(journal != NULL && target != NULL && out != NULL);
    assert(target->mirror_of == NULL);
    memset(out, 0, sizeof *out);
    struct journal_stream_info mirror;
    int rv = journal_stream_info(journal, &mirror);
    if (rv == 0 && !mirror.mirror) {
        snprintf(journal->error, sizeof journal->error, "promote: stream %.64s is not a "
                 "mirror: this site is primary already", journal->stream_name);
        rv = ERR_USAGE;
    }
    uint64_t next = 0;
    if (rv == 0)
        rv = promote_prepare(journal, target, &mirror, &next, out);
    if (rv != 0 || out->already)
        return rv;
    rv = promote_copy(journal, target, next, mirror.last_seq, progress, context, out);
    char description[128];
    snprintf(description, sizeof description, JOURNAL_PROMOTED_PREFIX " from %.64s at sequence %"
             PRIu64, journal->stream_name, mirror.last_seq);
    jsErrCode js_error = 0;
    natsStatus s = rv == 0 ? promote_stream_put(journal, target, description, false, &js_error)
                           : NATS_OK;
    if (s != NATS_OK) {
        journal_nats_error(journal->error, sizeof journal->error,
                           "promote: marking the stream promoted", s, js_error);
        rv = ERR_IO;
    }
    out->first_seq = mirror.first_seq;
    out->last_seq = mirror.last_seq;
    return rv;
}
