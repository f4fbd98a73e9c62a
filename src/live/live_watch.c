/* The live feed's side on the apply loop (live_watch.h). */
#include "live/live_watch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "core/state.h"

static void watch_mark_instrument(struct live_watch *watch, uint32_t id)
{
    if (id >= watch->instruments_max || watch->instrument_marked[id])
        return;
    watch->instrument_marked[id] = 1;
    watch->instruments[watch->instrument_count++] = id;
}

static void watch_mark_market(struct live_watch *watch, uint32_t id)
{
    if (id >= watch->markets_max || watch->market_marked[id])
        return;
    watch->market_marked[id] = 1;
    watch->markets[watch->market_count++] = id;
}

static void watch_event(void *context, const struct event *event)
{
    struct live_watch *watch = context;
    switch (event->type) {
    case EVENT_ORDER_ACCEPTED:
    case EVENT_ORDER_DONE:
    case EVENT_ORDER_REPLACED:
        watch_mark_instrument(watch, event->u.order.instrument_id);
        break;
    case EVENT_TRADE:
        watch_mark_instrument(watch, event->u.trade.instrument_id);
        if (watch->trade_count == LIVE_TRADES_PER_MESSAGE_MAX) {
            atomic_fetch_add(&watch->trades_dropped, 1);
            break;
        }
        struct live_record *trade = &watch->trades[watch->trade_count++];
        memset(trade, 0, sizeof *trade);
        trade->kind = LIVE_TRADE;
        trade->id = event->u.trade.instrument_id;
        trade->u.trade.taker_side = event->u.trade.taker_side;
        trade->u.trade.price_ticks = event->u.trade.price_ticks;
        trade->u.trade.quantity = event->u.trade.quantity;
        break;
    case EVENT_ODDS:
        watch_mark_market(watch, (uint32_t)event->id);
        break;
    case EVENT_BET_SETTLED:
        watch_mark_market(watch, event->u.bet.market_id);
        break;
    default:
        break;
    }
}

static void watch_depth(const struct engine *engine, uint32_t id, struct live_record *record)
{
    struct depth_level levels[LIVE_DEPTH_MAX];
    record->kind = LIVE_DEPTH;
    record->id = id;
    uint32_t n = engine_book_depth(engine, id, SIDE_BUY, levels, LIVE_DEPTH_MAX);
    record->u.depth.bid_count = (uint8_t)n;
    for (uint32_t i = 0; i < n; i++)
        record->u.depth.bids[i] = (struct live_level){levels[i].price_ticks, levels[i].quantity};
    n = engine_book_depth(engine, id, SIDE_SELL, levels, LIVE_DEPTH_MAX);
    record->u.depth.ask_count = (uint8_t)n;
    for (uint32_t i = 0; i < n; i++)
        record->u.depth.asks[i] = (struct live_level){levels[i].price_ticks, levels[i].quantity};
}

static void watch_odds(const struct engine *engine, uint32_t id, struct live_record *record)
{
    const struct market *market = &engine->markets[id];
    record->kind = LIVE_ODDS;
    record->id = id;
    record->u.odds.status = market->status;
    record->u.odds.selection_count = market->selection_count;
    memcpy(record->u.odds.results, market->results, sizeof market->results);
    memcpy(record->u.odds.odds_milli, market->odds_milli, sizeof market->odds_milli);
}

/* Room for n more records? */
static bool watch_room(const struct live_watch *watch, uint64_t n)
{
    return atomic_load_explicit(&watch->head, memory_order_relaxed) + n -
               atomic_load_explicit(&watch->tail, memory_order_acquire) <=
           LIVE_RING_RECORDS;
}

static struct live_record *watch_slot(struct live_watch *watch, uint64_t at)
{
    struct live_record *record = &watch->ring[at & (LIVE_RING_RECORDS - 1)];
    memset(record, 0, sizeof *record);
    return record;
}

/* Hands on the marked instruments and markets, the trades and LIVE_END. */
static bool watch_hand_on(struct live_watch *watch, const struct engine *engine,
                          uint64_t stream_seq, uint64_t time_ns)
{
    uint64_t n = (uint64_t)watch->instrument_count + watch->market_count + watch->trade_count + 1;
    if (!watch_room(watch, n)) {
        atomic_fetch_add(&watch->messages_skipped, 1);
        atomic_fetch_add(&watch->trades_dropped, watch->trade_count);
        watch->trade_count = 0; /* the marks stay: the next message carries them */
        return false;
    }
    uint64_t at = atomic_load_explicit(&watch->head, memory_order_relaxed);
    for (uint32_t i = 0; i < watch->trade_count; i++) {
        struct live_record *record = watch_slot(watch, at++);
        *record = watch->trades[i];
        record->stream_seq = stream_seq;
        record->time_ns = time_ns;
    }
    for (uint32_t i = 0; i < watch->instrument_count; i++) {
        struct live_record *record = watch_slot(watch, at++);
        watch_depth(engine, watch->instruments[i], record);
        record->stream_seq = stream_seq;
        record->time_ns = time_ns;
        watch->instrument_marked[watch->instruments[i]] = 0;
    }
    for (uint32_t i = 0; i < watch->market_count; i++) {
        struct live_record *record = watch_slot(watch, at++);
        watch_odds(engine, watch->markets[i], record);
        record->stream_seq = stream_seq;
        record->time_ns = time_ns;
        watch->market_marked[watch->markets[i]] = 0;
    }
    struct live_record *end = watch_slot(watch, at++);
    end->kind = LIVE_END;
    end->stream_seq = stream_seq;
    end->time_ns = time_ns;
    watch->instrument_count = watch->market_count = watch->trade_count = 0;
    atomic_store_explicit(&watch->head, at, memory_order_release);
    atomic_store_explicit(&watch->handed_seq, stream_seq, memory_order_relaxed);
    if (watch->wake != NULL)
        watch->wake(watch->wake_context);
    return true;
}

static void watch_message_end(void *context, const struct engine *engine, uint64_t stream_seq,
                              uint64_t time_ns)
{
    struct live_watch *watch = context;
    if (watch->instrument_count + watch->market_count + watch->trade_count == 0)
        return; /* nothing a subscriber sees changed */
    watch_hand_on(watch, engine, stream_seq, time_ns);
}

bool live_watch_all(struct live_watch *watch, const struct engine *engine, uint64_t stream_seq)
{
    for (uint32_t id = 0; id < engine->instrument_count; id++)
        watch_mark_instrument(watch, id);
    for (uint32_t id = 0; id < engine->market_count; id++)
        watch_mark_market(watch, id);
    return watch_hand_on(watch, engine, stream_seq, 0);
}

int live_watch_init(struct live_watch *watch, const struct limits *limits)
{
    memset(watch, 0, sizeof *watch);
    watch->instruments_max = limits->instruments_max;
    watch->markets_max = limits->markets_max;
    watch->ring = calloc(LIVE_RING_RECORDS, sizeof watch->ring[0]);
    watch->trades = calloc(LIVE_TRADES_PER_MESSAGE_MAX, sizeof watch->trades[0]);
    watch->instruments = calloc(watch->instruments_max + 1u, sizeof watch->instruments[0]);
    watch->instrument_marked = calloc(watch->instruments_max + 1u, 1);
    watch->markets = calloc(watch->markets_max + 1u, sizeof watch->markets[0]);
    watch->market_marked = calloc(watch->markets_max + 1u, 1);
    if (watch->ring == NULL || watch->trades == NULL || watch->instruments == NULL ||
        watch->instrument_marked == NULL || watch->markets == NULL ||
        watch->market_marked == NULL) {
        live_watch_free(watch);
        return ERR_NOMEM;
    }
    atomic_init(&watch->head, 0);
    atomic_init(&watch->tail, 0);
    watch->hook = (struct replica_watch){
        .event = watch_event, .message_end = watch_message_end, .context = watch};
    return 0;
}

void live_watch_free(struct live_watch *watch)
{
    free(watch->ring);
    free(watch->trades);
    free(watch->instruments);
    free(watch->instrument_marked);
    free(watch->markets);
    free(watch->market_marked);
    memset(watch, 0, sizeof *watch);
}

uint32_t live_watch_read(struct live_watch *watch, struct live_record *out, uint32_t max)
{
    uint64_t tail = atomic_load_explicit(&watch->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&watch->head, memory_order_acquire);
    uint32_t n = head - tail < max ? (uint32_t)(head - tail) : max;
    for (uint32_t i = 0; i < n; i++)
        out[i] = watch->ring[(tail + i) & (LIVE_RING_RECORDS - 1)];
    atomic_store_explicit(&watch->tail, tail + n, memory_order_release);
    return n;
}
