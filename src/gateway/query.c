/* Answers to QUERY frames from the engine's state (see query.h).
 *
 * The rows are read straight from the state's objects, so this file
 * includes the core's internal headers (state, accounts, the order index,
 * exposures): engine.h offers no reader for a position list, an order by
 * id, or an exposure's rows. It only reads them.
 */
#include "gateway/query.h"

#include <assert.h>
#include <string.h>

#include "core/account.h"
#include "core/book.h"
#include "core/odds.h"
#include "core/result.h"
#include "core/sportsbook.h"
#include "core/state.h"

/* From logic version 3 a reader that may not see an account or order is
 * answered the same whether it exists or not, as commands are (auth.c,
 * LOGIC_VERSION_HIDDEN_TARGETS): REJECT_NOT_AUTHORIZED for an account,
 * REJECT_ORDER_UNKNOWN for an order. An operator sees every account, so
 * it is still told that one does not exist. */
static bool query_hides(const struct engine *engine, uint32_t reader_id)
{
    return engine->logic_version >= LOGIC_VERSION_HIDDEN_TARGETS &&
           !account_is_operator(&engine->accounts[reader_id]);
}

/* RESULT_OK when the account exists and the reader may read it. */
static int query_account_check(const struct engine *engine, uint32_t reader_id,
                               uint32_t account_id)
{
    if (account_id >= engine->account_count)
        return query_hides(engine, reader_id) ? REJECT_NOT_AUTHORIZED : REJECT_ACCOUNT_UNKNOWN;
    return engine_may_read(engine, reader_id, account_id) ? RESULT_OK : REJECT_NOT_AUTHORIZED;
}

static int query_order_hidden(const struct engine *engine, uint32_t reader_id)
{
    return query_hides(engine, reader_id) ? REJECT_ORDER_UNKNOWN : REJECT_NOT_AUTHORIZED;
}

static int query_account(const struct engine *engine, uint32_t reader_id, uint32_t account_id,
                         struct query_account *row)
{
    int result = query_account_check(engine, reader_id, account_id);
    if (result != RESULT_OK)
        return result;
    const struct account *account = &engine->accounts[account_id];
    row->account_id = account_id;
    row->parent_id = account->parent_id;
    row->kind = account->kind;
    row->status = account->status;
    row->balance_minor = account->balance_minor;
    row->credit_limit_minor = account->credit_limit_minor;
    row->reserved_minor = account->reserved_minor;
    row->stake_open_minor = account->stake_open_minor;
    row->available_minor = engine_available_minor(engine, account_id);
    row->order_quantity_max = account->order_quantity_max;
    row->order_notional_max_minor = account->order_notional_max_minor;
    row->bet_stake_max_minor = account->bet_stake_max_minor;
    row->exposure_limit_minor = account->exposure_limit_minor;
    row->day_fees_minor = account->day_fees_minor;
    for (uint32_t i = 0; i < MARKET_TYPE_COUNT; i++) {
        row->pt_share_bp[i] = account->pt_share_bp[i];
        row->pt_max_bp[i] = account->pt_max_bp[i];
    }
    return RESULT_OK;
}

/* One page of holdings from instrument_id_from on. The account's list is
 * sorted by instrument id; a position that holds and reserves nothing
 * (kept alive by an open buy order) is no holding and is skipped. */
static int query_positions(const struct engine *engine, uint32_t reader_id, uint32_t account_id,
                           uint32_t instrument_id_from, struct query_positions *page)
{
    int result = query_account_check(engine, reader_id, account_id);
    if (result != RESULT_OK)
        return result;
    page->account_id = account_id;
    uint32_t slot = engine->accounts[account_id].position_head;
    for (; slot != INDEX_NONE; slot = engine->positions[slot].next) {
        const struct position *position = &engine->positions[slot];
        assert(position->account_id == account_id);
        if (position->instrument_id < instrument_id_from)
            continue;
        if (position->quantity == 0 && position->quantity_reserved == 0)
            continue;
        if (page->count == QUERY_POSITIONS_MAX) {
            page->more = 1;
            break;
        }
        struct query_position *row = &page->positions[page->count++];
        row->instrument_id = position->instrument_id;
        row->quantity = position->quantity;
        row->quantity_reserved = position->quantity_reserved;
    }
    assert(page->count <= QUERY_POSITIONS_MAX);
    return RESULT_OK;
}

/* A finished order this node remembers (orders_done.h): its last
 * picture, with nothing open. */
static int query_order_done(const struct engine *engine, const struct orders_done *done,
                            uint32_t reader_id, uint64_t order_id, struct query_order *row)
{
    const struct order_done *entry = orders_done_find(done, order_id);
    if (entry == NULL)
        return REJECT_ORDER_UNKNOWN;
    assert(entry->order_id == order_id);
    if (!engine_may_read(engine, reader_id, entry->account_id))
        return query_order_hidden(engine, reader_id);
    row->order_id = entry->order_id;
    row->client_order_id = entry->client_order_id;
    row->account_id = entry->account_id;
    row->instrument_id = entry->instrument_id;
    row->side = entry->side;
    row->price_ticks = entry->price_ticks;
    row->quantity_filled = entry->quantity_filled;
    /* An order cancelled because its account went inactive (logic 3) is
     * answered as cancelled: the done byte's values stay those every
     * client of protocol version 3 decodes; the event tells why. */
    uint8_t reason = entry->reason == DONE_ACCOUNT_INACTIVE ? DONE_CANCELLED : entry->reason;
    row->done = (uint8_t)(1 + reason);
    assert(row->quantity_open == 0 && row->done != 0);
    return RESULT_OK;
}

static int query_order(const struct engine *engine, const struct orders_done *done,
                       uint32_t reader_id, uint64_t order_id, struct query_order *row)
{
    uint32_t slot = order_find(engine, order_id);
    if (slot == INDEX_NONE)
        return query_order_done(engine, done, reader_id, order_id, row);
    const struct order *order = &engine->orders[slot];
    assert(order->order_id == order_id);
    if (!engine_may_read(engine, reader_id, order->account_id))
        return query_order_hidden(engine, reader_id);
    row->order_id = order->order_id;
    row->client_order_id = order->client_order_id;
    row->account_id = order->account_id;
    row->instrument_id = order->instrument_id;
    row->side = order->side;
    row->flags = order->flags;
    row->price_ticks = order->price_ticks;
    row->quantity_open = order->quantity_open;
    row->quantity_filled = order->quantity_filled;
    return RESULT_OK;
}

static uint16_t query_levels(const struct engine *engine, uint32_t instrument_id, enum side side,
                             uint16_t level_count, struct query_level *rows)
{
    struct depth_level levels[QUERY_LEVELS_MAX];
    assert(level_count >= 1 && level_count <= QUERY_LEVELS_MAX);
    uint32_t count = engine_book_depth(engine, instrument_id, side, levels, level_count);
    assert(count <= level_count);
    for (uint32_t i = 0; i < count; i++) {
        rows[i].price_ticks = levels[i].price_ticks;
        rows[i].quantity = levels[i].quantity;
    }
    return (uint16_t)count;
}

static int query_book(const struct engine *engine, uint32_t instrument_id, uint16_t level_count,
                      struct query_book *book)
{
    if (instrument_id >= engine->instrument_count)
        return REJECT_INSTRUMENT_UNKNOWN;
    const struct instrument *instrument = &engine->instruments[instrument_id];
    book->instrument_id = instrument_id;
    book->phase = instrument->phase;
    book->last_price_ticks = instrument->last_price_ticks;
    book->bid_count = query_levels(engine, instrument_id, SIDE_BUY, level_count, book->bids);
    book->ask_count = query_levels(engine, instrument_id, SIDE_SELL, level_count, book->asks);
    return RESULT_OK;
}

static int query_exposure(const struct engine *engine, uint32_t reader_id, uint32_t account_id,
                          uint32_t market_id, struct query_exposure *row)
{
    int result = query_account_check(engine, reader_id, account_id);
    if (result != RESULT_OK)
        return result;
    if (market_id >= engine->market_count)
        return REJECT_MARKET_UNKNOWN;
    const struct market *market = &engine->markets[market_id];
    assert(market->selection_count <= SELECTIONS_MAX);
    row->account_id = account_id;
    row->market_id = market_id;
    row->selection_count = market->selection_count;
    row->worst_minor = engine_exposure_minor(engine, account_id, market_id);
    uint32_t slot = exposure_find(engine, account_id, market_id);
    if (slot == INDEX_NONE)
        return RESULT_OK; /* the level has taken nothing on this market */
    const struct exposure *exposure = &engine->exposures[slot];
    for (uint32_t i = 0; i < market->selection_count; i++) {
        row->win_liability_minor[i] = exposure->win_liability_minor[i];
        row->stake_in_minor[i] = exposure->stake_in_minor[i];
    }
    return RESULT_OK;
}

static int query_odds(const struct engine *engine, uint32_t market_id, uint8_t odds_format,
                      struct query_odds *row)
{
    if (market_id >= engine->market_count)
        return REJECT_MARKET_UNKNOWN;
    const struct market *market = &engine->markets[market_id];
    assert(market->selection_count <= SELECTIONS_MAX);
    row->market_id = market_id;
    row->market_type = market->type;
    row->status = market->status;
    row->odds_format = odds_format;
    row->selection_count = market->selection_count;
    row->line_quarters = market->line_quarters;
    for (uint32_t i = 0; i < market->selection_count; i++) {
        struct odds_display display;
        /* The state holds only odds the market commands checked. */
        int rv = odds_display_from_milli((enum odds_format)odds_format, market->odds_milli[i],
                                         &display);
        assert(rv == 0);
        (void)rv;
        row->prices[i].odds_milli = market->odds_milli[i];
        row->prices[i].value = display.value;
        row->prices[i].numerator = display.numerator;
        row->prices[i].denominator = display.denominator;
    }
    return RESULT_OK;
}

/* The rules frame_decode() checks on a QUERY. */
static bool query_valid(const struct frame_query *query)
{
    switch (query->query_type) {
    case QUERY_ACCOUNT:
    case QUERY_POSITIONS:
    case QUERY_ORDER:
    case QUERY_EXPOSURE:
        return true;
    case QUERY_BOOK:
        return query->u.book.level_count >= 1 && query->u.book.level_count <= QUERY_LEVELS_MAX;
    case QUERY_ODDS:
        return query->u.odds.odds_format < ODDS_FORMAT_COUNT;
    default:
        return false;
    }
}

static int query_dispatch(const struct engine *engine, const struct orders_done *done,
                          uint32_t reader_id, const struct frame_query *query,
                          struct frame_query_result *result)
{
    switch (query->query_type) {
    case QUERY_ACCOUNT:
        return query_account(engine, reader_id, query->u.account.account_id,
                             &result->u.account);
    case QUERY_POSITIONS:
        return query_positions(engine, reader_id, query->u.positions.account_id,
                               query->u.positions.instrument_id_from, &result->u.positions);
    case QUERY_ORDER:
        return query_order(engine, done, reader_id, query->u.order.order_id,
                           &result->u.order);
    case QUERY_BOOK:
        return query_book(engine, query->u.book.instrument_id, query->u.book.level_count,
                          &result->u.book);
    case QUERY_EXPOSURE:
        return query_exposure(engine, reader_id, query->u.exposure.account_id,
                              query->u.exposure.market_id, &result->u.exposure);
    default:
        assert(query->query_type == QUERY_ODDS);
        return query_odds(engine, query->u.odds.market_id, query->u.odds.odds_format,
                          &result->u.odds);
    }
}

int gateway_query_answer(const struct engine *engine, const struct orders_done *done,
                         uint32_t reader_account_id, const struct frame_query *query,
                         struct frame_query_result *result)
{
    memset(result, 0, sizeof *result);
    result->request_id = query->request_id;
    result->query_type = query->query_type;
    if (!query_valid(query)) {
        result->result = REJECT_COMMAND_UNKNOWN;
        return ERR_USAGE;
    }
    int answer = reader_account_id < engine->account_count
                     ? query_dispatch(engine, done, reader_account_id, query, result)
                     : REJECT_SENDER_UNKNOWN;
    if (answer != RESULT_OK) {
        /* A failed query carries no rows: drop what was filled. */
        memset(&result->u, 0, sizeof result->u);
    }
    result->result = (uint16_t)answer;
    assert(result->result == RESULT_OK || result->u.account.account_id == 0);
    return 0;
}
