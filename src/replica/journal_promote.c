/* Promotion of a disaster-recovery site (journal.h, docs/cluster.md).
 *
 * nats-server 2.10 cannot turn a mirror into an ordinary stream (an update
 * that changes a stream's mirror is refused: "stream mirror configuration
 * can not be updated"), so the site's primary stream is a new one, made
 * from the mirror by copying: same sequences and the primary's stored time
 * in a header (the copy's own is the time of the copy). The new stream is
 * created with 2.10's first_seq set to the mirror's first sequence (its
 * last sequence is then first_seq - 1); libnats 3.4's jsStreamConfig has
 * no such field, so the create is a JetStream API request of our own.
 * Copies are pipelined (up to PROMOTE_PENDING_MAX in flight), each
 * expecting the stream's last sequence to be the one before its own, so a
 * copy lands at its mirror sequence or not at all, and a failure makes
 * every later copy fail too: the stream always holds an unbroken run. The
 * run's end is checked against the mirror's.
 *
 * The stream's description records the state: "promoting" while the copy
 * runs (a promotion interrupted goes on from the copy's last message),
 * JOURNAL_PROMOTED_PREFIX once complete. Nodes at the site poll it
 * (journal_stream_lookup) to know when to switch to the new stream.
 */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal_internal.h"

#define PROMOTE_WAIT_MS 5000       /* for each copied message */
#define PROMOTE_PROGRESS_MS 1000   /* between progress calls */
#define PROMOTE_PENDING_MAX 1024   /* copies sent and not yet acknowledged */

/* Marks the target stream promoted: an update of its description. */
static natsStatus promote_stream_mark(struct journal *journal, const struct journal_config *target,
                                      const char *description, jsErrCode *js_error)
{
    const char *subjects[1];
    jsStreamConfig stream;
    journal_stream_config(&stream, target, subjects);
    stream.Description = description;
    return js_UpdateStream(NULL, journal->js, &stream, NULL, js_error);
}

/* Creates the target stream, empty, its first sequence first_seq: the
 * settings journal_stream_config gives, plus 2.10's first_seq. Returns 0
 * or ERR_IO (journal->error). */
static int promote_stream_create(struct journal *journal, const struct journal_config *target,
                                 uint64_t first_seq)
{
    char subject[JOURNAL_STREAM_NAME_SIZE + 32], config[1024];
    snprintf(subject, sizeof subject, "$JS.API.STREAM.CREATE.%s", target->stream_name);
    int size = snprintf(config, sizeof config,
                        "{\"name\":\"%s\",\"subjects\":[\"%s\"],\"storage\":\"file\","
                        "\"num_replicas\":%d,\"duplicate_window\":%" PRId64 ","
                        "\"retention\":\"limits\",\"discard\":\"old\",\"first_seq\":%" PRIu64
                        ",\"description\":\"nodown: promoting from %s\"}",
                        target->stream_name, target->subject, target->replicas,
                        target->duplicate_window_ms * 1000000, first_seq, journal->stream_name);
    assert(size > 0 && (size_t)size < sizeof config); /* names are checked at open */
    natsMsg *reply = journal_api(journal, "promote: creating the stream", subject, config);
    if (reply == NULL)
        return ERR_IO;
    const char *data = natsMsg_GetData(reply);
    bool ok = data != NULL && strstr(data, "\"error\"") == NULL;
    if (!ok)
        snprintf(journal->error, sizeof journal->error, "promote: creating the stream: %.300s",
                 data != NULL ? data : "empty answer");
    natsMsg_Destroy(reply);
    return ok ? 0 : ERR_IO;
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
    uint64_t first = mirror->first_seq > 0 ? mirror->first_seq : 1;
    if (rv == ERR_NOT_FOUND) {
        rv = promote_stream_create(journal, target, first);
        if (rv == 0)
            rv = journal_stream_lookup(journal, target->stream_name, &stream);
    }
    /* Empty, yet not at the mirror's first sequence: made by an older
     * nodown, which purged to set it and may have stopped before. */
    jsErrCode js_error = 0;
    jsOptions purge;
    jsOptions_Init(&purge);
    purge.Stream.Purge.Sequence = first;
    natsStatus s = NATS_OK;
    if (rv == 0 && stream.messages == 0 && stream.last_seq + 1 != first)
        s = js_PurgeStream(journal->js, target->stream_name, &purge, &js_error);
    if (s != NATS_OK) {
        journal_nats_error(journal->error, sizeof journal->error,
                           "promote: setting the stream's first sequence", s, js_error);
        rv = ERR_IO;
    }
    *next = stream.messages == 0 ? first : stream.last_seq + 1;
    return rv;
}

/* Acks of the copies in flight, counted on libnats' thread. */
struct promote_acks {
    pthread_mutex_t lock;
    uint64_t acked;
    uint64_t failed;
    char error[256];
};

static void promote_acked(jsCtx *js, natsMsg *msg, jsPubAck *ack, jsPubAckErr *error,
                          void *closure)
{
    (void)js;
    (void)ack;
    struct promote_acks *acks = closure;
    pthread_mutex_lock(&acks->lock);
    if (error == NULL) {
        acks->acked++;
    } else if (acks->failed++ == 0) {
        snprintf(acks->error, sizeof acks->error, "%.160s (JetStream error %d)",
                 error->ErrText != NULL ? error->ErrText : natsStatus_GetText(error->Err),
                 (int)error->ErrCode);
    }
    pthread_mutex_unlock(&acks->lock);
    natsMsg_Destroy(msg);
}

/* Sends the copy of msg, the mirror's message seq, to the target. Its id
 * is nodown-copy-SEQ, never the original's: ids repeat in a stream
 * further apart than the duplicate window (the house secret's), and a
 * copy dropped as a duplicate would shift every later sequence. It
 * expects the stream's last sequence to be seq - 1, so it is stored at
 * seq or refused; a copy that failed makes every later one fail, so the
 * stream always holds an unbroken run (and the run's end is checked). */
static natsStatus promote_send(jsCtx *js, const struct journal_config *target, natsMsg *msg,
                               uint64_t seq, uint64_t stored_ns)
{
    assert(seq >= 1);
    natsMsg *copy = NULL;
    natsStatus s = natsMsg_Create(&copy, target->subject, NULL, natsMsg_GetData(msg),
                                  natsMsg_GetDataLength(msg));
    char id[48], text[24];
    snprintf(id, sizeof id, "nodown-copy-%" PRIu64, seq);
    snprintf(text, sizeof text, "%" PRIu64, stored_ns);
    const char *stored = NULL; /* a copy of a copy keeps the first time */
    if (natsMsgHeader_Get(msg, JOURNAL_HEADER_STORED_NS, &stored) != NATS_OK || stored == NULL)
        stored = text;
    if (s == NATS_OK)
        s = natsMsgHeader_Set(copy, JOURNAL_HEADER_STORED_NS, stored);
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = id;
    options.ExpectLastSeq = seq - 1;
    options.MaxWait = PROMOTE_WAIT_MS;
    if (s == NATS_OK)
        s = js_PublishMsgAsync(js, &copy, &options);
    natsMsg_Destroy(copy); /* NULL once the library owns it */
    return s;
}

/* Reads the mirror's messages next..last in order and sends their copies,
 * up to PROMOTE_PENDING_MAX in flight. Returns 0 or ERR_IO. */
static int promote_send_all(struct journal *journal, jsCtx *js,
                            const struct journal_config *target, uint64_t next, uint64_t last,
                            journal_progress_cb progress, void *context,
                            struct journal_promotion *out)
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
    int64_t said_ms = clock_now_ms();
    while (s == NATS_OK && next <= last) {
        natsMsg *msg = NULL;
        jsMsgMetaData *meta = NULL;
        s = natsSubscription_NextMsg(&msg, sub, PROMOTE_WAIT_MS);
        if (s == NATS_OK)
            s = natsMsg_GetMetaData(&meta, msg);
        if (s == NATS_OK && meta->Sequence.Stream != next)
            s = NATS_MISMATCH;
        if (s == NATS_OK)
            s = promote_send(js, target, msg, next, (uint64_t)meta->Timestamp);
        next += s == NATS_OK;
        out->copied += s == NATS_OK;
        jsMsgMetaData_Destroy(meta);
        natsMsg_Destroy(msg);
        if (progress != NULL && clock_now_ms() - said_ms >= PROMOTE_PROGRESS_MS) {
            progress(context, next - 1, last);
            said_ms = clock_now_ms();
        }
    }
    if (s != NATS_OK)
        journal_nats_error(journal->error, sizeof journal->error, s == NATS_MISMATCH ?
                           "promote: the mirror gave a message out of order" :
                           "promote: copying the mirror", s, js_error);
    if (sub != NULL) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
    return s == NATS_OK ? 0 : ERR_IO;
}

/* Copies the mirror's messages next..last, in order, then waits for every
 * ack and checks that the stream ends at last. */
static int promote_copy(struct journal *journal, const struct journal_config *target,
                        uint64_t next, uint64_t last, journal_progress_cb progress,
                        void *context, struct journal_promotion *out)
{
    struct promote_acks acks = {.acked = 0};
    jsOptions options;
    jsOptions_Init(&options);
    options.PublishAsync.MaxPending = PROMOTE_PENDING_MAX;
    options.PublishAsync.AckHandler = promote_acked;
    options.PublishAsync.AckHandlerClosure = &acks;
    jsCtx *js = NULL;
    if (pthread_mutex_init(&acks.lock, NULL) != 0 ||
        natsConnection_JetStream(&js, journal->connection, &options) != NATS_OK) {
        snprintf(journal->error, sizeof journal->error, "promote: no JetStream context");
        return ERR_IO;
    }
    int rv = promote_send_all(journal, js, target, next, last, progress, context, out);
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = PROMOTE_WAIT_MS * 6;
    natsStatus s = js_PublishAsyncComplete(js, &wait);
    jsCtx_Destroy(js);
    pthread_mutex_lock(&acks.lock);
    if (rv == 0 && (s != NATS_OK || acks.failed > 0 || acks.acked != out->copied))
        snprintf(journal->error, sizeof journal->error, "promote: %" PRIu64 " of %" PRIu64
                 " copies refused or unanswered: %s", out->copied - acks.acked, out->copied,
                 acks.failed > 0 ? acks.error : natsStatus_GetText(s));
    rv = rv == 0 && s == NATS_OK && acks.failed == 0 && acks.acked == out->copied ? 0 : ERR_IO;
    pthread_mutex_unlock(&acks.lock);
    pthread_mutex_destroy(&acks.lock);
    struct journal_stream_info stream;
    if (rv == 0 && (journal_stream_lookup(journal, target->stream_name, &stream) != 0 ||
                    stream.last_seq != last)) {
        snprintf(journal->error, sizeof journal->error, "promote: the copy ends at %" PRIu64
                 ", not at the mirror's %" PRIu64 ": something else writes to %.64s",
                 stream.last_seq, last, target->stream_name);
        rv = ERR_IO;
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
    rv = next <= mirror.last_seq
             ? promote_copy(journal, target, next, mirror.last_seq, progress, context, out)
             : 0;
    char description[128];
    snprintf(description, sizeof description, JOURNAL_PROMOTED_PREFIX " from %.64s at sequence %"
             PRIu64, journal->stream_name, mirror.last_seq);
    jsErrCode js_error = 0;
    natsStatus s = rv == 0 ? promote_stream_mark(journal, target, description, &js_error)
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
