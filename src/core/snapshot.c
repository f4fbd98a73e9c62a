/* The canonical encoding, snapshots and the digest (see snapshot.h).
 *
 * Body sections, in order (docs/formats.md lists every field):
 *   globals, accounts, instruments, positions, orders, sessions,
 *   sport events, markets with their open bets, PT overrides.
 * The decoder reads them back in the same order and validates every index
 * before it is used; what it cannot check field by field (reserves equal to
 * open orders, money summing to zero...) engine_check() checks at the end,
 * so a snapshot that decodes is a state that satisfies every invariant.
 */
#include "core/snapshot.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
/* The streaming state type is only public with this define (xxhash.h). */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "core/account.h"
#include "core/book.h"
#include "core/engine.h"
#include "core/odds.h"
#include "core/session.h"
#include "core/sportsbook.h"
#include "core/trading.h"
#include "lib/sort.h"

/* ---- Encode. ---- */

/* Format version 2 adds fields to a state from logic version 3 only (the
 * session bounds, one-time secrets and commission): a state below it
 * encodes as in version 1, so its digest is what every build before
 * computed (docs/formats.md). */
static bool snapshot_session_fields(uint32_t logic_version)
{
    return logic_version >= LOGIC_VERSION_SESSION_BOUNDS;
}

static void encode_account(struct byte_writer *w, const struct account *account,
                           const struct account_secret *secret,
                           const struct account_commission *commission, uint32_t logic_version)
{
    byte_put_u32(w, account->parent_id);
    byte_put_u8(w, account->kind);
    byte_put_u8(w, account->status);
    byte_put_u8(w, account->has_secret);
    byte_put_i64(w, account->balance_minor);
    byte_put_i64(w, account->credit_limit_minor);
    byte_put_i64(w, account->reserved_minor);
    byte_put_i64(w, account->stake_open_minor);
    byte_put_i64(w, account->order_quantity_max);
    byte_put_i64(w, account->order_notional_max_minor);
    byte_put_i64(w, account->bet_stake_max_minor);
    byte_put_i64(w, account->exposure_limit_minor);
    for (uint32_t t = 0; t < MARKET_TYPE_COUNT; t++) {
        byte_put_u16(w, account->pt_share_bp[t]);
        byte_put_u16(w, account->pt_max_bp[t]);
    }
    byte_put_i64(w, account->day_open_balance_minor);
    byte_put_i64(w, account->day_fees_minor);
    byte_put(w, secret->salt, SECRET_SALT_SIZE);
    byte_put(w, secret->hash, SECRET_HASH_SIZE);
    if (snapshot_session_fields(logic_version)) {
        byte_put_u8(w, account->secret_one_time);
        byte_put_u64(w, account->session_horizon_seq);
        for (uint32_t t = 0; t < MARKET_TYPE_COUNT; t++)
            byte_put_u16(w, commission->rate_bp[t]);
    }
}

static void encode_instrument(struct byte_writer *w, const struct instrument *instrument)
{
    byte_put(w, instrument->symbol, SYMBOL_SIZE);
    byte_put_i64(w, instrument->tick_size_minor);
    byte_put_i64(w, instrument->lot_size);
    byte_put_i64(w, instrument->reference_price_ticks);
    byte_put_u16(w, instrument->band_bp);
    byte_put_u16(w, instrument->fee_maker_bp);
    byte_put_u16(w, instrument->fee_taker_bp);
    byte_put_u8(w, instrument->phase);
    byte_put_i64(w, instrument->band_low_ticks);
    byte_put_i64(w, instrument->band_high_ticks);
    byte_put_i64(w, instrument->last_price_ticks);
    byte_put_i64(w, instrument->day_volume);
    byte_put_i64(w, instrument->day_trade_count);
}

static void encode_order(struct byte_writer *w, const struct order *order)
{
    byte_put_u64(w, order->order_id);
    byte_put_u64(w, order->client_order_id);
    byte_put_i64(w, order->price_ticks);
    byte_put_u32(w, order->quantity_open);
    byte_put_u32(w, order->quantity_filled);
    byte_put_u32(w, order->account_id);
    byte_put_u8(w, order->side);
    byte_put_u8(w, order->flags);
}

/* Orders of one instrument: each side best level first, each level
 * oldest first, then the pre-open queue; each list behind its count. */
static void encode_orders(struct byte_writer *w, const struct engine *engine,
                          const struct instrument *instrument)
{
    for (uint32_t side = 0; side < SIDE_COUNT; side++) {
        const struct ladder *ladder = instrument->sides[side];
        byte_put_u32(w, ladder->order_count);
        for (uint32_t index = ladder_best(ladder, side); index != INDEX_NONE;
             index = ladder_next_worse(ladder, side, index)) {
            for (uint32_t slot = ladder->levels[index].head; slot != INDEX_NONE;
                 slot = engine->orders[slot].next)
                encode_order(w, &engine->orders[slot]);
        }
    }
    byte_put_u32(w, instrument->queue_count);
    for (uint32_t slot = instrument->queue_head; slot != INDEX_NONE;
         slot = engine->orders[slot].next)
        encode_order(w, &engine->orders[slot]);
}

static void encode_positions(struct byte_writer *w, const struct engine *engine)
{
    byte_put_u32(w, pool_used(&engine->position_pool));
    for (uint32_t id = 0; id < engine->account_count; id++) {
        for (uint32_t slot = engine->accounts[id].position_head; slot != INDEX_NONE;
             slot = engine->positions[slot].next) {
            const struct position *position = &engine->positions[slot];
            byte_put_u32(w, position->account_id);
            byte_put_u32(w, position->instrument_id);
            byte_put_i64(w, position->quantity);
            byte_put_i64(w, position->quantity_reserved);
            byte_put_u32(w, position->order_count);
        }
    }
}

static int session_compare(const void *context, uint32_t a, uint32_t b)
{
    const struct engine *engine = context;
    const struct session *x = &engine->sessions[a];
    const struct session *y = &engine->sessions[b];
    if (x->account_id != y->account_id)
        return x->account_id < y->account_id ? -1 : 1;
    if (x->client_id != y->client_id)
        return x->client_id < y->client_id ? -1 : 1;
    return 0;
}

static void encode_outcome(struct byte_writer *w, const struct session_outcome *entry)
{
    byte_put_u64(w, entry->client_seq);
    byte_put_u16(w, entry->outcome.result);
    byte_put_u16(w, entry->outcome.command_type);
    byte_put_u64(w, entry->outcome.id);
    byte_put_i64(w, entry->outcome.value);
}

static void encode_sessions(struct byte_writer *w, const struct engine *engine)
{
    uint32_t count = 0;
    for (uint32_t slot = engine->session_lru.head; slot != INDEX_NONE;
         slot = engine->sessions[slot].links[0].next)
        engine->scratch[count++] = slot;
    assert(count == engine->session_count);
    sort_indexes(engine->scratch, count, session_compare, engine);
    byte_put_u32(w, count);
    for (uint32_t i = 0; i < count; i++) {
        const struct session *session = &engine->sessions[engine->scratch[i]];
        byte_put_u32(w, session->account_id);
        byte_put_u64(w, session->client_id);
        byte_put_u64(w, session->last_seq);
        byte_put_u32(w, session->ring_next);
        /* The window's slots only: a logic version 1 state encodes as it
         * always did, so builds agree on its digest. */
        for (uint32_t r = 0; r < session_window(engine->logic_version); r++)
            encode_outcome(w, &session->ring[r]);
        if (snapshot_session_fields(engine->logic_version)) {
            byte_put_u64(w, session->last_used);
            byte_put_u32(w, session->last_day);
        }
    }
}

static void encode_market(struct byte_writer *w, const struct engine *engine,
                          const struct market *market)
{
    byte_put_u32(w, market->sport_event_id);
    byte_put_u8(w, market->type);
    byte_put_u8(w, market->status);
    byte_put_u32(w, (uint32_t)market->line_quarters);
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++) {
        byte_put_u8(w, market->results[s]);
        byte_put_u32(w, (uint32_t)market->odds_milli[s]);
    }
    byte_put_i64(w, market->stake_min_minor);
    byte_put_i64(w, market->stake_max_minor);
    byte_put_u32(w, market->bet_count);
    for (uint32_t slot = market->bet_head; slot != INDEX_NONE; slot = engine->bets[slot].next) {
        const struct bet *bet = &engine->bets[slot];
        byte_put_u64(w, bet->bet_id);
        byte_put_u32(w, bet->account_id);
        byte_put_i64(w, bet->stake_minor);
        byte_put_u32(w, (uint32_t)bet->odds_milli);
        byte_put_u8(w, bet->selection);
        for (uint32_t level = 0; level < PT_LEVELS; level++)
            byte_put_u16(w, bet->shares_bp[level]);
        if (snapshot_session_fields(engine->logic_version)) {
            for (uint32_t level = 0; level < COMMISSION_LEVELS; level++)
                byte_put_u16(w, bet->commission_bp[level]);
        }
    }
}

static int override_compare(const void *context, uint32_t a, uint32_t b)
{
    const struct engine *engine = context;
    const struct pt_override *x = &engine->pt_overrides[a];
    const struct pt_override *y = &engine->pt_overrides[b];
    if (x->account_id != y->account_id)
        return x->account_id < y->account_id ? -1 : 1;
    if (x->sport_event_id != y->sport_event_id)
        return x->sport_event_id < y->sport_event_id ? -1 : 1;
    if (x->market_id != y->market_id)
        return x->market_id < y->market_id ? -1 : 1;
    return 0;
}

static void encode_overrides(struct byte_writer *w, const struct engine *engine)
{
    uint32_t count = 0;
    for (uint32_t at = 0; at <= engine->pt_override_index.mask; at++) {
        uint32_t slot = engine->pt_override_index.entries[at];
        if (slot != INDEX_NONE)
            engine->scratch[count++] = slot;
    }
    /* Table order is layout; the sort makes it canonical. */
    sort_indexes(engine->scratch, count, override_compare, engine);
    byte_put_u32(w, count);
    for (uint32_t i = 0; i < count; i++) {
        const struct pt_override *override = &engine->pt_overrides[engine->scratch[i]];
        byte_put_u32(w, override->account_id);
        byte_put_u32(w, override->sport_event_id);
        byte_put_u32(w, override->market_id);
        byte_put_u16(w, override->share_bp);
    }
}

int snapshot_encode_body(const struct engine *engine, struct byte_writer *w)
{
    byte_put_u32(w, engine->logic_version);
    byte_put_u32(w, engine->trading_date);
    byte_put_u8(w, engine->day_open);
    byte_put_u64(w, engine->now_ns);
    byte_put_u64(w, engine->order_id_next);
    byte_put_u64(w, engine->bet_id_next);
    if (snapshot_session_fields(engine->logic_version)) {
        byte_put_u64(w, engine->session_clock);
        byte_put_u32(w, engine->day_count);
    }
    byte_put_u32(w, engine->account_count);
    for (uint32_t id = 0; id < engine->account_count; id++)
        encode_account(w, &engine->accounts[id], &engine->secrets[id], &engine->commissions[id],
                       engine->logic_version);
    byte_put_u32(w, engine->instrument_count);
    for (uint32_t id = 0; id < engine->instrument_count; id++)
        encode_instrument(w, &engine->instruments[id]);
    encode_positions(w, engine);
    for (uint32_t id = 0; id < engine->instrument_count; id++)
        encode_orders(w, engine, &engine->instruments[id]);
    encode_sessions(w, engine);
    byte_put_u32(w, engine->sport_event_count);
    for (uint32_t id = 0; id < engine->sport_event_count; id++)
        byte_put_u64(w, engine->sport_events[id].external_ref);
    byte_put_u32(w, engine->market_count);
    for (uint32_t id = 0; id < engine->market_count; id++)
        encode_market(w, engine, &engine->markets[id]);
    encode_overrides(w, engine);
    return w->error;
}

static int digest_flush(void *context, const uint8_t *data, size_t size)
{
    return XXH3_128bits_update(context, data, size) == XXH_OK ? 0 : ERR_IO;
}

void engine_digest(const struct engine *engine, struct digest *digest)
{
    XXH3_state_t state;
    XXH3_128bits_reset(&state);
    struct byte_writer writer;
    byte_writer_init(&writer, digest_flush, &state);
    snapshot_encode_body(engine, &writer);
    int rv = byte_writer_finish(&writer);
    assert(rv == 0);
    (void)rv;
    XXH128_hash_t hash = XXH3_128bits_digest(&state);
    digest->high = hash.high64;
    digest->low = hash.low64;
}

void digest_format(const struct digest *digest, char text[33])
{
    snprintf(text, 33, "%016llx%016llx", (unsigned long long)digest->high,
             (unsigned long long)digest->low);
}

static int count_flush(void *context, const uint8_t *data, size_t size)
{
    (void)context;
    (void)data;
    (void)size;
    return 0;
}

size_t snapshot_size(const struct engine *engine)
{
    struct byte_writer writer;
    byte_writer_init(&writer, count_flush, NULL);
    snapshot_encode_body(engine, &writer);
    byte_writer_finish(&writer);
    return SNAPSHOT_HEADER_SIZE + (size_t)writer.total_bytes;
}

int snapshot_encode(const struct engine *engine, uint8_t *buffer, size_t capacity,
                    size_t *length)
{
    if (capacity < SNAPSHOT_HEADER_SIZE)
        return ERR_CAPACITY;
    struct byte_buffer body = {buffer + SNAPSHOT_HEADER_SIZE,
                               capacity - SNAPSHOT_HEADER_SIZE, 0};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &body);
    snapshot_encode_body(engine, &writer);
    int rv = byte_writer_finish(&writer);
    if (rv != 0)
        return rv;
    snapshot_header_encode(buffer, engine->logic_version, body.length,
                           XXH3_64bits(body.data, body.length));
    *length = SNAPSHOT_HEADER_SIZE + body.length;
    return 0;
}

uint32_t snapshot_format_written(uint32_t logic_version)
{
    assert(logic_version >= LOGIC_VERSION_MIN);
    uint32_t version = snapshot_session_fields(logic_version) ? 2u : 1u;
    assert(version >= SNAPSHOT_FORMAT_VERSION_MIN && version <= SNAPSHOT_FORMAT_VERSION);
    return version;
}

void snapshot_header_encode(uint8_t header[SNAPSHOT_HEADER_SIZE], uint32_t logic_version,
                            uint64_t body_size, uint64_t body_checksum)
{
    struct byte_buffer buffer = {header, SNAPSHOT_HEADER_SIZE, 0};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &buffer);
    byte_put_u32(&writer, SNAPSHOT_MAGIC);
    byte_put_u32(&writer, snapshot_format_written(logic_version));
    byte_put_u64(&writer, body_size);
    byte_put_u64(&writer, body_checksum);
    int rv = byte_writer_finish(&writer);
    assert(rv == 0 && buffer.length == SNAPSHOT_HEADER_SIZE);
    (void)rv;
}

/* ---- Decode. ---- */

struct decoder {
    struct byte_reader reader;
    struct engine *engine;
    uint32_t format_version;
    /* The body carries the session fields of format version 2. */
    bool session_fields;
    char *errmsg;
    size_t errmsg_size;
};

/* Records the first failure; returns its code for a one-line return. */
static int decode_fail(struct decoder *d, int code, const char *what, uint64_t index)
{
    if (d->reader.error != 0)
        code = ERR_DECODE_NEED_MORE;
    snprintf(d->errmsg, d->errmsg_size, "snapshot %s %llu: %s", what,
             (unsigned long long)index,
             code == ERR_DECODE_NEED_MORE ? "truncated" : err_text(code));
    return code;
}

static int decode_globals(struct decoder *d)
{
    struct engine *engine = d->engine;
    struct byte_reader *r = &d->reader;
    engine->logic_version = byte_get_u32(r);
    engine->trading_date = byte_get_u32(r);
    engine->day_open = byte_get_u8(r);
    engine->now_ns = byte_get_u64(r);
    engine->order_id_next = byte_get_u64(r);
    engine->bet_id_next = byte_get_u64(r);
    if (r->error != 0 || engine->day_open > 1 || engine->order_id_next == 0 ||
        engine->bet_id_next == 0)
        return decode_fail(d, ERR_DECODE_MALFORMED, "globals", 0);
    if (engine->logic_version < LOGIC_VERSION_MIN || engine->logic_version > LOGIC_VERSION_MAX)
        return decode_fail(d, ERR_LOGIC_UNSUPPORTED, "logic version", engine->logic_version);
    d->session_fields = d->format_version >= 2 && snapshot_session_fields(engine->logic_version);
    if (d->session_fields) {
        engine->session_clock = byte_get_u64(r);
        engine->day_count = byte_get_u32(r);
        if (r->error != 0 || engine->session_clock == 0)
            return decode_fail(d, ERR_DECODE_MALFORMED, "globals", 1);
    }
    return 0;
}

/* Balances the decoder accepts: within +-2^62 minor units (4.6e16 whole
 * units of a currency with cents), so that what the engine computes from a
 * balance stays inside int64_t: the day's change (balance minus the day's
 * opening balance, both bounded) and what is available (balance plus a
 * credit limit of at most AMOUNT_MAX_MINOR). */
#define SNAPSHOT_BALANCE_BOUND_MINOR ((int64_t)1 << 62)

static bool balance_in_bound(int64_t balance_minor)
{
    return balance_minor >= -SNAPSHOT_BALANCE_BOUND_MINOR &&
           balance_minor <= SNAPSHOT_BALANCE_BOUND_MINOR;
}

/* The ranges ACCOUNT_CREATE, ACCOUNT_SET_CREDIT and ACCOUNT_SET_LIMITS
 * accept (account.c): no command can store anything else, and the engine's
 * arithmetic (available = balance + credit - ...) relies on them. */
static bool account_settings_valid(const struct account *a)
{
    return a->credit_limit_minor >= 0 && a->credit_limit_minor <= AMOUNT_MAX_MINOR &&
           a->order_quantity_max >= 0 && a->order_quantity_max <= QUANTITY_MAX &&
           a->order_notional_max_minor >= 0 &&
           a->order_notional_max_minor <= AMOUNT_MAX_MINOR && a->bet_stake_max_minor >= 0 &&
           a->bet_stake_max_minor <= STAKE_MAX_MINOR && a->exposure_limit_minor >= 0 &&
           a->exposure_limit_minor <= AMOUNT_MAX_MINOR;
}

/* The commission rates of one account (logic 3): within the maximum, and
 * none for the house or an operator (commission.c). */
static bool decode_commission(struct byte_reader *r, const struct account *a,
                              struct account_commission *commission)
{
    bool ok = true;
    for (uint32_t t = 0; t < MARKET_TYPE_COUNT; t++) {
        commission->rate_bp[t] = byte_get_u16(r);
        ok = ok && commission->rate_bp[t] <= COMMISSION_BP_MAX &&
             (commission->rate_bp[t] == 0 || !account_is_operator(a));
    }
    return ok;
}

static bool decode_account_fields(struct byte_reader *r, struct account *a,
                                  struct account_secret *secret,
                                  struct account_commission *commission, bool session_fields)
{
    a->parent_id = byte_get_u32(r);
    a->kind = byte_get_u8(r);
    a->status = byte_get_u8(r);
    a->has_secret = byte_get_u8(r);
    a->balance_minor = byte_get_i64(r);
    a->credit_limit_minor = byte_get_i64(r);
    a->reserved_minor = byte_get_i64(r);
    a->stake_open_minor = byte_get_i64(r);
    a->order_quantity_max = byte_get_i64(r);
    a->order_notional_max_minor = byte_get_i64(r);
    a->bet_stake_max_minor = byte_get_i64(r);
    a->exposure_limit_minor = byte_get_i64(r);
    bool ok = a->kind < ACCOUNT_KIND_COUNT && a->status < ACCOUNT_STATUS_COUNT &&
              a->has_secret <= 1;
    for (uint32_t t = 0; t < MARKET_TYPE_COUNT; t++) {
        a->pt_share_bp[t] = byte_get_u16(r);
        a->pt_max_bp[t] = byte_get_u16(r);
        ok = ok && a->pt_share_bp[t] <= a->pt_max_bp[t] && a->pt_max_bp[t] <= BP_ONE;
    }
    a->day_open_balance_minor = byte_get_i64(r);
    a->day_fees_minor = byte_get_i64(r);
    byte_get(r, secret->salt, SECRET_SALT_SIZE);
    byte_get(r, secret->hash, SECRET_HASH_SIZE);
    if (session_fields) {
        a->secret_one_time = byte_get_u8(r);
        a->session_horizon_seq = byte_get_u64(r);
        ok = ok && a->secret_one_time <= a->has_secret;
        ok = decode_commission(r, a, commission) && ok;
    } else {
        memset(commission, 0, sizeof *commission);
    }
    a->position_head = INDEX_NONE;
    a->session_hint = INDEX_NONE;
    a->position_hint = INDEX_NONE;
    a->chain_epoch = UINT32_MAX;
    return ok && a->reserved_minor >= 0 && a->stake_open_minor >= 0 &&
           account_settings_valid(a) && balance_in_bound(a->balance_minor) &&
           balance_in_bound(a->day_open_balance_minor);
}

static int decode_accounts(struct decoder *d)
{
    struct engine *engine = d->engine;
    uint32_t count = byte_get_u32(&d->reader);
    if (count == 0 || count > engine->limits.accounts_max)
        return decode_fail(d, ERR_CAPACITY, "account count", count);
    for (uint32_t id = 0; id < count; id++) {
        struct account *a = &engine->accounts[id];
        if (!decode_account_fields(&d->reader, a, &engine->secrets[id], &engine->commissions[id],
                                   d->session_fields) ||
            d->reader.error)
            return decode_fail(d, ERR_DECODE_MALFORMED, "account", id);
        bool root = id == ACCOUNT_HOUSE_ID;
        if (root ? a->kind != ACCOUNT_KIND_HOUSE || a->parent_id != 0
                 : a->parent_id >= id || a->kind == ACCOUNT_KIND_HOUSE)
            return decode_fail(d, ERR_DECODE_MALFORMED, "account tree at", id);
        uint8_t parent_kind = engine->accounts[a->parent_id].kind;
        bool kind_ok = root || (parent_kind == ACCOUNT_KIND_HOUSE
                                    ? a->kind == ACCOUNT_KIND_SUPER ||
                                          a->kind == ACCOUNT_KIND_OPERATOR
                                    : parent_kind < ACCOUNT_KIND_MEMBER &&
                                          a->kind == parent_kind + 1);
        if (!kind_ok)
            return decode_fail(d, ERR_DECODE_MALFORMED, "account kind at", id);
        a->depth = root ? 0 : (uint8_t)(engine->accounts[a->parent_id].depth + 1);
        engine->account_count = id + 1;
    }
    return 0;
}

static int decode_instruments(struct decoder *d)
{
    struct engine *engine = d->engine;
    struct byte_reader *r = &d->reader;
    uint32_t count = byte_get_u32(r);
    if (count > engine->limits.instruments_max)
        return decode_fail(d, ERR_CAPACITY, "instrument count", count);
    for (uint32_t id = 0; id < count; id++) {
        struct instrument *in = &engine->instruments[id];
        byte_get(r, in->symbol, SYMBOL_SIZE);
        in->tick_size_minor = byte_get_i64(r);
        in->lot_size = byte_get_i64(r);
        in->reference_price_ticks = byte_get_i64(r);
        in->band_bp = byte_get_u16(r);
        in->fee_maker_bp = byte_get_u16(r);
        in->fee_taker_bp = byte_get_u16(r);
        in->phase = byte_get_u8(r);
        in->band_low_ticks = byte_get_i64(r);
        in->band_high_ticks = byte_get_i64(r);
        in->last_price_ticks = byte_get_i64(r);
        in->day_volume = byte_get_i64(r);
        in->day_trade_count = byte_get_i64(r);
        in->queue_head = in->queue_tail = INDEX_NONE;
        in->queue_count = 0;
        in->ladder_base_ticks = in->band_low_ticks;
        if (r->error || in->tick_size_minor <= 0 || in->tick_size_minor > TICK_SIZE_MINOR_MAX ||
            in->lot_size <= 0 || in->lot_size > QUANTITY_MAX || in->phase >= PHASE_COUNT ||
            in->fee_maker_bp > 1000 || in->fee_taker_bp > 1000 || in->band_low_ticks < 1 ||
            in->band_high_ticks < in->band_low_ticks ||
            in->band_high_ticks - in->band_low_ticks >= (int64_t)LADDER_LEVELS ||
            in->band_high_ticks > PRICE_TICKS_MAX || in->last_price_ticks < 0 ||
            in->last_price_ticks > PRICE_TICKS_MAX || in->reference_price_ticks <= 0 ||
            in->reference_price_ticks > PRICE_TICKS_MAX)
            return decode_fail(d, ERR_DECODE_MALFORMED, "instrument", id);
        engine->instrument_count = id + 1;
    }
    return 0;
}

/* Would a + b leave int64_t? */
static bool sum_overflows(int64_t a, int64_t b)
{
    return b > 0 ? a > INT64_MAX - b : a < INT64_MIN - b;
}

/* Positions come in account order, as engine_check() sums them per
 * instrument; a running sum that leaves int64_t is refused here, because
 * the check would overflow on it. No reachable state does: the house holds
 * minus every grant and members never hold less than zero, so the sums
 * climb from the house's total to zero. */
static int decode_positions(struct decoder *d)
{
    struct engine *engine = d->engine;
    struct byte_reader *r = &d->reader;
    int64_t totals[INSTRUMENTS_CAP];
    memset(totals, 0, engine->instrument_count * sizeof totals[0]);
    uint32_t count = byte_get_u32(r);
    if (count > engine->limits.positions_max)
        return decode_fail(d, ERR_CAPACITY, "position count", count);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t account_id = byte_get_u32(r);
        uint32_t instrument_id = byte_get_u32(r);
        int64_t quantity = byte_get_i64(r);
        int64_t reserved = byte_get_i64(r);
        uint32_t order_count = byte_get_u32(r);
        if (r->error || account_id >= engine->account_count ||
            instrument_id >= engine->instrument_count || reserved < 0 ||
            sum_overflows(totals[instrument_id], quantity) ||
            position_find(engine, account_id, instrument_id) != INDEX_NONE)
            return decode_fail(d, ERR_DECODE_MALFORMED, "position", i);
        totals[instrument_id] += quantity;
        uint32_t slot = position_acquire(engine, account_id, instrument_id);
        assert(slot != INDEX_NONE);
        engine->positions[slot].quantity = quantity;
        engine->positions[slot].quantity_reserved = reserved;
        engine->positions[slot].order_count = order_count;
    }
    return 0;
}

static int decode_order(struct decoder *d, struct instrument *instrument, uint32_t instrument_id,
                        uint8_t side, bool queued, uint32_t index)
{
    struct engine *engine = d->engine;
    struct byte_reader *r = &d->reader;
    struct order order;
    memset(&order, 0, sizeof order);
    order.order_id = byte_get_u64(r);
    order.client_order_id = byte_get_u64(r);
    int64_t price_ticks = byte_get_i64(r);
    order.quantity_open = byte_get_u32(r);
    order.quantity_filled = byte_get_u32(r);
    order.account_id = byte_get_u32(r);
    order.side = byte_get_u8(r);
    order.flags = byte_get_u8(r);
    order.instrument_id = (uint16_t)instrument_id;
    bool flags_ok = (order.flags & ~(ORDER_FLAG_GTC | ORDER_FLAG_QUEUED)) == 0 &&
                    ((order.flags & ORDER_FLAG_QUEUED) != 0) == queued;
    if (r->error || !flags_ok || order.order_id == 0 || order.order_id >= engine->order_id_next ||
        order.quantity_open == 0 || order.quantity_open > QUANTITY_MAX ||
        (!queued && order.side != side) || order.side >= SIDE_COUNT ||
        price_ticks < instrument->band_low_ticks || price_ticks > instrument->band_high_ticks ||
        order.account_id >= engine->account_count ||
        engine->accounts[order.account_id].kind != ACCOUNT_KIND_MEMBER ||
        order_find(engine, order.order_id) != INDEX_NONE)
        return decode_fail(d, ERR_DECODE_MALFORMED, "order", index);
    order.price_ticks = (int32_t)price_ticks; /* inside the band, so in range */
    order.position_slot = position_find(engine, order.account_id, instrument_id);
    if (order.position_slot == INDEX_NONE)
        return decode_fail(d, ERR_DECODE_MALFORMED, "order without a position", index);
    uint32_t slot = pool_acquire(&engine->order_pool);
    if (slot == INDEX_NONE)
        return decode_fail(d, ERR_CAPACITY, "order", index);
    engine->orders[slot] = order;
    if (queued)
        trading_queue_link(engine, instrument, slot);
    else
        book_order_append(engine, instrument, slot);
    order_index_add(engine, slot);
    return 0;
}

static int decode_orders(struct decoder *d)
{
    struct engine *engine = d->engine;
    uint32_t index = 0;
    for (uint32_t id = 0; id < engine->instrument_count; id++) {
        struct instrument *instrument = &engine->instruments[id];
        for (uint32_t list = 0; list <= SIDE_COUNT; list++) {
            uint32_t count = byte_get_u32(&d->reader);
            if (count > engine->order_pool.free_count)
                return decode_fail(d, ERR_CAPACITY, "order count", count);
            for (uint32_t i = 0; i < count; i++) {
                int rv = decode_order(d, instrument, id, (uint8_t)list, list == SIDE_COUNT,
                                      index++);
                if (rv != 0)
                    return rv;
            }
        }
    }
    return 0;
}

static int decode_sessions(struct decoder *d)
{
    struct engine *engine = d->engine;
    struct byte_reader *r = &d->reader;
    uint32_t count = byte_get_u32(r);
    if (count > engine->limits.sessions_max)
        return decode_fail(d, ERR_CAPACITY, "session count", count);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t account_id = byte_get_u32(r);
        uint64_t client_id = byte_get_u64(r);
        if (r->error || account_id >= engine->account_count ||
            session_find(engine, account_id, client_id) != INDEX_NONE)
            return decode_fail(d, ERR_DECODE_MALFORMED, "session", i);
        struct session *session = &engine->sessions[session_insert(engine, account_id, client_id)];
        session->last_seq = byte_get_u64(r);
        session->ring_next = byte_get_u32(r);
        uint32_t window = session_window(engine->logic_version); /* decoded before */
        for (uint32_t k = 0; k < window; k++) {
            struct session_outcome *entry = &session->ring[k];
            entry->client_seq = byte_get_u64(r);
            entry->outcome.result = byte_get_u16(r);
            entry->outcome.command_type = byte_get_u16(r);
            entry->outcome.id = byte_get_u64(r);
            entry->outcome.value = byte_get_i64(r);
            if (entry->client_seq > session->last_seq ||
                entry->outcome.result >= RESULT_CODE_COUNT)
                return decode_fail(d, ERR_DECODE_MALFORMED, "session outcome", i);
        }
        if (d->session_fields) {
            session->last_used = byte_get_u64(r);
            session->last_day = byte_get_u32(r);
        }
        if (r->error || session->ring_next >= window ||
            (d->session_fields && session->last_used >= engine->session_clock) ||
            session->last_day > engine->day_count)
            return decode_fail(d, ERR_DECODE_MALFORMED, "session", i);
    }
    /* Before logic version 3 the order of use is not state; a version 1
     * snapshot of a version 3 state gets the order the move to version 3
     * gives (session_logic_3). */
    if (d->session_fields)
        session_relink(engine);
    else if (snapshot_session_fields(engine->logic_version))
        session_logic_3(engine);
    return 0;
}

static int decode_sport_events(struct decoder *d)
{
    struct engine *engine = d->engine;
    uint32_t count = byte_get_u32(&d->reader);
    if (count > engine->limits.sport_events_max)
        return decode_fail(d, ERR_CAPACITY, "sport event count", count);
    for (uint32_t id = 0; id < count; id++) {
        engine->sport_events[id].external_ref = byte_get_u64(&d->reader);
        engine->sport_events[id].market_count = 0;
    }
    engine->sport_event_count = count;
    return d->reader.error ? decode_fail(d, ERR_DECODE_NEED_MORE, "sport events", count) : 0;
}

static int decode_bet(struct decoder *d, uint32_t market_id, uint64_t *bet_id_last)
{
    struct engine *engine = d->engine;
    struct byte_reader *r = &d->reader;
    struct market *market = &engine->markets[market_id];
    struct bet bet;
    memset(&bet, 0, sizeof bet);
    bet.bet_id = byte_get_u64(r);
    bet.account_id = byte_get_u32(r);
    bet.market_id = market_id;
    bet.stake_minor = byte_get_i64(r);
    bet.odds_milli = (int32_t)byte_get_u32(r);
    bet.selection = byte_get_u8(r);
    bet.next = INDEX_NONE;
    uint32_t share_total = 0;
    for (uint32_t level = 0; level < PT_LEVELS; level++) {
        bet.shares_bp[level] = byte_get_u16(r);
        share_total += bet.shares_bp[level];
    }
    uint32_t commission_total = 0;
    for (uint32_t level = 0; d->session_fields && level < COMMISSION_LEVELS; level++) {
        bet.commission_bp[level] = byte_get_u16(r);
        commission_total += bet.commission_bp[level];
    }
    if (r->error || commission_total > COMMISSION_BP_MAX || bet.bet_id <= *bet_id_last ||
        bet.bet_id >= engine->bet_id_next ||
        bet.account_id >= engine->account_count ||
        engine->accounts[bet.account_id].kind != ACCOUNT_KIND_MEMBER ||
        bet.selection >= market->selection_count || bet.odds_milli < ODDS_MILLI_MIN ||
        bet.odds_milli > ODDS_MILLI_MAX || bet.stake_minor <= 0 ||
        bet.stake_minor > STAKE_MAX_MINOR || share_total != BP_ONE)
        return decode_fail(d, ERR_DECODE_MALFORMED, "bet", bet.bet_id);
    *bet_id_last = bet.bet_id;
    uint32_t slot = pool_acquire(&engine->bet_pool);
    if (slot == INDEX_NONE)
        return decode_fail(d, ERR_CAPACITY, "bet", bet.bet_id);
    uint32_t level_ids[PT_LEVELS];
    sportsbook_levels(engine, bet.account_id, level_ids);
    for (uint32_t level = 0; level < PT_LEVELS; level++) {
        if (bet.shares_bp[level] != 0 &&
            exposure_acquire(engine, level_ids[level], market_id) == INDEX_NONE)
            return decode_fail(d, ERR_CAPACITY, "exposure for bet", bet.bet_id);
    }
    engine->bets[slot] = bet;
    if (market->bet_tail == INDEX_NONE)
        market->bet_head = slot;
    else
        engine->bets[market->bet_tail].next = slot;
    market->bet_tail = slot;
    market->bet_count++;
    market->stake_total_minor += bet.stake_minor;
    exposure_add_bet(engine, &bet);
    return 0;
}

static bool decode_market_fields(struct byte_reader *r, const struct engine *engine,
                                 struct market *m)
{
    m->sport_event_id = byte_get_u32(r);
    m->type = byte_get_u8(r);
    m->status = byte_get_u8(r);
    m->line_quarters = (int32_t)byte_get_u32(r);
    m->selection_count = m->type == MARKET_TYPE_1X2 ? 3 : 2;
    bool ok = m->sport_event_id < engine->sport_event_count && m->type < MARKET_TYPE_COUNT &&
              m->status < MARKET_STATUS_COUNT;
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++) {
        m->results[s] = byte_get_u8(r);
        m->odds_milli[s] = (int32_t)byte_get_u32(r);
        bool used = s < m->selection_count;
        ok = ok && m->results[s] < BET_RESULT_COUNT &&
             (used ? m->odds_milli[s] >= ODDS_MILLI_MIN && m->odds_milli[s] <= ODDS_MILLI_MAX
                   : m->odds_milli[s] == 0);
    }
    m->stake_min_minor = byte_get_i64(r);
    m->stake_max_minor = byte_get_i64(r);
    m->bet_head = m->bet_tail = m->exposure_head = INDEX_NONE;
    m->bet_count = 0;
    m->stake_total_minor = 0;
    return ok && r->error == 0 && m->stake_min_minor > 0 &&
           m->stake_max_minor >= m->stake_min_minor && m->stake_max_minor <= STAKE_MAX_MINOR;
}

static int decode_markets(struct decoder *d)
{
    struct engine *engine = d->engine;
    uint32_t count = byte_get_u32(&d->reader);
    if (count > engine->limits.markets_max)
        return decode_fail(d, ERR_CAPACITY, "market count", count);
    for (uint32_t id = 0; id < count; id++) {
        struct market *market = &engine->markets[id];
        if (!decode_market_fields(&d->reader, engine, market))
            return decode_fail(d, ERR_DECODE_MALFORMED, "market", id);
        engine->market_count = id + 1;
        engine->sport_events[market->sport_event_id].market_count++;
        uint32_t bet_count = byte_get_u32(&d->reader);
        if (bet_count > 0 && market->status == MARKET_STATUS_SETTLED)
            return decode_fail(d, ERR_DECODE_MALFORMED, "settled market with bets", id);
        if (bet_count > engine->bet_pool.free_count)
            return decode_fail(d, ERR_CAPACITY, "bet count", bet_count);
        uint64_t bet_id_last = 0;
        for (uint32_t i = 0; i < bet_count; i++) {
            int rv = decode_bet(d, id, &bet_id_last);
            if (rv != 0)
                return rv;
        }
    }
    return 0;
}

static int decode_overrides(struct decoder *d)
{
    struct engine *engine = d->engine;
    struct byte_reader *r = &d->reader;
    uint32_t count = byte_get_u32(r);
    if (count > engine->limits.pt_overrides_max)
        return decode_fail(d, ERR_CAPACITY, "override count", count);
    for (uint32_t i = 0; i < count; i++) {
        struct pt_override override;
        override.account_id = byte_get_u32(r);
        override.sport_event_id = byte_get_u32(r);
        override.market_id = byte_get_u32(r);
        override.share_bp = byte_get_u16(r);
        if (r->error || override.account_id >= engine->account_count ||
            engine->accounts[override.account_id].kind < ACCOUNT_KIND_SUPER ||
            engine->accounts[override.account_id].kind > ACCOUNT_KIND_AGENT ||
            override.sport_event_id >= engine->sport_event_count ||
            (override.market_id != INDEX_NONE && override.market_id >= engine->market_count) ||
            override.share_bp > BP_ONE ||
            pt_override_find(engine, override.account_id, override.sport_event_id,
                             override.market_id) != INDEX_NONE)
            return decode_fail(d, ERR_DECODE_MALFORMED, "override", i);
        uint32_t slot = pool_acquire(&engine->pt_override_pool);
        assert(slot != INDEX_NONE); /* count <= pt_overrides_max */
        engine->pt_overrides[slot] = override;
        pt_override_insert(engine, slot);
    }
    return 0;
}

static int decode_header(struct decoder *d, const uint8_t *data, size_t size)
{
    if (size < SNAPSHOT_HEADER_SIZE)
        return decode_fail(d, ERR_DECODE_NEED_MORE, "header of bytes", size);
    struct byte_reader header;
    byte_reader_init(&header, data, SNAPSHOT_HEADER_SIZE);
    uint32_t magic = byte_get_u32(&header);
    uint32_t version = byte_get_u32(&header);
    uint64_t body_size = byte_get_u64(&header);
    uint64_t checksum = byte_get_u64(&header);
    if (magic != SNAPSHOT_MAGIC)
        return decode_fail(d, ERR_DECODE_MALFORMED, "magic", magic);
    if (version < SNAPSHOT_FORMAT_VERSION_MIN || version > SNAPSHOT_FORMAT_VERSION)
        return decode_fail(d, ERR_VERSION, "format version", version);
    d->format_version = version;
    if (body_size > size - SNAPSHOT_HEADER_SIZE)
        return decode_fail(d, ERR_DECODE_NEED_MORE, "body of bytes", body_size);
    if (body_size < size - SNAPSHOT_HEADER_SIZE)
        return decode_fail(d, ERR_DECODE_MALFORMED, "trailing bytes after body of", body_size);
    if (XXH3_64bits(data + SNAPSHOT_HEADER_SIZE, body_size) != checksum)
        return decode_fail(d, ERR_CHECKSUM, "body of bytes", body_size);
    byte_reader_init(&d->reader, data + SNAPSHOT_HEADER_SIZE, body_size);
    return 0;
}

int snapshot_decode(struct engine *engine, const uint8_t *data, size_t size, char *errmsg,
                    size_t errmsg_size)
{
    struct decoder d = {.engine = engine, .errmsg = errmsg, .errmsg_size = errmsg_size};
    if (engine->account_count != 1 || engine->instrument_count != 0 ||
        engine->session_count != 0 || engine->market_count != 0) {
        snprintf(errmsg, errmsg_size, "snapshot decode needs a fresh engine");
        return ERR_USAGE;
    }
    int rv = decode_header(&d, data, size);
    if (rv == 0)
        rv = decode_globals(&d);
    if (rv == 0)
        rv = decode_accounts(&d);
    if (rv == 0)
        rv = decode_instruments(&d);
    if (rv == 0)
        rv = decode_positions(&d);
    if (rv == 0)
        rv = decode_orders(&d);
    if (rv == 0)
        rv = decode_sessions(&d);
    if (rv == 0)
        rv = decode_sport_events(&d);
    if (rv == 0)
        rv = decode_markets(&d);
    if (rv == 0)
        rv = decode_overrides(&d);
    if (rv != 0)
        return rv;
    if (byte_reader_left(&d.reader) != 0)
        return decode_fail(&d, ERR_DECODE_MALFORMED, "trailing bytes", byte_reader_left(&d.reader));
    account_credit_given_rebuild(engine);
    char reason[200];
    if (engine_check(engine, reason, sizeof reason) != 0) {
        snprintf(errmsg, errmsg_size, "snapshot decodes to an invalid state: %s", reason);
        return ERR_DECODE_MALFORMED;
    }
    return 0;
}
