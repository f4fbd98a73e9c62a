/* The feed: what a replica applied, handed to the consumers that keep it
 * elsewhere (the history archive, the PostgreSQL export), each on its own
 * thread, so that writing never runs on the apply loop.
 *
 * For every stream message the replica applies completely, each consumer
 * receives, in this order:
 *
 *   FEED_BATCH        the message: stream_seq, time_ns, command count
 *   for each command i of the batch, in order:
 *     FEED_EVENT      each event command i emitted (index = i)
 *     FEED_COMMAND    command i and its outcome (index = i)
 *   FEED_BALANCE      each account the batch may have changed, as it
 *                     is after it, in account id order: every sender, a
 *                     command's account and its parents, a trade's two
 *                     sides and the house, a bet's member and its PT
 *                     levels (the same on every replica, whatever it
 *                     applied before)
 *   FEED_BATCH_END    the message is whole: a consumer may now record
 *                     stream_seq as done
 *
 * A message the replica stops in (a logic version it cannot run) gets no
 * FEED_BATCH_END: its records are never part of a consumer's position.
 *
 * Exactly once: each consumer keeps its own position (the last stream_seq
 * whose records it stored) durably beside its rows, and tells it here
 * (feed_consumer_committed). At start the replica loads its newest
 * snapshot at or below the lowest position (feed_floor_seq) and records
 * of a message at or below a consumer's position are not handed to it
 * again; so after a crash of the consumer, of the node, or both, every
 * message reaches every consumer once.
 *
 * Each consumer has a ring of FEED_RING_RECORDS records (one producer,
 * the apply loop; one consumer thread). When a ring is full the apply
 * loop waits for it (feed_stall_ns): the archive and the export must keep
 * up, and a consumer's lag is visible in /metrics. Nothing is allocated
 * after feed_consumer_init.
 */
#ifndef NODOWN_REPLICA_FEED_H
#define NODOWN_REPLICA_FEED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/command.h"
#include "core/engine.h"
#include "core/event.h"

#define FEED_RING_RECORDS (1u << 16)
#define FEED_CONSUMERS_MAX 4u
#define FEED_INDEX_NONE 0xFFFFu

enum feed_kind {
    FEED_BATCH = 1,
    FEED_EVENT = 2,
    FEED_COMMAND = 3,
    FEED_BALANCE = 4,
    FEED_BATCH_END = 5,
};

struct feed_balance {
    uint32_t account_id;
    uint32_t parent_id;
    uint8_t kind;   /* enum account_kind */
    uint8_t status; /* enum account_status */
    int64_t balance_minor;
    int64_t credit_limit_minor;
    int64_t reserved_minor;
    int64_t stake_open_minor;
};

struct feed_record {
    uint64_t stream_seq;
    uint64_t time_ns;    /* the stream's stored time, made monotonic */
    uint16_t kind;       /* enum feed_kind */
    uint16_t index;      /* the command's index in its batch, or FEED_INDEX_NONE */
    uint32_t logic_version; /* active after this record's command */
    union {
        struct {
            uint32_t command_count;
        } batch;
        struct event event;
        struct {
            struct command command;
            struct outcome outcome;
        } command;
        struct feed_balance balance;
    } u;
};

struct feed_consumer {
    char name[16];
    struct feed_record *records; /* FEED_RING_RECORDS */
    _Atomic uint64_t head;       /* written by the apply loop */
    _Atomic uint64_t tail;       /* written by the consumer */
    /* The last stream_seq the consumer stored durably (its own thread). */
    _Atomic uint64_t committed_seq;
    /* The last stream_seq the apply loop handed to it. */
    _Atomic uint64_t offered_seq;
    /* Messages at or below it are not handed to it (its position at open). */
    uint64_t resume_after;
    _Atomic uint64_t stall_ns;   /* the apply loop's waits for room */
};

struct feed {
    struct feed_consumer *consumers[FEED_CONSUMERS_MAX];
    uint32_t count;
    /* The batch being applied. */
    uint64_t stream_seq;
    uint64_t time_ns;
    uint32_t command_index;
    /* Accounts the batch touched, each once (touched_mark[id] == epoch). */
    uint32_t *touched;
    uint32_t touched_count;
    uint32_t *touched_mark;
    uint32_t touched_epoch;
    uint32_t accounts_max;
    const struct engine *engine; /* the batch's, for the accounts' tree */
};

/* Allocates a consumer's ring; position: the last stream_seq it holds
 * (0: none). Returns 0 or ERR_NOMEM. */
int feed_consumer_init(struct feed_consumer *consumer, const char *name, uint64_t position);
void feed_consumer_free(struct feed_consumer *consumer);

/* The consumer's thread: copies up to max records into out, waiting at
 * most wait_ms for the first. Returns how many. */
uint32_t feed_consumer_read(struct feed_consumer *consumer, struct feed_record *out, uint32_t max,
                            uint32_t wait_ms);

/* The consumer's thread: its rows up to stream_seq are stored for good. */
void feed_consumer_committed(struct feed_consumer *consumer, uint64_t stream_seq);

/* How far behind the apply loop the consumer's stored position is. */
uint64_t feed_consumer_lag(const struct feed_consumer *consumer);

int feed_init(struct feed *feed, const struct limits *limits);
void feed_free(struct feed *feed);
/* Adds a consumer (at most FEED_CONSUMERS_MAX); before the first batch. */
void feed_add(struct feed *feed, struct feed_consumer *consumer);

/* The lowest position of the consumers (UINT64_MAX with none): the
 * replica keeps a snapshot at or below it, and opens from one. */
uint64_t feed_floor_seq(const struct feed *feed);

/* The replica's apply, around engine_apply_batch. */
void feed_batch_begin(struct feed *feed, const struct engine *engine, uint64_t stream_seq,
                      uint64_t time_ns, uint32_t command_count, uint32_t logic_version);
/* An event_sink's callbacks (context: the feed). */
void feed_command_begin(void *context, uint32_t index);
void feed_event(void *context, const struct event *event);
void feed_command(struct feed *feed, uint32_t index, const struct command *command,
                  const struct outcome *outcome, uint32_t logic_version);
void feed_batch_end(struct feed *feed, const struct engine *engine);

#endif
