/* The replicated journal: a NATS JetStream stream, reached through libnats
 * (docs/journal.md). nodown writes no journal of its own: a gateway
 * publishes each batch of commands as one stream message, and every node
 * reads the stream in order from its snapshot's sequence + 1. The stream's
 * sequence number is the one order all nodes agree on.
 *
 *   journal_open      connect (reconnecting forever), create or check the stream
 *   journal_publish   one batch, with a message id: retried until it is stored
 *                     once, a resend within the duplicate window is dropped
 *                     (on one server and on a cluster)
 *   journal_read      messages in stream order from a sequence, never a gap,
 *                     never a repeat, with each one's stored timestamp
 *   journal_last_seq  the stream's last sequence (stream info)
 *
 * libnats types stay inside journal.c. journal_publish may run on one
 * thread while everything else runs on another (the gateway's publisher
 * does so); otherwise a journal is used from one thread at a time.
 * libnats runs its own threads for the connection and the read
 * subscription.
 */
#ifndef NODOWN_REPLICA_JOURNAL_H
#define NODOWN_REPLICA_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A message id: printable ASCII, 1..JOURNAL_MSG_ID_SIZE_MAX bytes. */
#define JOURNAL_MSG_ID_SIZE_MAX 128u
/* One publish attempt waits at most this long for the stream's ack before
 * it is sent again with the same message id: a request sent just before
 * the connection dropped, or to a stream leader stepping down, gets no
 * answer, and waiting the caller's whole timeout for it would waste the
 * time a retry needs (bench cluster: the longest ack across a step-down
 * was 1.07 s with 1 s attempts, 0.28 s with 200 ms). A late ack only
 * costs a resend that the duplicate window drops. */
#define JOURNAL_PUBLISH_ATTEMPT_MS 200
/* Idle heartbeat of the read consumer: a reader notices a lost consumer
 * (its server restarted) after two missed heartbeats and recreates it. */
#define JOURNAL_READ_HEARTBEAT_MS 1000
/* A read consumer that cannot be made (a stream between leaders, a server
 * of the cluster just killed: "Timeout") is tried again every
 * JOURNAL_READ_RETRY_MS, reading nothing meanwhile, and is an error only
 * after JOURNAL_READ_RETRY_MAX_MS of failures. */
#define JOURNAL_READ_RETRY_MS 250
#define JOURNAL_READ_RETRY_MAX_MS 60000

struct journal;

struct journal_config {
    const char *urls;            /* comma separated, "nats://host:port,..." */
    const char *stream_name;     /* "NODOWN" */
    const char *subject;         /* "nodown.batch" */
    int replicas;                /* 1 for the embedded default, 3 (or 5) for a cluster */
    int64_t duplicate_window_ms; /* e.g. 120000 */
    /* A disaster-recovery site (docs/cluster.md): when mirror_of is set,
     * stream_name is a mirror of the primary's stream mirror_of, reached
     * through the site's leafnode connection at the JetStream API prefix
     * mirror_api ("$JS.primary.API"). It has no subjects: nothing can
     * publish to it, and journal_publish refuses. */
    const char *mirror_of;
    const char *mirror_api;
    bool must_exist;             /* never create the stream: it is an error if missing */
};

/* nodown's stream: its name, its one subject and its duplicate window
 * (docs/journal.md), and the name of a disaster-recovery site's mirror of
 * it (docs/cluster.md). */
#define JOURNAL_STREAM "NODOWN"
#define JOURNAL_STREAM_MIRROR "NODOWN_DR"
#define JOURNAL_SUBJECT "nodown.batch"
#define JOURNAL_DUPLICATE_WINDOW_MS 120000

/* The configuration of nodown's stream on the servers in urls, with
 * replicas copies: what every node, tool and test opens. */
struct journal_config journal_config_stream(const char *urls, int replicas);

/* The same for a DR site's mirror of it; mirror_api is the primary's
 * JetStream API prefix ("$JS.primary.API") and must outlive the config. */
struct journal_config journal_config_mirror(const char *urls, int replicas,
                                            const char *mirror_api);

/* Header that a promotion's copy carries with the time the primary
 * stored the message (UTC nanoseconds, decimal): the reader takes a
 * message's time from it when present, so a node replaying the promoted
 * stream computes the same state as one that read the mirror. */
#define JOURNAL_HEADER_STORED_NS "Nodown-Stored-Ns"
/* A promoted stream's description starts with this. */
#define JOURNAL_PROMOTED_PREFIX "nodown: promoted"

/* Called for each message, in stream order. timestamp_ns is the time the
 * stream stored it (UTC nanoseconds, the leader's wall clock: not
 * guaranteed monotonic, see docs/journal.md). data is valid only during
 * the call. A non-zero return stops journal_read, which returns it; the
 * message counts as delivered (next_seq is past it). */
typedef int (*journal_message_cb)(void *context, uint64_t stream_seq, uint64_t timestamp_ns,
                                  const void *data, size_t size);

/* Connects to the servers in config->urls (libnats reconnects forever
 * afterwards, every ~50 ms, to any of them), then creates the stream if it
 * is missing (file storage, config->replicas, the duplicate window,
 * limits retention with no limits), or checks that the existing one has
 * exactly these settings; nothing of an existing stream is ever updated.
 * Before the stream, it asks the server it reached for its version (its
 * INFO line) and refuses one older than 2.10.0. Returns 0, ERR_USAGE (bad
 * config), ERR_NOT_FOUND (missing and must_exist), ERR_VERSION (the server
 * is too old: the message says how to install the right one), or ERR_IO
 * (cannot connect, stream incompatible or not created) with a message in
 * errmsg. */
int journal_open(struct journal **out, const struct journal_config *config, char *errmsg,
                 size_t errmsg_size);

/* Header every published batch carries with its id (journal_publish's
 * msg_id), for a person reading the stream. */
#define JOURNAL_HEADER_BATCH_ID "Nodown-Batch-Id"

/* Publishes one message with the headers Nats-Msg-Id and
 * JOURNAL_HEADER_BATCH_ID, both msg_id, and waits
 * until the stream has stored it. On a timeout, no responders or a lost
 * connection it sends it again, with the same id, until timeout_ms has
 * passed. The stream remembers ids for its duplicate window, so the
 * message is stored once: a resend it has already seen returns the first
 * sequence with *duplicate = true (also when an attempt of this same call
 * timed out but was stored, and a later one was answered).
 *
 * This holds on one server and on a cluster alike, with nats-server 2.10
 * (journal.c says why 2.9.10 was not safe on a cluster, docs/cluster.md
 * what it did). One case is left to the layer above: a resend that
 * reaches a new leader before the old leader's first copy is committed
 * can be stored again, and the state machine answers the second copy's
 * commands as resends (client_id, client_seq). A batch id must never
 * name two different batches.
 *
 * Returns 0 with *stream_seq, or ERR_IO with a message in the journal
 * (journal_publish_error). A message the server refuses for good (too
 * large) fails at once. */
int journal_publish(struct journal *journal, const void *data, size_t size, const char *msg_id,
                    int timeout_ms, uint64_t *stream_seq, bool *duplicate);

/* Optional work on each message as it arrives, on libnats' delivery
 * thread, ahead of journal_read: prepare returns what it made of the
 * message (a decoded batch, say; it may block, which holds the delivery
 * back), NULL for nothing; journal_prepared() gives it to the message
 * callback, and release gets it back after the callback, or when the
 * message is dropped unread. Set before the first journal_read; the
 * context must outlive the journal. */
typedef void *(*journal_prepare_cb)(void *context, const void *data, size_t size);
typedef void (*journal_release_cb)(void *context, void *prepared);
void journal_set_prepare(struct journal *journal, journal_prepare_cb prepare,
                         journal_release_cb release, void *context);

/* During a message callback: what prepare made of this message, or NULL. */
void *journal_prepared(const struct journal *journal);

/* Delivers messages from sequence from_seq on, in order, to cb. Waits up
 * to timeout_ms for the first one (0: takes only messages already here);
 * once one is delivered it goes on while more are already at hand and
 * returns when none is (or after max_messages), so a caller's loop keeps
 * its other duties. *next_seq is
 * the sequence to ask for next (from_seq + messages delivered). Returns 0
 * (also when nothing came), cb's non-zero value, or ERR_IO when the stream
 * no longer holds a message it should (deleted or purged: never skipped)
 * or the consumer cannot be created; the message is in journal_error.
 *
 * The consumer is an ordered push consumer kept between calls: a call
 * with from_seq equal to the previous *next_seq goes on with it, any
 * other from_seq starts a new one there. Creating one is a JetStream API
 * request, which can take up to 5 s (past timeout_ms) when the server
 * does not answer. */
int journal_read(struct journal *journal, uint64_t from_seq, uint32_t max_messages,
                 int timeout_ms, journal_message_cb cb, void *context, uint64_t *next_seq);

/* Whether messages are queued for journal_read right now. */
bool journal_read_pending(struct journal *journal);

/* An eventfd that becomes readable when a message is queued for
 * journal_read (which clears it): poll() it with the sockets. */
int journal_wake_fd(const struct journal *journal);

/* The stream's last sequence (0 if empty), from stream info. */
int journal_last_seq(struct journal *journal, uint64_t *last_seq);

/* The stream as its cluster sees it, from stream info: where it leads and
 * how far each other copy is behind. */
#define JOURNAL_PEERS_MAX 8u
struct journal_stream_info {
    uint64_t first_seq;
    uint64_t last_seq;
    uint64_t messages;
    uint64_t bytes;
    char leader[64];           /* "" on a single server without a cluster */
    uint32_t peer_count;       /* the other copies */
    struct {
        char name[64];
        bool current;
        bool offline;
        uint64_t lag;          /* operations behind the leader */
    } peers[JOURNAL_PEERS_MAX];
    char description[128];
    bool promoted;             /* description starts with JOURNAL_PROMOTED_PREFIX */
    bool mirror;               /* a mirror of another stream: */
    int64_t mirror_active_ms;  /* since it last heard from its source */
    uint64_t mirror_lag;       /* messages its source has that it lacks */
};
int journal_stream_info(struct journal *journal, struct journal_stream_info *info);

/* The same for another stream of the journal's servers (this site's).
 * Returns 0, ERR_NOT_FOUND when there is no such stream, or ERR_IO. */
int journal_stream_lookup(struct journal *journal, const char *stream_name,
                          struct journal_stream_info *info);

/* From the next journal_read on, reads (and publishes to) stream_name,
 * which must number its messages as the current one does: a promoted
 * site's stream after its mirror (journal_promote). Returns 0 or
 * ERR_USAGE (a bad name). */
int journal_follow(struct journal *journal, const char *stream_name);

/* Promotion of a disaster-recovery site to primary (journal_promote.c).
 * The journal reads the site's mirror (journal_config.mirror_of); target
 * describes the primary stream to make at the site (the name and subject
 * the primary had). journal_promote creates it with a description saying
 * "promoting" and its first sequence the mirror's first (nats-server
 * 2.10's first_seq), copies every message of the mirror at the same
 * sequence (each expecting the one before it as the stream's last) with
 * the id nodown-copy-SEQ and JOURNAL_HEADER_STORED_NS, then sets the
 * description to
 * JOURNAL_PROMOTED_PREFIX " from MIRROR at sequence N". Run again after
 * a crash, it goes on from the copy's last message; on a stream already
 * promoted it copies nothing. The mirror must not grow meanwhile (its
 * source, the primary, is gone or has no writers): a message it gains
 * after the copy ended is not in the promoted stream. */
struct journal_promotion {
    uint64_t first_seq; /* the promoted stream's first message */
    uint64_t last_seq;  /* and its last: everything this site holds */
    uint64_t copied;    /* by this call */
    bool already;       /* it was promoted before this call */
};
typedef void (*journal_progress_cb)(void *context, uint64_t seq, uint64_t last_seq);
int journal_promote(struct journal *journal, const struct journal_config *target,
                    journal_progress_cb progress, void *context,
                    struct journal_promotion *out);

/* Asks the stream's leader to step down, so that another copy leads (a
 * planned restart of the leader's server then costs an election among the
 * others, not a timeout): JetStream's $JS.API.STREAM.LEADER.STEPDOWN.
 * Returns 0 when the leader accepted, or ERR_IO (journal_error). */
int journal_stream_step_down(struct journal *journal);

/* Removes the stream's messages below seq (JetStream's purge, keeping seq
 * and after): what no node needs any more, every node having a snapshot
 * at seq - 1 or later. Returns 0 with *purged, or ERR_IO (journal_error). */
int journal_stream_purge_below(struct journal *journal, uint64_t seq, uint64_t *purged);

/* Whether the connection to NATS is up right now (for /status). */
bool journal_connected(const struct journal *journal);

/* The message of the last error of read or last_seq ... */
const char *journal_error(const struct journal *journal);
/* ... and of publish. */
const char *journal_publish_error(const struct journal *journal);

void journal_close(struct journal *journal);

#endif
