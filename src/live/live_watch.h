/* The live feed's side on the apply loop (docs/live.md): after each stream
 * message the replica applied whole, what changed for a market-data
 * subscriber, read from the state itself, handed to the feed's thread on
 * a ring of its own (one producer, one consumer):
 *
 *   LIVE_DEPTH   an instrument an event touched: its top LIVE_DEPTH_MAX
 *                price levels a side, as the book stands after the message
 *                (what `query book` answers from then on)
 *   LIVE_TRADE   each trade of the message, in order
 *   LIVE_ODDS    a market an event touched: status, odds, results
 *   LIVE_END     the message is whole: every record before it is the state
 *                at stream_seq
 *
 * The apply loop never waits for the feed: a message whose records do not
 * fit the ring is left out and its instruments and markets kept dirty, so
 * the next message that fits carries their state (depth and odds are
 * states, so nothing is lost but the skipped messages' trades, which are
 * counted: trades_dropped). live_watch_all() hands every instrument and
 * market at once: the state the feed starts from.
 */
#ifndef NODOWN_LIVE_LIVE_WATCH_H
#define NODOWN_LIVE_LIVE_WATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/limits.h"
#include "replica/replica.h"

#define LIVE_DEPTH_MAX 10u
#define LIVE_RING_RECORDS (1u << 15)
#define LIVE_TRADES_PER_MESSAGE_MAX 4096u /* more in one message: the rest dropped, counted */

enum live_kind {
    LIVE_DEPTH = 1,
    LIVE_TRADE = 2,
    LIVE_ODDS = 3,
    LIVE_END = 4,
};

struct live_level {
    int64_t price_ticks;
    int64_t quantity;
};

struct live_record {
    uint64_t stream_seq;
    uint64_t time_ns; /* the message's stored time */
    uint16_t kind;    /* enum live_kind */
    uint32_t id;      /* instrument or market */
    union {
        struct {
            uint8_t bid_count;
            uint8_t ask_count;
            struct live_level bids[LIVE_DEPTH_MAX];
            struct live_level asks[LIVE_DEPTH_MAX];
        } depth;
        struct {
            uint8_t taker_side; /* enum side */
            int64_t price_ticks;
            int64_t quantity;
        } trade;
        struct {
            uint8_t status; /* enum market_status */
            uint8_t selection_count;
            uint8_t results[SELECTIONS_MAX];
            int32_t odds_milli[SELECTIONS_MAX];
        } odds;
    } u;
};

struct live_watch {
    struct replica_watch hook; /* replica.watch = &watch->hook */
    struct live_record *ring;  /* LIVE_RING_RECORDS */
    _Atomic uint64_t head;     /* the apply loop's */
    _Atomic uint64_t tail;     /* the feed thread's */
    /* Touched since the last message handed on (marks: epoch-free flags). */
    uint32_t *instruments;
    uint32_t instrument_count;
    uint8_t *instrument_marked;
    uint32_t instruments_max;
    uint32_t *markets;
    uint32_t market_count;
    uint8_t *market_marked;
    uint32_t markets_max;
    struct live_record *trades; /* this message's, LIVE_TRADES_PER_MESSAGE_MAX */
    uint32_t trade_count;
    _Atomic uint64_t trades_dropped;
    _Atomic uint64_t messages_skipped; /* did not fit the ring */
    _Atomic uint64_t handed_seq;       /* the last LIVE_END's */
    void (*wake)(void *context);       /* told after each message handed on, or NULL */
    void *wake_context;
};

/* Returns 0 or ERR_NOMEM. */
int live_watch_init(struct live_watch *watch, const struct limits *limits);
void live_watch_free(struct live_watch *watch);

/* Hands on every instrument's depth and every market's odds as they are at
 * stream_seq (the replica's state now), and LIVE_END; on the apply loop's
 * thread, before the replica applies more. false when the ring is full. */
bool live_watch_all(struct live_watch *watch, const struct engine *engine, uint64_t stream_seq);

/* The feed thread: copies up to max records; returns how many. */
uint32_t live_watch_read(struct live_watch *watch, struct live_record *out, uint32_t max);

#endif
