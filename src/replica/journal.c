/* The journal on libnats 3.4 JetStream (see journal.h, docs/journal.md).
 *
 * Publishing. js_Publish with jsPubOptions.MsgId sets the Nats-Msg-Id
 * header; the stream remembers ids for its duplicate window and answers a
 * resend with the first sequence and "duplicate": true. So a publish that
 * timed out, met no responders (JetStream not up yet, no stream leader) or
 * lost its connection is simply sent again with the same id until the
 * caller's timeout: it is stored once whatever happened to the attempts.
 * While libnats reconnects, a publish goes into its reconnect buffer and
 * leaves on the new connection, or times out and is sent again.
 *
 * This holds on a cluster too, on the nats-server 2.10.27 that
 * tools/deps.sh installs (DESIGN.md asks for 2.10 or newer; on 2.9.10 the
 * divergence below would come back). 2.9.10 looked a message's id up only
 * as each copy applied a replicated message, counted a duplicate found
 * there as a failed proposal, and numbered later messages with that count,
 * which the copies could disagree on after a change of leader: they then
 * held different messages at one sequence (docs/cluster.md). 2.10.27 has
 * both fixes: a server that takes over as leader now zeroes that count and
 * brings its followers level with a snapshot (nats-server #4365 and #4366,
 * in 2.9.21 and 2.10.0), and the leader looks the id up before it
 * proposes, while the copies no longer do, so a duplicate never enters the
 * Raft log (#5287, in 2.10.14). What 2.10 still does, and a resend must
 * handle: while the leader has an id's first copy proposed but not yet
 * stored, it answers a resend "duplicate" at sequence 0 (publish_attempt).
 *
 * Publishing may run on one thread while reading runs on another (the
 * gateway's publisher thread does): they share libnats' connection and
 * JetStream context, which are thread-safe, and nothing else; publish
 * keeps its own error text.
 *
 * Reading. An ordered push consumer (jsSubOptions.Ordered) on an
 * asynchronous subscription, created at DeliverByStartSequence from_seq,
 * kept between calls. libnats' delivery thread hands each message to
 * read_arrived(), which queues it in journal->ring (bounded: when it is
 * full the delivery thread waits, and the server's flow control holds the
 * rest) and bumps an eventfd, so a loop can poll() its sockets and the
 * stream together; journal_read() takes messages from the ring. Why not a
 * pull consumer with AckNone:
 *
 *   - latency: the server pushes each message as soon as it is stored,
 *     and the reader takes it from the local queue. natsSubscription_Fetch
 *     returns only when its whole batch is there or its wait expires, so
 *     a node tailing the stream would either wait out the expiry or fetch
 *     one message per round trip; the acknowledgement of every client
 *     command waits on this path.
 *   - throughput: push with flow control keeps up to 32 MB in flight (the
 *     server's window), with no request per batch.
 *   - order: the ordered consumer checks the consumer sequence of every
 *     message and, on a gap, a reconnection or two missed heartbeats,
 *     recreates itself at the stream sequence after the last one it saw.
 *     An AckNone pull consumer whose fetch answer is lost moves on anyway,
 *     and the gap would be ours to find and repair.
 *
 * It is not trusted blindly: libnats records a message as seen before it
 * checks the subscription's pending limits, so a message dropped as a
 * slow consumer would leave a gap the ordered consumer never repairs.
 * The pending limits are therefore lifted to a bound above the server's
 * window, and every message's stream sequence is checked here: a repeat
 * is dropped, a gap makes us recreate the consumer at the expected
 * sequence, and a gap that is still there after that means the stream no
 * longer holds those messages, which is an error, never a skip.
 */
#include "replica/journal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal_internal.h"
#include "replica/nats_version.h"

/* libnats' status text and, when there is one, its last error detail. */
void journal_nats_error(char *out, size_t out_size, const char *what, natsStatus status,
                        jsErrCode js_error)
{
    natsStatus last_status = NATS_OK;
    const char *detail = nats_GetLastError(&last_status);
    /* The thread's last error may be older than this failure. */
    if (detail == NULL || detail[0] == '\0' || last_status != status)
        detail = natsStatus_GetText(status);
    if (js_error != 0)
        snprintf(out, out_size, "%s: %.300s (JetStream error %d)", what, detail, (int)js_error);
    else
        snprintf(out, out_size, "%s: %.300s", what, detail);
}

/* ---- Open: the configuration, the connection, the stream. ---- */

static bool name_is_valid(const char *name, size_t size_max, bool is_subject)
{
    size_t size = strlen(name);
    if (size == 0 || size >= size_max)
        return false;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c >= 0x7f || c == '*' || c == '>')
            return false;
        if (!is_subject && (c == '.' || c == '/' || c == '\\'))
            return false;
    }
    return true;
}

struct journal_config journal_config_stream(const char *urls, int replicas)
{
    struct journal_config config = {.urls = urls, .stream_name = JOURNAL_STREAM,
                                     .subject = JOURNAL_SUBJECT, .replicas = replicas,
                                     .duplicate_window_ms = JOURNAL_DUPLICATE_WINDOW_MS};
    return config;
}

struct journal_config journal_config_mirror(const char *urls, int replicas,
                                            const char *mirror_api)
{
    struct journal_config config = journal_config_stream(urls, replicas);
    config.stream_name = JOURNAL_STREAM_MIRROR;
    config.mirror_of = JOURNAL_STREAM;
    config.mirror_api = mirror_api;
    return config;
}

static int config_check(const struct journal_config *config, char *errmsg, size_t errmsg_size)
{
    if (config->urls == NULL || config->urls[0] == '\0' ||
        strlen(config->urls) >= JOURNAL_URLS_SIZE) {
        snprintf(errmsg, errmsg_size, "journal: NATS urls empty or too long");
        return ERR_USAGE;
    }
    if (config->stream_name == NULL ||
        !name_is_valid(config->stream_name, JOURNAL_STREAM_NAME_SIZE, false)) {
        snprintf(errmsg, errmsg_size, "journal: invalid stream name");
        return ERR_USAGE;
    }
    if (config->subject == NULL || !name_is_valid(config->subject, JOURNAL_SUBJECT_SIZE, true)) {
        snprintf(errmsg, errmsg_size, "journal: invalid subject");
        return ERR_USAGE;
    }
    if (config->replicas < 1 || config->replicas > 5) {
        snprintf(errmsg, errmsg_size, "journal: replicas %d not in 1..5", config->replicas);
        return ERR_USAGE;
    }
    if (config->mirror_of != NULL &&
        (!name_is_valid(config->mirror_of, JOURNAL_STREAM_NAME_SIZE, false) ||
         config->mirror_api == NULL || !name_is_valid(config->mirror_api, 128, true))) {
        snprintf(errmsg, errmsg_size, "journal: invalid mirror source or API prefix");
        return ERR_USAGE;
    }
    if (config->duplicate_window_ms <= 0 || config->duplicate_window_ms > INT64_MAX / 1000000) {
        snprintf(errmsg, errmsg_size, "journal: duplicate window %" PRId64 " ms out of range",
                 config->duplicate_window_ms);
        return ERR_USAGE;
    }
    return 0;
}

/* Splits "a, b,c" in place into servers[]; returns the count, or -1. */
static int urls_split(char *urls, const char *servers[JOURNAL_SERVERS_MAX])
{
    int count = 0;
    for (char *token = urls; token != NULL;) {
        char *comma = strchr(token, ',');
        if (comma != NULL)
            *comma = '\0';
        while (*token == ' ')
            token++;
        for (char *end = token + strlen(token); end > token && end[-1] == ' '; end--)
            end[-1] = '\0';
        if (token[0] != '\0') {
            if (count == JOURNAL_SERVERS_MAX)
                return -1;
            servers[count++] = token;
        }
        token = comma == NULL ? NULL : comma + 1;
    }
    return count;
}

static natsStatus options_set(natsOptions *options, const char **servers, int server_count)
{
    natsStatus s = natsOptions_SetServers(options, servers, server_count);
    if (s == NATS_OK)
        s = natsOptions_SetName(options, "nodown");
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(options, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(options, JOURNAL_RECONNECT_WAIT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(options, JOURNAL_RECONNECT_JITTER_MS,
                                           JOURNAL_RECONNECT_JITTER_MS);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(options, JOURNAL_CONNECT_TIMEOUT_MS);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(options, JOURNAL_PING_INTERVAL_MS);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(options, JOURNAL_PINGS_OUT_MAX);
    /* Publishes are synchronous, one at a time: send each at once rather
     * than waiting for libnats' flusher thread. */
    if (s == NATS_OK)
        s = natsOptions_SetSendAsap(options, true);
    return s;
}

static int connection_open(struct journal *journal, const char *urls, char *errmsg,
                           size_t errmsg_size)
{
    char buffer[JOURNAL_URLS_SIZE];
    snprintf(buffer, sizeof buffer, "%s", urls);
    const char *servers[JOURNAL_SERVERS_MAX];
    int server_count = urls_split(buffer, servers);
    if (server_count <= 0) {
        snprintf(errmsg, errmsg_size, "journal: NATS urls \"%.200s\": none, or more than %d",
                 urls, JOURNAL_SERVERS_MAX);
        return ERR_USAGE;
    }
    natsOptions *options = NULL;
    natsStatus s = natsOptions_Create(&options);
    if (s == NATS_OK)
        s = options_set(options, servers, server_count);
    if (s == NATS_OK)
        s = natsConnection_Connect(&journal->connection, options);
    natsOptions_Destroy(options);
    if (s != NATS_OK) {
        char what[300];
        snprintf(what, sizeof what, "journal: connecting to %.200s", urls);
        journal_nats_error(errmsg, errmsg_size, what, s, 0);
        return ERR_IO;
    }
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.Wait = JOURNAL_API_WAIT_MS;
    s = natsConnection_JetStream(&journal->js, journal->connection, &js_options);
    if (s != NATS_OK) {
        journal_nats_error(errmsg, errmsg_size, "journal: JetStream context", s, 0);
        return ERR_IO;
    }
    return 0;
}

/* The server libnats connected to must be 2.10 or newer. libnats 3.4
 * keeps the version of its INFO to itself, so the server is asked again
 * on a connection of our own, which only reads its INFO line. (A cluster
 * of mixed versions is not looked for: the server reached stands for its
 * cluster.) */
static int server_version_check(struct journal *journal, char *errmsg, size_t errmsg_size)
{
    char url[256], version[NATS_VERSION_SIZE];
    if (natsConnection_GetConnectedUrl(journal->connection, url, sizeof url) != NATS_OK) {
        snprintf(errmsg, errmsg_size, "journal: no server connected to ask its version");
        return ERR_IO;
    }
    int rv = nats_version_probe(url, JOURNAL_CONNECT_TIMEOUT_MS, version, sizeof version, errmsg,
                                errmsg_size);
    if (rv == 0)
        rv = nats_version_check(version, url, errmsg, errmsg_size);
    return rv;
}

/* What differs between the existing stream and the one this node would
 * have created, or NULL. */
static const char *stream_difference(const jsStreamConfig *c, const struct journal_config *config)
{
    if (config->mirror_of != NULL) {
        if (c->Mirror == NULL || c->Mirror->Name == NULL ||
            strcmp(c->Mirror->Name, config->mirror_of) != 0 || c->SubjectsLen != 0)
            return "mirror source";
    } else if (c->Mirror != NULL || c->SubjectsLen != 1 ||
               strcmp(c->Subjects[0], config->subject) != 0) {
        return "subjects";
    }
    if (c->Storage != js_FileStorage)
        return "storage (not file)";
    if (c->Replicas != (int64_t)config->replicas)
        return "replicas";
    /* A mirror's duplicate window is not compared: nothing is published
     * to it (it stores its source's messages at their sequences), and
     * nats-server 2.9 keeps none for a mirror, so the mirror a node of
     * release 0.1.0 made on 2.9.10 has 0 where this build asks for
     * JOURNAL_DUPLICATE_WINDOW_MS (found by `nodown drill`). */
    if (config->mirror_of == NULL && c->Duplicates != config->duplicate_window_ms * 1000000)
        return "duplicate window";
    if (c->Retention != js_LimitsPolicy)
        return "retention (not limits)";
    return NULL;
}

/* The existing stream must be what this node would have created. */
static int stream_check(const jsStreamInfo *info, const struct journal_config *config,
                        char *errmsg, size_t errmsg_size)
{
    const char *problem = stream_difference(info->Config, config);
    if (problem == NULL)
        return 0;
    snprintf(errmsg, errmsg_size, "journal: stream %s exists with other %s than this node's "
             "(%s %s, file storage, %d replicas, duplicate window %" PRId64 " ms, limits "
             "retention); nodown never changes an existing stream",
             config->stream_name, problem, config->mirror_of != NULL ? "mirror of" : "subject",
             config->mirror_of != NULL ? config->mirror_of : config->subject, config->replicas,
             config->duplicate_window_ms);
    return ERR_IO;
}

void journal_stream_config(jsStreamConfig *stream, const struct journal_config *config,
                           const char *subjects[1])
{
    subjects[0] = config->subject;
    jsStreamConfig_Init(stream);
    stream->Name = config->stream_name;
    stream->Subjects = subjects;
    stream->SubjectsLen = 1;
    stream->Storage = js_FileStorage;
    stream->Replicas = config->replicas;
    stream->Duplicates = config->duplicate_window_ms * 1000000;
    stream->Retention = js_LimitsPolicy;
    stream->Discard = js_DiscardOld;
}

static natsStatus stream_create(jsStreamInfo **info, jsCtx *js,
                                const struct journal_config *config, jsErrCode *js_error)
{
    const char *subjects[1];
    jsStreamConfig stream;
    journal_stream_config(&stream, config, subjects);
    /* A mirror takes its source's messages, at their sequences. */
    jsStreamSource mirror;
    jsExternalStream external;
    if (config->mirror_of != NULL) {
        jsStreamSource_Init(&mirror);
        jsExternalStream_Init(&external);
        mirror.Name = config->mirror_of;
        external.APIPrefix = config->mirror_api;
        external.DeliverPrefix = ""; /* the server's own; libnats needs a string */
        mirror.External = &external;
        stream.Mirror = &mirror;
        stream.Subjects = NULL;
        stream.SubjectsLen = 0;
    }
    return js_AddStream(info, js, &stream, NULL, js_error);
}

/* A new mirror asks its source for a consumer once; when nothing answers
 * (the leafnode to the primary not connected yet, or the primary without
 * its stream), nats-server 2.10 waits 30 s before it asks again, and backs
 * off 10 s more for each further failure (2.9 waited 5 s). A mirror made a
 * moment too early would sit idle that long, so it is made only once its
 * source answers through mirror_api; until then journal_open fails, and
 * the caller tries again. */
static int mirror_source_check(struct journal *journal, const struct journal_config *config,
                               char *errmsg, size_t errmsg_size)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.STREAM.INFO.%s", config->mirror_api,
             config->mirror_of);
    natsMsg *reply = journal_api(journal, "no answer", subject, "");
    const char *data = reply != NULL ? natsMsg_GetData(reply) : NULL;
    bool ok = data != NULL && strstr(data, "\"error\"") == NULL &&
              strstr(data, "\"config\"") != NULL;
    if (!ok)
        snprintf(errmsg, errmsg_size, "journal: the mirror %s is made only once its source "
                 "answers, and stream %s does not through %s (is the leafnode to the primary "
                 "up, and its stream made?): %.200s", config->stream_name, config->mirror_of,
                 config->mirror_api, data != NULL ? data : journal->error);
    natsMsg_Destroy(reply);
    return ok ? 0 : ERR_IO;
}

static int stream_ensure(struct journal *journal, const struct journal_config *config,
                         char *errmsg, size_t errmsg_size)
{
    jsStreamInfo *info = NULL;
    jsErrCode js_error = 0;
    natsStatus s = js_GetStreamInfo(&info, journal->js, config->stream_name, NULL, &js_error);
    if ((s == NATS_NOT_FOUND || js_error == JSStreamNotFoundErr) && config->must_exist) {
        snprintf(errmsg, errmsg_size, "journal: no stream %s on these servers",
                 config->stream_name);
        return ERR_NOT_FOUND;
    }
    if ((s == NATS_NOT_FOUND || js_error == JSStreamNotFoundErr) && config->mirror_of != NULL) {
        int rv = mirror_source_check(journal, config, errmsg, errmsg_size);
        if (rv != 0)
            return rv;
    }
    if (s == NATS_NOT_FOUND || js_error == JSStreamNotFoundErr) {
        js_error = 0;
        s = stream_create(&info, journal->js, config, &js_error);
        /* Another node created it first: read what it made. */
        if (js_error == JSStreamNameExistErr) {
            js_error = 0;
            s = js_GetStreamInfo(&info, journal->js, config->stream_name, NULL, &js_error);
        }
    }
    if (s != NATS_OK) {
        char what[128];
        snprintf(what, sizeof what, "journal: stream %s", config->stream_name);
        journal_nats_error(errmsg, errmsg_size, what, s, js_error);
        return ERR_IO;
    }
    int rv = stream_check(info, config, errmsg, errmsg_size);
    jsStreamInfo_Destroy(info);
    return rv;
}

/* The lock, its condition (on the monotonic clock) and the eventfd. */
static int journal_sync_init(struct journal *journal, char *errmsg, size_t errmsg_size)
{
    pthread_condattr_t attr;
    bool ok = pthread_condattr_init(&attr) == 0;
    ok = ok && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_cond_init(&journal->changed, &attr) == 0;
    ok = ok && pthread_mutex_init(&journal->lock, NULL) == 0;
    if (ok)
        journal->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    journal->sync_ready = ok;
    if (!ok || journal->wake_fd < 0) {
        snprintf(errmsg, errmsg_size, "journal: synchronisation set-up: %s", strerror(errno));
        return ERR_IO;
    }
    return 0;
}

int journal_open(struct journal **out, const struct journal_config *config, char *errmsg,
                 size_t errmsg_size)
{
    assert(out != NULL);
    assert(config != NULL);
    *out = NULL;
    int rv = config_check(config, errmsg, errmsg_size);
    if (rv != 0)
        return rv;
    struct journal *journal = calloc(1, sizeof *journal);
    if (journal == NULL) {
        snprintf(errmsg, errmsg_size, "journal: out of memory");
        return ERR_NOMEM;
    }
    snprintf(journal->stream_name, sizeof journal->stream_name, "%s", config->stream_name);
    snprintf(journal->subject, sizeof journal->subject, "%s", config->subject);
    journal->mirror = config->mirror_of != NULL;
    journal->wake_fd = -1;
    rv = journal_sync_init(journal, errmsg, errmsg_size);
    if (rv == 0)
        rv = connection_open(journal, config->urls, errmsg, errmsg_size);
    if (rv == 0)
        rv = server_version_check(journal, errmsg, errmsg_size);
    if (rv == 0)
        rv = stream_ensure(journal, config, errmsg, errmsg_size);
    if (rv != 0) {
        journal_close(journal);
        return rv;
    }
    *out = journal;
    return 0;
}

/* ---- Publish. ---- */

/* Whether an attempt that failed with (status, js_error) may succeed if
 * sent again with the same id. Refusals for good: the message is too
 * large, the subject belongs to another stream, the connection was closed
 * by us, or the request itself is wrong. */
static bool publish_retryable(natsStatus status, jsErrCode js_error)
{
    if (status == NATS_INVALID_ARG || status == NATS_MAX_PAYLOAD ||
        status == NATS_CONNECTION_CLOSED || status == NATS_NO_MEMORY)
        return false;
    return js_error != JSStreamMessageExceedsMaximumErr && js_error != JSStreamNotMatchErr &&
           js_error != JSStreamSealedErr && js_error != JSBadRequestErr;
}

static bool msg_id_is_valid(const char *msg_id)
{
    size_t size = strlen(msg_id);
    if (size == 0 || size > JOURNAL_MSG_ID_SIZE_MAX)
        return false;
    for (size_t i = 0; i < size; i++) {
        if ((unsigned char)msg_id[i] < 0x21 || (unsigned char)msg_id[i] > 0x7e)
            return false;
    }
    return true;
}

/* One attempt. Returns NATS_OK with the ack's sequence, or the status of
 * the failure with its text in journal->publish_error and *retryable set. */
static natsStatus publish_attempt(struct journal *journal, const void *data, size_t size,
                                  const char *msg_id, int64_t wait_ms, uint32_t attempt,
                                  uint64_t *stream_seq, bool *duplicate, bool *retryable)
{
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = msg_id;
    options.MaxWait = wait_ms;
    jsPubAck *ack = NULL;
    jsErrCode js_error = 0;
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, journal->subject, NULL, data, (int)size);
    if (s == NATS_OK) /* the id, for a person reading the stream */
        s = natsMsgHeader_Set(msg, JOURNAL_HEADER_BATCH_ID, msg_id);
    if (s == NATS_OK)
        s = js_PublishMsg(&ack, journal->js, msg, &options, &js_error);
    natsMsg_Destroy(msg);
    char what[256];
    snprintf(what, sizeof what, "journal: publishing %.128s to %s (attempt %u)", msg_id,
             journal->stream_name, (unsigned)attempt);
    if (s != NATS_OK) {
        journal_nats_error(journal->publish_error, sizeof journal->publish_error, what, s,
                           js_error);
        *retryable = publish_retryable(s, js_error);
        return s;
    }
    if (ack->Stream == NULL || strcmp(ack->Stream, journal->stream_name) != 0) {
        /* Stored, but by another stream that also takes this subject. */
        snprintf(journal->publish_error, sizeof journal->publish_error,
                 "%s: stored by stream %.64s",
                 what, ack->Stream == NULL ? "?" : ack->Stream);
        *retryable = false;
        s = NATS_ERR;
    } else if (ack->Sequence == 0) {
        /* A clustered stream's leader that has proposed this id's first
         * copy but not stored it yet answers a resend "duplicate" at
         * sequence 0 (nats-server 2.10; 2.11 answers with an error, which
         * is retried too): the copy has no number yet, or never will if
         * its proposal was lost in a change of leader. Ask again until it
         * has one or the caller's time runs out. */
        snprintf(journal->publish_error, sizeof journal->publish_error,
                 "%s: the stream has this id's first copy in flight, not yet numbered", what);
        *retryable = true;
        s = NATS_ERR; /* retried after a pause, as no responders are */
    } else {
        *stream_seq = ack->Sequence;
        *duplicate = ack->Duplicate;
    }
    jsPubAck_Destroy(ack);
    return s;
}

int journal_publish(struct journal *journal, const void *data, size_t size, const char *msg_id,
                    int timeout_ms, uint64_t *stream_seq, bool *duplicate)
{
    assert(journal != NULL);
    assert(data != NULL || size == 0);
    assert(msg_id != NULL && msg_id_is_valid(msg_id));
    assert(size <= (size_t)INT32_MAX);
    assert(stream_seq != NULL && duplicate != NULL);
    assert(timeout_ms > 0);
    if (journal->mirror) {
        snprintf(journal->publish_error, sizeof journal->publish_error,
                 "journal: stream %s is a mirror of the primary's: it cannot be written",
                 journal->stream_name);
        return ERR_USAGE;
    }
    int64_t deadline_ms = clock_now_ms() + timeout_ms;
    for (uint32_t attempt = 1;; attempt++) {
        int64_t left_ms = deadline_ms - clock_now_ms();
        int64_t wait_ms = left_ms < 1 ? 1 : left_ms;
        if (wait_ms > JOURNAL_PUBLISH_ATTEMPT_MS)
            wait_ms = JOURNAL_PUBLISH_ATTEMPT_MS;
        bool retryable = false;
        natsStatus s = publish_attempt(journal, data, size, msg_id, wait_ms, attempt,
                                       stream_seq, duplicate, &retryable);
        if (s == NATS_OK) {
            assert(*stream_seq > 0);
            return 0;
        }
        left_ms = deadline_ms - clock_now_ms();
        if (!retryable || left_ms <= 0)
            return ERR_IO;
        if (s != NATS_TIMEOUT)
            clock_sleep_ms(left_ms < JOURNAL_PUBLISH_PAUSE_MS ? left_ms : JOURNAL_PUBLISH_PAUSE_MS);
    }
}

/* ---- Read. ---- */

/* libnats' delivery thread: queue the message for the reader. A message
 * of a subscription already replaced is dropped (the reader checks every
 * sequence anyway, so one that slipped through would do no harm). */
static void read_arrived(natsConnection *connection, natsSubscription *sub, natsMsg *msg,
                         void *closure)
{
    (void)connection;
    struct journal *journal = closure;
    void *prepared = NULL;
    if (journal->prepare != NULL) /* outside the lock: it may block */
        prepared = journal->prepare(journal->prepare_context, natsMsg_GetData(msg),
                                    (size_t)natsMsg_GetDataLength(msg));
    pthread_mutex_lock(&journal->lock);
    while (sub == journal->read_sub && journal->ring_count == JOURNAL_RING_SIZE)
        pthread_cond_wait(&journal->changed, &journal->lock);
    if (sub != journal->read_sub) {
        pthread_mutex_unlock(&journal->lock);
        if (prepared != NULL)
            journal->release(journal->prepare_context, prepared);
        natsMsg_Destroy(msg);
        return;
    }
    uint32_t at = (journal->ring_head + journal->ring_count) % JOURNAL_RING_SIZE;
    journal->ring[at] = msg;
    journal->ring_prepared[at] = prepared;
    journal->ring_count++;
    pthread_cond_broadcast(&journal->changed);
    pthread_mutex_unlock(&journal->lock);
    uint64_t one = 1;
    if (write(journal->wake_fd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is at its maximum, so it is readable anyway. */
    }
}

/* Takes the oldest queued message, waiting until deadline_ms (or not at
 * all when it has passed). Returns it, or NULL; *prepared gets what
 * prepare made of it. */
static natsMsg *read_take(struct journal *journal, int64_t deadline_ms, void **prepared)
{
    pthread_mutex_lock(&journal->lock);
    while (journal->ring_count == 0 && clock_now_ms() < deadline_ms) {
        struct timespec until = clock_timespec_ms(deadline_ms);
        pthread_cond_timedwait(&journal->changed, &journal->lock, &until);
    }
    natsMsg *msg = NULL;
    *prepared = NULL;
    if (journal->ring_count > 0) {
        msg = journal->ring[journal->ring_head];
        *prepared = journal->ring_prepared[journal->ring_head];
        journal->ring_head = (journal->ring_head + 1) % JOURNAL_RING_SIZE;
        journal->ring_count--;
        pthread_cond_broadcast(&journal->changed); /* room for a waiting delivery */
    }
    pthread_mutex_unlock(&journal->lock);
    return msg;
}

/* libnats: a subscription's delivery thread delivered its last message. */
static void read_completed(void *closure)
{
    struct journal *journal = closure;
    pthread_mutex_lock(&journal->lock);
    journal->subs_completed++;
    pthread_cond_broadcast(&journal->changed);
    pthread_mutex_unlock(&journal->lock);
}

/* Ends the read subscription and drops what it queued. Returns whether
 * its delivery thread is done with the journal (it is, but after
 * JOURNAL_API_WAIT_MS the wait gives up rather than hang a stopping node). */
static bool read_reset(struct journal *journal)
{
    pthread_mutex_lock(&journal->lock);
    natsSubscription *sub = journal->read_sub;
    journal->read_sub = NULL;
    while (journal->ring_count > 0) {
        natsMsg_Destroy(journal->ring[journal->ring_head]);
        /* Released before the delivery thread is awaited below: a prepare
         * waiting for room (a bounded pool) can then finish. */
        if (journal->ring_prepared[journal->ring_head] != NULL)
            journal->release(journal->prepare_context,
                             journal->ring_prepared[journal->ring_head]);
        journal->ring_head = (journal->ring_head + 1) % JOURNAL_RING_SIZE;
        journal->ring_count--;
    }
    pthread_cond_broadcast(&journal->changed); /* a waiting delivery drops its message */
    pthread_mutex_unlock(&journal->lock);
    /* Unsubscribing does not delete the consumer (a request that would
     * block while the server is away); the server removes an ephemeral
     * consumer with no subscriber by itself. */
    if (sub != NULL)
        natsSubscription_Unsubscribe(sub);
    int64_t deadline_ms = clock_now_ms() + JOURNAL_API_WAIT_MS;
    pthread_mutex_lock(&journal->lock);
    while (journal->subs_completed < journal->subs_created && clock_now_ms() < deadline_ms) {
        struct timespec until = clock_timespec_ms(deadline_ms);
        pthread_cond_timedwait(&journal->changed, &journal->lock, &until);
    }
    bool quiet = journal->subs_completed == journal->subs_created;
    pthread_mutex_unlock(&journal->lock);
    natsSubscription_Destroy(sub);
    return quiet;
}

static int read_subscribe(struct journal *journal, uint64_t from_seq)
{
    assert(journal->read_sub == NULL);
    jsSubOptions options;
    jsSubOptions_Init(&options);
    options.Stream = journal->stream_name;
    options.Ordered = true;
    options.Config.DeliverPolicy = js_DeliverByStartSequence;
    options.Config.OptStartSeq = from_seq;
    options.Config.Heartbeat = (int64_t)JOURNAL_READ_HEARTBEAT_MS * 1000000;
    jsErrCode js_error = 0;
    natsSubscription *sub = NULL;
    /* Held across the subscribe, so that the first deliveries wait until
     * read_sub names their subscription. */
    pthread_mutex_lock(&journal->lock);
    natsStatus s = js_Subscribe(&sub, journal->js, journal->subject, read_arrived, journal, NULL,
                                &options, &js_error);
    if (s == NATS_OK) {
        s = natsSubscription_SetOnCompleteCB(sub, read_completed, journal);
        journal->subs_created += s == NATS_OK;
    }
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(sub, -1, JOURNAL_READ_PENDING_BYTES_MAX);
    if (s == NATS_OK)
        journal->read_sub = sub;
    pthread_mutex_unlock(&journal->lock);
    if (s != NATS_OK) {
        char what[128];
        snprintf(what, sizeof what, "journal: reading %s from %" PRIu64, journal->stream_name,
                 from_seq);
        journal_nats_error(journal->error, sizeof journal->error, what, s, js_error);
        if (sub != NULL) {
            /* Never named in read_sub: it delivers nothing, and ends. */
            natsSubscription_Unsubscribe(sub);
            natsSubscription_Destroy(sub);
        }
        return ERR_IO;
    }
    journal->read_next_seq = from_seq;
    return 0;
}
/* read_subscribe, but a failure is retried (JOURNAL_READ_RETRY_MS apart,
 * read_sub NULL meanwhile) until it has lasted JOURNAL_READ_RETRY_MAX_MS:
 * then ERR_IO. Returns 0 (made, or to be tried again) or ERR_IO. */
static int read_subscribe_retried(struct journal *journal, uint64_t from_seq)
{
    int64_t now_ms = clock_now_ms();
    if (journal->read_failing_since_ms != 0 && now_ms < journal->read_retry_ms)
        return 0;
    if (journal->read_failing_since_ms == 0)
        journal->read_gap_seq = journal->read_gap_seq == from_seq ? from_seq : 0;
    if (read_subscribe(journal, from_seq) == 0) {
        if (journal->read_failing_since_ms != 0)
            fprintf(stderr, "nodown: journal: reading %s from %" PRIu64 " again after %" PRId64
                    " ms\n", journal->stream_name, from_seq,
                    now_ms - journal->read_failing_since_ms);
        journal->read_failing_since_ms = 0;
        return 0;
    }
    if (journal->read_failing_since_ms == 0) {
        journal->read_failing_since_ms = now_ms;
        fprintf(stderr, "nodown: %s; trying again every %d ms for up to %d s\n", journal->error,
                JOURNAL_READ_RETRY_MS, JOURNAL_READ_RETRY_MAX_MS / 1000);
    }
    if (now_ms - journal->read_failing_since_ms >= JOURNAL_READ_RETRY_MAX_MS)
        return ERR_IO;
    journal->read_retry_ms = now_ms + JOURNAL_READ_RETRY_MS;
    return 0;
}

/* Checks one message against the expected sequence and delivers it.
 * Returns 0 (delivered, or a repeat dropped), 1 (a gap: the consumer was
 * recreated at the expected sequence), cb's value, or ERR_IO. */
static int read_message(struct journal *journal, natsMsg *msg, journal_message_cb cb,
                        void *context)
{
    jsMsgMetaData *meta = NULL;
    natsStatus s = natsMsg_GetMetaData(&meta, msg);
    if (s != NATS_OK) {
        journal_nats_error(journal->error, sizeof journal->error,
                          "journal: message without JetStream metadata", s, 0);
        return ERR_IO;
    }
    uint64_t seq = meta->Sequence.Stream;
    uint64_t timestamp_ns = meta->Timestamp > 0 ? (uint64_t)meta->Timestamp : 0;
    jsMsgMetaData_Destroy(meta);
    const char *stored = NULL; /* a promoted stream's copy keeps the primary's time */
    if (natsMsgHeader_Get(msg, JOURNAL_HEADER_STORED_NS, &stored) == NATS_OK && stored != NULL)
        timestamp_ns = strtoull(stored, NULL, 10);
    uint64_t expected = journal->read_next_seq;
    if (seq < expected)
        return 0; /* already delivered: never twice */
    if (seq > expected) {
        read_reset(journal);
        if (journal->read_gap_seq == expected) {
            snprintf(journal->error, sizeof journal->error, "journal: stream %s no longer "
                     "holds messages %" PRIu64 "..%" PRIu64 " (deleted or purged)",
                     journal->stream_name, expected, seq - 1);
            return ERR_IO;
        }
        journal->read_gap_seq = expected;
        /* Made again at the next read if it cannot be now (read_sub NULL). */
        (void)read_subscribe_retried(journal, expected);
        return 1;
    }
    journal->read_gap_seq = 0;
    journal->read_next_seq = seq + 1;
    return cb(context, seq, timestamp_ns, natsMsg_GetData(msg),
              (size_t)natsMsg_GetDataLength(msg));
}

/* Wakes a poll() on journal_wake_fd() no more: called before the ring is
 * drained, so a message queued after it bumps the eventfd again. */
static void read_wake_clear(struct journal *journal)
{
    uint64_t count = 0;
    if (read(journal->wake_fd, &count, sizeof count) < 0) {
        /* EAGAIN: nothing was signalled. */
    }
}

int journal_read(struct journal *journal, uint64_t from_seq, uint32_t max_messages,
                 int timeout_ms, journal_message_cb cb, void *context, uint64_t *next_seq)
{
    assert(journal != NULL && cb != NULL && next_seq != NULL);
    assert(from_seq >= 1);
    assert(max_messages >= 1);
    *next_seq = from_seq;
    if (journal->read_sub != NULL && journal->read_next_seq != from_seq)
        read_reset(journal);
    if (journal->read_sub == NULL) {
        int rv = read_subscribe_retried(journal, from_seq);
        if (rv != 0 || journal->read_sub == NULL)
            return rv; /* an error, or nothing to read until the next try */
    }
    read_wake_clear(journal);
    int64_t deadline_ms = clock_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    uint32_t delivered = 0;
    int rv = 0;
    while (rv == 0 && delivered < max_messages) {
        /* Waits only for the first message. */
        void *prepared = NULL;
        natsMsg *msg = read_take(journal, delivered == 0 ? deadline_ms : 0, &prepared);
        if (msg == NULL)
            break;
        uint64_t before = journal->read_next_seq;
        journal->current_prepared = prepared;
        rv = read_message(journal, msg, cb, context);
        journal->current_prepared = NULL;
        if (prepared != NULL)
            journal->release(journal->prepare_context, prepared);
        natsMsg_Destroy(msg);
        if (journal->read_next_seq > before)
            delivered++;
        if (rv == 1)
            rv = 0; /* a gap: the consumer was recreated, wait for it */
    }
    *next_seq = journal->read_next_seq;
    assert(*next_seq == from_seq + delivered);
    return rv;
}

void journal_set_prepare(struct journal *journal, journal_prepare_cb prepare,
                         journal_release_cb release, void *context)
{
    assert(journal->read_sub == NULL); /* before the first read */
    assert((prepare == NULL) == (release == NULL));
    journal->prepare = prepare;
    journal->release = release;
    journal->prepare_context = context;
}

void *journal_prepared(const struct journal *journal)
{
    return journal->current_prepared;
}

bool journal_read_pending(struct journal *journal)
{
    pthread_mutex_lock(&journal->lock);
    bool pending = journal->ring_count > 0;
    pthread_mutex_unlock(&journal->lock);
    return pending;
}

int journal_wake_fd(const struct journal *journal)
{
    return journal->wake_fd;
}

/* ---- The rest. ---- */

static void stream_info_copy(const jsStreamInfo *info, struct journal_stream_info *out)
{
    out->first_seq = info->State.FirstSeq;
    out->last_seq = info->State.LastSeq;
    out->messages = info->State.Msgs;
    out->bytes = info->State.Bytes;
    const jsClusterInfo *cluster = info->Cluster;
    if (cluster != NULL && cluster->Leader != NULL)
        snprintf(out->leader, sizeof out->leader, "%s", cluster->Leader);
    for (int i = 0; cluster != NULL && i < cluster->ReplicasLen &&
                    out->peer_count < JOURNAL_PEERS_MAX; i++) {
        const jsPeerInfo *peer = cluster->Replicas[i];
        uint32_t at = out->peer_count++;
        snprintf(out->peers[at].name, sizeof out->peers[at].name, "%s",
                 peer->Name != NULL ? peer->Name : "?");
        out->peers[at].current = peer->Current;
        out->peers[at].offline = peer->Offline;
        out->peers[at].lag = peer->Lag;
    }
    const char *description = info->Config != NULL ? info->Config->Description : NULL;
    snprintf(out->description, sizeof out->description, "%s",
             description != NULL ? description : "");
    out->promoted = strncmp(out->description, JOURNAL_PROMOTED_PREFIX,
                            strlen(JOURNAL_PROMOTED_PREFIX)) == 0;
    out->mirror = info->Config != NULL && info->Config->Mirror != NULL;
    out->mirror_active_ms = info->Mirror != NULL ? info->Mirror->Active / 1000000 : -1;
    out->mirror_lag = info->Mirror != NULL ? info->Mirror->Lag : 0;
}

int journal_stream_lookup(struct journal *journal, const char *stream_name,
                          struct journal_stream_info *out)
{
    assert(journal != NULL && stream_name != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    jsStreamInfo *info = NULL;
    jsErrCode js_error = 0;
    natsStatus s = js_GetStreamInfo(&info, journal->js, stream_name, NULL, &js_error);
    if (s == NATS_NOT_FOUND || js_error == JSStreamNotFoundErr) {
        snprintf(journal->error, sizeof journal->error, "journal: no stream %.64s",
                 stream_name);
        return ERR_NOT_FOUND;
    }
    if (s != NATS_OK) {
        char what[128];
        snprintf(what, sizeof what, "journal: stream %.64s info", stream_name);
        journal_nats_error(journal->error, sizeof journal->error, what, s, js_error);
        return ERR_IO;
    }
    stream_info_copy(info, out);
    jsStreamInfo_Destroy(info);
    return 0;
}

int journal_stream_info(struct journal *journal, struct journal_stream_info *out)
{
    assert(journal != NULL);
    int rv = journal_stream_lookup(journal, journal->stream_name, out);
    return rv == ERR_NOT_FOUND ? ERR_IO : rv;
}

int journal_follow(struct journal *journal, const char *stream_name)
{
    assert(journal != NULL && stream_name != NULL);
    if (!name_is_valid(stream_name, JOURNAL_STREAM_NAME_SIZE, false))
        return ERR_USAGE;
    /* The next journal_read starts a consumer on the new stream where the
     * old one would have gone on. */
    if (journal->read_sub != NULL)
        read_reset(journal);
    snprintf(journal->stream_name, sizeof journal->stream_name, "%s", stream_name);
    journal->mirror = false;
    return 0;
}

natsMsg *journal_api(struct journal *journal, const char *what, const char *subject,
                     const char *payload)
{
    natsMsg *reply = NULL;
    natsStatus s = natsConnection_Request(&reply, journal->connection, subject, payload,
                                          (int)strlen(payload), JOURNAL_API_WAIT_MS);
    if (s != NATS_OK) {
        journal_nats_error(journal->error, sizeof journal->error, what, s, 0);
        return NULL;
    }
    return reply;
}

int journal_stream_step_down(struct journal *journal)
{
    assert(journal != NULL);
    char subject[JOURNAL_STREAM_NAME_SIZE + 64];
    snprintf(subject, sizeof subject, "$JS.API.STREAM.LEADER.STEPDOWN.%s",
             journal->stream_name);
    /* The answer is {"success":true}, or an "error" object. */
    natsMsg *reply = journal_api(journal, "journal: leader step-down", subject, "");
    const char *data = reply != NULL ? natsMsg_GetData(reply) : NULL;
    bool ok = data != NULL && strstr(data, "\"success\":true") != NULL;
    if (reply != NULL && !ok)
        snprintf(journal->error, sizeof journal->error, "journal: leader step-down: %.300s",
                 data != NULL ? data : "no answer");
    natsMsg_Destroy(reply);
    return ok ? 0 : ERR_IO;
}

int journal_stream_purge_below(struct journal *journal, uint64_t seq, uint64_t *purged)
{
    assert(journal != NULL && seq >= 1 && purged != NULL);
    char subject[JOURNAL_STREAM_NAME_SIZE + 64], payload[64];
    snprintf(subject, sizeof subject, "$JS.API.STREAM.PURGE.%s", journal->stream_name);
    snprintf(payload, sizeof payload, "{\"seq\":%" PRIu64 "}", seq);
    natsMsg *reply = journal_api(journal, "journal: purge", subject, payload);
    const char *data = reply != NULL ? natsMsg_GetData(reply) : NULL;
    const char *count = data != NULL ? strstr(data, "\"purged\":") : NULL;
    bool ok = data != NULL && strstr(data, "\"success\":true") != NULL;
    *purged = count != NULL ? strtoull(count + 9, NULL, 10) : 0;
    if (reply != NULL && !ok)
        snprintf(journal->error, sizeof journal->error, "journal: purge: %.300s",
                 data != NULL ? data : "no answer");
    natsMsg_Destroy(reply);
    return ok ? 0 : ERR_IO;
}

int journal_last_seq(struct journal *journal, uint64_t *last_seq)
{
    assert(last_seq != NULL);
    struct journal_stream_info info;
    int rv = journal_stream_info(journal, &info);
    if (rv == 0)
        *last_seq = info.last_seq; /* on failure, left as it was */
    return rv;
}

bool journal_connected(const struct journal *journal)
{
    assert(journal != NULL);
    return natsConnection_Status(journal->connection) == NATS_CONN_STATUS_CONNECTED;
}

const char *journal_error(const struct journal *journal)
{
    assert(journal != NULL);
    return journal->error;
}

const char *journal_publish_error(const struct journal *journal)
{
    assert(journal != NULL);
    return journal->publish_error;
}

void journal_close(struct journal *journal)
{
    if (journal == NULL)
        return;
    bool quiet = journal->sync_ready ? read_reset(journal) : true;
    jsCtx_Destroy(journal->js);
    natsConnection_Destroy(journal->connection);
    if (!quiet)
        return; /* a delivery thread may still touch it: leave it (we are stopping) */
    if (journal->sync_ready) {
        pthread_cond_destroy(&journal->changed);
        pthread_mutex_destroy(&journal->lock);
    }
    if (journal->wake_fd >= 0)
        close(journal->wake_fd);
    free(journal);
}
