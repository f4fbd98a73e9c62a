/* Order-book markets (see trading.h and docs/trading.md).
 *
 * An order's life, and the function behind each step:
 *
 *   ORDER_PLACE --validate--> matched as taker ----------> FILLED
 *      [trading_order_place]   [trading_match]      |
 *                                                   +-> rest in book [trading_rest]
 *                                                   +-> remainder cancelled
 *                                                       (IOC, market, self-trade)
 *   in PRE_OPEN the order waits in the instrument's queue instead, and is
 *   matched in arrival order when the phase becomes OPEN [trading_queue_drain].
 *
 * Money: a resting buy order keeps trading_reserve_minor() of its account's
 * funds reserved; a resting sell keeps its quantity of the position
 * reserved. The taker is checked against the same bound before matching and
 * pays trade by trade, so neither side can overdraw. Fees go to the house.
 * Self-trade policy: an incoming order that reaches a resting order of the
 * same account stops there, and its remainder is cancelled (cancel newest).
 */
#include "core/trading.h"

#include <assert.h>
#include <string.h>

#include "core/account.h"
#include "core/book.h"
#include "core/result.h"

int64_t trading_mark_price_ticks(const struct instrument *instrument)
{
    return instrument->last_price_ticks != 0 ? instrument->last_price_ticks
                                             : instrument->reference_price_ticks;
}

static void trading_emit_order(struct engine *engine, uint16_t type, uint16_t code,
                               const struct order *order, int64_t quantity_open)
{
    struct event event;
    memset(&event, 0, sizeof event);
    event.type = type;
    event.code = code;
    event.account_id = order->account_id;
    event.id = order->order_id;
    event.u.order.instrument_id = order->instrument_id;
    event.u.order.side = order->side;
    event.u.order.price_ticks = order->price_ticks;
    event.u.order.quantity_open = quantity_open;
    event.u.order.quantity_filled = order->quantity_filled;
    event.u.order.client_order_id = order->client_order_id;
    engine_emit(engine, &event);
}

/* Releases what an open order holds: cash for a buy, position for a sell. */
static void trading_release(struct engine *engine, const struct order *order)
{
    const struct instrument *instrument = &engine->instruments[order->instrument_id];
    struct position *position = &engine->positions[order->position_slot];
    if (order->side == SIDE_BUY) {
        engine->accounts[order->account_id].reserved_minor -=
            trading_reserve_minor(instrument, order->price_ticks, order->quantity_open);
    } else {
        position->quantity_reserved -= order->quantity_open;
    }
    assert(engine->accounts[order->account_id].reserved_minor >= 0);
    assert(position->quantity_reserved >= 0);
}

/* One fill between the incoming order and the resting maker at the head of
 * a level. Moves cash, position and fees; emits the trade. */
static void trading_fill(struct engine *engine, struct instrument *instrument,
                         struct order *taker, uint32_t taker_position, uint32_t maker_slot,
                         uint32_t fill)
{
    struct order *maker = &engine->orders[maker_slot];
    int64_t price_ticks = maker->price_ticks;
    int64_t notional_minor = trading_notional_minor(instrument, price_ticks, fill);
    int64_t maker_fee_minor = trading_fee_minor(notional_minor, instrument->fee_maker_bp);
    int64_t taker_fee_minor = trading_fee_minor(notional_minor, instrument->fee_taker_bp);
    uint32_t maker_position = maker->position_slot;
    assert(engine->positions[maker_position].account_id == maker->account_id);
    struct account *maker_account = &engine->accounts[maker->account_id];
    struct account *taker_account = &engine->accounts[taker->account_id];
    int64_t sign = taker->side == SIDE_BUY ? 1 : -1;
    if (maker->side == SIDE_BUY) {
        maker_account->reserved_minor -=
            trading_reserve_minor(instrument, price_ticks, maker->quantity_open) -
            trading_reserve_minor(instrument, price_ticks, maker->quantity_open - fill);
    } else {
        engine->positions[maker_position].quantity_reserved -= fill;
    }
    /* The buyer pays notional plus its fee, the seller gets notional less
     * its fee; sign is +1 when the taker buys. */
    maker_account->balance_minor += sign * notional_minor - maker_fee_minor;
    taker_account->balance_minor += -sign * notional_minor - taker_fee_minor;
    engine->accounts[ACCOUNT_HOUSE_ID].balance_minor += maker_fee_minor + taker_fee_minor;
    maker_account->day_fees_minor += maker_fee_minor;
    taker_account->day_fees_minor += taker_fee_minor;
    engine->positions[maker_position].quantity -= sign * fill;
    engine->positions[taker_position].quantity += sign * fill;
    maker->quantity_open -= fill;
    maker->quantity_filled += fill;
    taker->quantity_open -= fill;
    taker->quantity_filled += fill;
    instrument->sides[maker->side]->levels[book_level_index(instrument, price_ticks)].quantity -=
        fill;
    instrument->last_price_ticks = price_ticks;
    instrument->day_volume += fill;
    instrument->day_trade_count++;

    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_TRADE;
    event.account_id = taker->account_id;
    event.id = taker->order_id;
    event.u.trade.instrument_id = taker->instrument_id;
    event.u.trade.maker_account_id = maker->account_id;
    event.u.trade.taker_side = taker->side;
    event.u.trade.maker_order_id = maker->order_id;
    event.u.trade.price_ticks = price_ticks;
    event.u.trade.quantity = fill;
    event.u.trade.maker_fee_minor = maker_fee_minor;
    event.u.trade.taker_fee_minor = taker_fee_minor;
    engine_emit(engine, &event);
}

/* Matches taker against the opposite side up to limit_ticks. Returns 1
 * when the self-trade rule stopped it, else 0. */
static int trading_match(struct engine *engine, struct instrument *instrument,
                         struct order *taker, uint32_t taker_position, int64_t limit_ticks)
{
    uint8_t maker_side = taker->side == SIDE_BUY ? SIDE_SELL : SIDE_BUY;
    struct ladder *ladder = instrument->sides[maker_side];
    while (taker->quantity_open > 0) {
        uint32_t index = ladder_best(ladder, maker_side);
        if (index == INDEX_NONE)
            return 0;
        int64_t price_ticks = book_level_price(instrument, index);
        if (taker->side == SIDE_BUY ? price_ticks > limit_ticks : price_ticks < limit_ticks)
            return 0;
        uint32_t maker_slot = ladder->levels[index].head;
        struct order *maker = &engine->orders[maker_slot];
        if (maker->account_id == taker->account_id)
            return 1;
        uint32_t fill = taker->quantity_open < maker->quantity_open ? taker->quantity_open
                                                                    : maker->quantity_open;
        trading_fill(engine, instrument, taker, taker_position, maker_slot, fill);
        if (maker->quantity_open == 0) {
            /* Its open quantity is 0, so the unlink leaves the level total,
             * already reduced by trading_fill, as it is. */
            book_order_remove(engine, instrument, maker_slot);
            trading_emit_order(engine, EVENT_ORDER_DONE, DONE_FILLED, maker, 0);
            order_index_remove(engine, maker_slot);
            uint32_t maker_position = maker->position_slot;
            engine->positions[maker_position].order_count--;
            pool_release(&engine->order_pool, maker_slot);
            position_release_if_empty(engine, maker_position);
        }
    }
    return 0;
}

/* Holds what a resting order may still cost: cash for a buy, holding for
 * a sell. trading_release() gives it back. */
static void trading_reserve_add(struct engine *engine, const struct instrument *instrument,
                                const struct order *order)
{
    if (order->side == SIDE_BUY)
        engine->accounts[order->account_id].reserved_minor +=
            trading_reserve_minor(instrument, order->price_ticks, order->quantity_open);
    else
        engine->positions[order->position_slot].quantity_reserved += order->quantity_open;
}

/* What is left of an incoming order after matching: rest it (day, GTC),
 * or cancel the remainder (IOC, market, self-trade). */
static void trading_finish(struct engine *engine, struct instrument *instrument,
                           const struct order *incoming, uint8_t time_in_force,
                           uint32_t position_slot, int self_trade)
{
    if (incoming->quantity_open == 0) {
        trading_emit_order(engine, EVENT_ORDER_DONE, DONE_FILLED, incoming, 0);
    } else if (self_trade || time_in_force == TIF_IOC || time_in_force == TIF_FOK) {
        uint16_t reason = self_trade ? DONE_SELF_TRADE : DONE_IOC_REMAINDER;
        trading_emit_order(engine, EVENT_ORDER_DONE, reason, incoming, 0);
    } else {
        uint32_t slot = pool_acquire(&engine->order_pool);
        assert(slot != INDEX_NONE); /* checked before any change */
        struct order *order = &engine->orders[slot];
        *order = *incoming;
        order->flags = time_in_force == TIF_GTC ? ORDER_FLAG_GTC : 0;
        book_order_append(engine, instrument, slot);
        order_index_add(engine, slot);
        engine->positions[position_slot].order_count++;
        trading_reserve_add(engine, instrument, order);
        trading_emit_order(engine, EVENT_ORDER_ACCEPTED, 0, order, order->quantity_open);
    }
    position_release_if_empty(engine, position_slot);
}

/* Matches and finishes an order: new, replaced, or out of the queue. */
static void trading_execute(struct engine *engine, struct instrument *instrument,
                            struct order *incoming, uint8_t time_in_force, int64_t limit_ticks)
{
    uint32_t position_slot = incoming->position_slot;
    assert(engine->positions[position_slot].account_id == incoming->account_id);
    int self_trade = trading_match(engine, instrument, incoming, position_slot, limit_ticks);
    trading_finish(engine, instrument, incoming, time_in_force, position_slot, self_trade);
}

/* Can a fill-or-kill order fill whole before it meets the limit, the end
 * of the book, or one of its own account's orders? */
static bool trading_fok_fillable(const struct engine *engine, const struct instrument *instrument,
                                 const struct order *incoming, int64_t limit_ticks)
{
    uint8_t maker_side = incoming->side == SIDE_BUY ? SIDE_SELL : SIDE_BUY;
    const struct ladder *ladder = instrument->sides[maker_side];
    int64_t needed = incoming->quantity_open;
    for (uint32_t index = ladder_best(ladder, maker_side); index != INDEX_NONE;
         index = ladder_next_worse(ladder, maker_side, index)) {
        int64_t price_ticks = book_level_price(instrument, index);
        if (incoming->side == SIDE_BUY ? price_ticks > limit_ticks : price_ticks < limit_ticks)
            return false;
        for (uint32_t slot = ladder->levels[index].head; slot != INDEX_NONE;
             slot = engine->orders[slot].next) {
            if (engine->orders[slot].account_id == incoming->account_id)
                return false;
            needed -= engine->orders[slot].quantity_open;
            if (needed <= 0)
                return true;
        }
    }
    return false;
}

/* Price and quantity rules shared by place and replace. */
static int trading_check_terms(const struct instrument *instrument, const struct account *account,
                               uint8_t order_type, int64_t price_ticks, int64_t quantity)
{
    if (quantity <= 0 || quantity > QUANTITY_MAX)
        return REJECT_QUANTITY_ZERO;
    /* A lot of 1 is the common case, and a division costs tens of cycles. */
    if (instrument->lot_size != 1 && quantity % instrument->lot_size != 0)
        return REJECT_QUANTITY_LOT;
    if (order_type == ORDER_TYPE_LIMIT) {
        if (price_ticks <= 0 || price_ticks > PRICE_TICKS_MAX)
            return REJECT_PRICE_OFF_TICK;
        if (price_ticks < instrument->band_low_ticks || price_ticks > instrument->band_high_ticks)
            return REJECT_PRICE_OUTSIDE_BAND;
    }
    if (account->order_quantity_max != 0 && quantity > account->order_quantity_max)
        return REJECT_QUANTITY_ABOVE_MAX;
    return RESULT_OK;
}

static int trading_check_notional(const struct instrument *instrument,
                                  const struct account *account, int64_t limit_ticks,
                                  int64_t quantity)
{
    if (account->order_notional_max_minor != 0 &&
        trading_notional_minor(instrument, limit_ticks, quantity) >
            account->order_notional_max_minor)
        return REJECT_NOTIONAL_ABOVE_MAX;
    return RESULT_OK;
}

static int trading_check_phase(const struct instrument *instrument, uint8_t order_type,
                               uint8_t time_in_force)
{
    if (instrument->phase == PHASE_OPEN)
        return RESULT_OK;
    if (instrument->phase == PHASE_PRE_OPEN && order_type == ORDER_TYPE_LIMIT &&
        (time_in_force == TIF_DAY || time_in_force == TIF_GTC))
        return RESULT_OK;
    return REJECT_PHASE_CLOSED;
}

void trading_queue_link(struct engine *engine, struct instrument *instrument, uint32_t slot)
{
    struct order *order = &engine->orders[slot];
    assert(order->flags & ORDER_FLAG_QUEUED);
    order->next = INDEX_NONE;
    order->prev = instrument->queue_tail;
    if (instrument->queue_tail == INDEX_NONE)
        instrument->queue_head = slot;
    else
        engine->orders[instrument->queue_tail].next = slot;
    instrument->queue_tail = slot;
    instrument->queue_count++;
}

/* Appends an order to the pre-open queue, reserving what it may cost. */
static void trading_queue_append(struct engine *engine, struct instrument *instrument,
                                 const struct order *incoming, uint8_t time_in_force)
{
    uint32_t slot = pool_acquire(&engine->order_pool);
    assert(slot != INDEX_NONE);
    struct order *order = &engine->orders[slot];
    *order = *incoming;
    order->flags = ORDER_FLAG_QUEUED | (time_in_force == TIF_GTC ? ORDER_FLAG_GTC : 0);
    trading_queue_link(engine, instrument, slot);
    order_index_add(engine, slot);
    engine->positions[order->position_slot].order_count++;
    trading_reserve_add(engine, instrument, order);
    trading_emit_order(engine, EVENT_ORDER_ACCEPTED, 0, order, order->quantity_open);
}

/* Takes an open order out of the book or queue into *out, releasing its
 * reserves and slot but keeping its position alive for the re-entry. */
static void trading_order_detach(struct engine *engine, uint32_t slot, struct order *out)
{
    struct order *order = &engine->orders[slot];
    struct instrument *instrument = &engine->instruments[order->instrument_id];
    if (order->flags & ORDER_FLAG_QUEUED) {
        if (order->prev == INDEX_NONE)
            instrument->queue_head = order->next;
        else
            engine->orders[order->prev].next = order->next;
        if (order->next == INDEX_NONE)
            instrument->queue_tail = order->prev;
        else
            engine->orders[order->next].prev = order->prev;
        instrument->queue_count--;
    } else {
        book_order_remove(engine, instrument, slot);
    }
    trading_release(engine, order);
    order_index_remove(engine, slot);
    engine->positions[order->position_slot].order_count--;
    *out = *order;
    out->flags = 0;
    pool_release(&engine->order_pool, slot);
}

/* Takes an open order out entirely, telling why. */
static void trading_order_close(struct engine *engine, uint32_t slot, uint16_t reason)
{
    struct order closed;
    trading_order_detach(engine, slot, &closed);
    trading_emit_order(engine, EVENT_ORDER_DONE, reason, &closed, 0);
    position_release_if_empty(engine, closed.position_slot);
}

/* Risk before matching: the whole order's worst cost against the funds
 * the account has free, or its quantity against the free position. */
static int trading_check_risk(const struct engine *engine, const struct instrument *instrument,
                              const struct order *incoming)
{
    const struct account *account = &engine->accounts[incoming->account_id];
    if (incoming->side == SIDE_BUY) {
        int64_t cost_minor = trading_reserve_minor(instrument, incoming->price_ticks,
                                                   incoming->quantity_open);
        if (account_available_minor(account) < cost_minor)
            return REJECT_FUNDS_INSUFFICIENT;
        return RESULT_OK;
    }
    const struct position *position = &engine->positions[incoming->position_slot];
    if (position->quantity - position->quantity_reserved < incoming->quantity_open)
        return REJECT_POSITION_INSUFFICIENT;
    return RESULT_OK;
}

static int64_t trading_limit_ticks(const struct instrument *instrument, uint8_t side,
                                   uint8_t order_type, int64_t price_ticks)
{
    if (order_type == ORDER_TYPE_LIMIT)
        return price_ticks;
    /* A market order trades at any price inside the day's band. */
    return side == SIDE_BUY ? instrument->band_high_ticks : instrument->band_low_ticks;
}

static int trading_place_check(const struct engine *engine, const struct command *command)
{
    uint32_t instrument_id = command->u.order_place.instrument_id;
    const struct instrument *instrument = &engine->instruments[instrument_id];
    const struct account *account = &engine->accounts[command->sender_account_id];
    uint8_t order_type = command->u.order_place.order_type;
    uint8_t time_in_force = command->u.order_place.time_in_force;
    if (command->u.order_place.side >= SIDE_COUNT)
        return REJECT_SIDE_INVALID;
    if (order_type >= ORDER_TYPE_COUNT || time_in_force >= TIF_COUNT)
        return REJECT_ORDER_TYPE_INVALID;
    if (order_type == ORDER_TYPE_MARKET && time_in_force != TIF_IOC && time_in_force != TIF_FOK)
        return REJECT_ORDER_TYPE_INVALID;
    int result = trading_check_phase(instrument, order_type, time_in_force);
    if (result != RESULT_OK)
        return result;
    return trading_check_terms(instrument, account, order_type,
                               command->u.order_place.price_ticks,
                               command->u.order_place.quantity);
}

/* Risk, pool room, liquidity for market orders, fillability for FOK. */
static int trading_place_admit(const struct engine *engine, const struct instrument *instrument,
                               const struct order *incoming, uint8_t order_type,
                               uint8_t time_in_force)
{
    int result = trading_check_risk(engine, instrument, incoming);
    if (result != RESULT_OK)
        return result;
    bool rests = time_in_force == TIF_DAY || time_in_force == TIF_GTC;
    if (rests && engine->order_pool.free_count == 0)
        return REJECT_ORDERS_FULL;
    uint8_t maker_side = incoming->side == SIDE_BUY ? SIDE_SELL : SIDE_BUY;
    if (order_type == ORDER_TYPE_MARKET && instrument->sides[maker_side]->order_count == 0)
        return REJECT_MARKET_NO_LIQUIDITY;
    if (time_in_force == TIF_FOK &&
        !trading_fok_fillable(engine, instrument, incoming, incoming->price_ticks))
        return REJECT_FOK_UNFILLABLE;
    return RESULT_OK;
}

static int trading_order_place(struct engine *engine, const struct command *command,
                               struct outcome *outcome)
{
    if (command->u.order_place.instrument_id >= engine->instrument_count)
        return REJECT_INSTRUMENT_UNKNOWN;
    int result = trading_place_check(engine, command);
    if (result != RESULT_OK)
        return result;
    struct instrument *instrument = &engine->instruments[command->u.order_place.instrument_id];
    const struct account *account = &engine->accounts[command->sender_account_id];
    uint8_t order_type = command->u.order_place.order_type;
    uint8_t time_in_force = command->u.order_place.time_in_force;
    struct order incoming = {
        .order_id = engine->order_id_next,
        .client_order_id = command->u.order_place.client_order_id,
        .quantity_open = (uint32_t)command->u.order_place.quantity,
        .next = INDEX_NONE, .prev = INDEX_NONE,
        .account_id = command->sender_account_id,
        .instrument_id = (uint16_t)command->u.order_place.instrument_id,
        .side = command->u.order_place.side,
    };
    int64_t limit_ticks = trading_limit_ticks(instrument, incoming.side, order_type,
                                              command->u.order_place.price_ticks);
    incoming.price_ticks = (int32_t)limit_ticks; /* inside the band */
    result = trading_check_notional(instrument, account, limit_ticks, incoming.quantity_open);
    if (result != RESULT_OK)
        return result;
    /* The position first: the sell check reads it, and a reject below
     * releases it again if it was created for this order. */
    incoming.position_slot = position_acquire(engine, incoming.account_id,
                                              incoming.instrument_id);
    if (incoming.position_slot == INDEX_NONE)
        return REJECT_POSITIONS_FULL;
    result = trading_place_admit(engine, instrument, &incoming, order_type, time_in_force);
    if (result != RESULT_OK) {
        position_release_if_empty(engine, incoming.position_slot);
        return result;
    }
    engine->order_id_next++;
    outcome->id = incoming.order_id;
    if (instrument->phase == PHASE_PRE_OPEN) {
        trading_queue_append(engine, instrument, &incoming, time_in_force);
        return RESULT_OK;
    }
    trading_execute(engine, instrument, &incoming, time_in_force, limit_ticks);
    outcome->value = incoming.quantity_filled;
    return RESULT_OK;
}

/* The slot of the order a cancel or replace names: auth_check found it
 * already, for commands that come through engine_apply. */
static uint32_t trading_command_order(const struct engine *engine, uint64_t order_id)
{
    uint32_t slot = engine->command_order_slot;
    if (slot != INDEX_NONE && engine->orders[slot].order_id == order_id)
        return slot;
    return order_find(engine, order_id);
}

static int trading_order_cancel(struct engine *engine, const struct command *command,
                                struct outcome *outcome)
{
    uint32_t slot = trading_command_order(engine, command->u.order_cancel.order_id);
    if (slot == INDEX_NONE)
        return REJECT_ORDER_UNKNOWN;
    outcome->id = command->u.order_cancel.order_id;
    outcome->value = engine->orders[slot].quantity_open;
    trading_order_close(engine, slot, DONE_CANCELLED);
    return RESULT_OK;
}

/* A quantity decrease at the same price keeps the order's place. */
static void trading_order_reduce(struct engine *engine, uint32_t slot, uint32_t quantity)
{
    struct order *order = &engine->orders[slot];
    struct instrument *instrument = &engine->instruments[order->instrument_id];
    uint32_t decrease = order->quantity_open - quantity;
    assert(quantity > 0 && quantity < order->quantity_open);
    if ((order->flags & ORDER_FLAG_QUEUED) == 0)
        instrument->sides[order->side]
            ->levels[book_level_index(instrument, order->price_ticks)].quantity -= decrease;
    if (order->side == SIDE_BUY) {
        engine->accounts[order->account_id].reserved_minor -=
            trading_reserve_minor(instrument, order->price_ticks, order->quantity_open) -
            trading_reserve_minor(instrument, order->price_ticks, quantity);
    } else {
        engine->positions[order->position_slot].quantity_reserved -= decrease;
    }
    order->quantity_open = quantity;
    trading_emit_order(engine, EVENT_ORDER_REPLACED, 0, order, quantity);
}

/* Can the account afford the replaced order, counting what the order
 * holds now as free? The same rule as trading_check_risk, for an order
 * already open. */
static int trading_replace_risk(const struct engine *engine, const struct instrument *instrument,
                                const struct order *order, int64_t price_ticks,
                                int64_t quantity)
{
    if (order->side == SIDE_BUY) {
        int64_t held_minor =
            trading_reserve_minor(instrument, order->price_ticks, order->quantity_open);
        int64_t cost_minor = trading_reserve_minor(instrument, price_ticks, quantity);
        if (account_available_minor(&engine->accounts[order->account_id]) + held_minor <
            cost_minor)
            return REJECT_FUNDS_INSUFFICIENT;
        return RESULT_OK;
    }
    const struct position *position = &engine->positions[order->position_slot];
    if (position->quantity - position->quantity_reserved + order->quantity_open < quantity)
        return REJECT_POSITION_INSUFFICIENT;
    return RESULT_OK;
}

/* Would an order on side at price_ticks meet the other side's best? Most
 * moves do not, and then need no matching at all. */
static inline bool trading_crosses(const struct instrument *instrument, uint8_t side,
                                   int64_t price_ticks)
{
    const struct ladder *ladder = instrument->sides[side == SIDE_BUY ? SIDE_SELL : SIDE_BUY];
    if (ladder->best_index == INDEX_NONE)
        return false;
    int64_t best_ticks = book_level_price(instrument, ladder->best_index);
    return side == SIDE_BUY ? best_ticks <= price_ticks : best_ticks >= price_ticks;
}

/* A replace that loses priority while the book is open: the order keeps
 * its slot and id, leaves its level, and comes back in as an incoming
 * order at the new price; what is left rests at the back of its new level.
 * Returns its filled quantity. */
static uint32_t trading_order_move(struct engine *engine, struct instrument *instrument,
                                   uint32_t slot, int32_t price_ticks, uint32_t quantity)
{
    struct order *order = &engine->orders[slot];
    assert((order->flags & ORDER_FLAG_QUEUED) == 0);
    book_order_remove(engine, instrument, slot);
    trading_release(engine, order);
    order->price_ticks = price_ticks;
    order->quantity_open = quantity;
    trading_emit_order(engine, EVENT_ORDER_REPLACED, 0, order, quantity);
    uint32_t filled_before = order->quantity_filled;
    int self_trade = trading_crosses(instrument, order->side, price_ticks)
                         ? trading_match(engine, instrument, order, order->position_slot,
                                         price_ticks)
                         : 0;
    uint32_t filled = order->quantity_filled;
    if (order->quantity_open > 0 && !self_trade) {
        book_order_append(engine, instrument, slot);
        trading_reserve_add(engine, instrument, order);
        /* Without a trade, ORDER_REPLACED already told where it rests. */
        if (filled != filled_before)
            trading_emit_order(engine, EVENT_ORDER_ACCEPTED, 0, order, order->quantity_open);
        return filled;
    }
    uint32_t position_slot = order->position_slot;
    trading_emit_order(engine, EVENT_ORDER_DONE, self_trade ? DONE_SELF_TRADE : DONE_FILLED,
                       order, 0);
    order_index_remove(engine, slot);
    engine->positions[position_slot].order_count--;
    pool_release(&engine->order_pool, slot);
    position_release_if_empty(engine, position_slot);
    return filled;
}

static int trading_order_replace(struct engine *engine, const struct command *command,
                                 struct outcome *outcome)
{
    uint32_t slot = trading_command_order(engine, command->u.order_replace.order_id);
    if (slot == INDEX_NONE)
        return REJECT_ORDER_UNKNOWN;
    struct order *order = &engine->orders[slot];
    struct instrument *instrument = &engine->instruments[order->instrument_id];
    const struct account *account = &engine->accounts[order->account_id];
    int64_t price_ticks = command->u.order_replace.price_ticks;
    int64_t quantity = command->u.order_replace.quantity;
    if (instrument->phase != PHASE_OPEN && instrument->phase != PHASE_PRE_OPEN)
        return REJECT_PHASE_CLOSED;
    int result = trading_check_terms(instrument, account, ORDER_TYPE_LIMIT, price_ticks, quantity);
    /* Filled and open together stay within QUANTITY_MAX, so that repeated
     * refills cannot wrap quantity_filled, a uint32_t. */
    if (result == RESULT_OK && (int64_t)order->quantity_filled + quantity > QUANTITY_MAX)
        result = REJECT_QUANTITY_ZERO;
    if (result == RESULT_OK)
        result = trading_check_notional(instrument, account, price_ticks, quantity);
    if (result != RESULT_OK)
        return result;
    if (price_ticks == order->price_ticks && quantity == order->quantity_open)
        return REJECT_REPLACE_INVALID;
    outcome->id = order->order_id;
    if (price_ticks == order->price_ticks && quantity < order->quantity_open) {
        trading_order_reduce(engine, slot, (uint32_t)quantity);
        if (engine->logic_version >= LOGIC_VERSION_ANSWERS)
            outcome->value = order->quantity_filled;
        return RESULT_OK;
    }
    result = trading_replace_risk(engine, instrument, order, price_ticks, quantity);
    if (result != RESULT_OK)
        return result;
    struct order replaced;
    uint8_t time_in_force = (order->flags & ORDER_FLAG_GTC) ? TIF_GTC : TIF_DAY;
    bool queued = (order->flags & ORDER_FLAG_QUEUED) != 0;
    uint32_t filled_before = order->quantity_filled;
    if (!queued && instrument->phase == PHASE_OPEN) {
        uint32_t filled = trading_order_move(engine, instrument, slot, (int32_t)price_ticks,
                                             (uint32_t)quantity);
        outcome->value = filled;
        outcome->replace_filled = filled - filled_before;
        return RESULT_OK;
    }
    trading_order_detach(engine, slot, &replaced);
    replaced.price_ticks = (int32_t)price_ticks;
    replaced.quantity_open = (uint32_t)quantity;
    trading_emit_order(engine, EVENT_ORDER_REPLACED, 0, &replaced, quantity);
    /* Nothing matches in pre-open: an order that lost its place there
     * joins the queue, even one that rested in the book before. */
    if (queued || instrument->phase == PHASE_PRE_OPEN)
        trading_queue_append(engine, instrument, &replaced, time_in_force);
    else
        trading_execute(engine, instrument, &replaced, time_in_force, price_ticks);
    assert(replaced.quantity_filled >= filled_before);
    outcome->value = replaced.quantity_filled;
    outcome->replace_filled = replaced.quantity_filled - filled_before;
    return RESULT_OK;
}

/* At the open, queued orders are matched in the order they arrived. */
static void trading_queue_drain(struct engine *engine, struct instrument *instrument)
{
    while (instrument->queue_head != INDEX_NONE) {
        uint32_t slot = instrument->queue_head;
        uint8_t time_in_force = (engine->orders[slot].flags & ORDER_FLAG_GTC) ? TIF_GTC : TIF_DAY;
        struct order incoming;
        trading_order_detach(engine, slot, &incoming);
        trading_execute(engine, instrument, &incoming, time_in_force, incoming.price_ticks);
    }
    assert(instrument->queue_count == 0);
}

/* The band is +- band_bp of the reference, clamped to the ladder and to
 * valid prices; the ladder starts at its low end. */
static void trading_band_set(struct instrument *instrument)
{
    int64_t reference_ticks = instrument->reference_price_ticks;
    int64_t half_ticks = reference_ticks * instrument->band_bp / BP_ONE;
    if (half_ticks > (int64_t)(LADDER_LEVELS - 1) / 2)
        half_ticks = (int64_t)(LADDER_LEVELS - 1) / 2;
    int64_t low_ticks = reference_ticks - half_ticks;
    instrument->band_low_ticks = low_ticks < 1 ? 1 : low_ticks;
    instrument->band_high_ticks = reference_ticks + half_ticks > PRICE_TICKS_MAX
                                      ? PRICE_TICKS_MAX
                                      : reference_ticks + half_ticks;
    assert(instrument->band_high_ticks - instrument->band_low_ticks < (int64_t)LADDER_LEVELS);
}

/* Does a sweep for reason close this order? */
static bool trading_sweep_hits(const struct instrument *instrument, const struct order *order,
                               uint16_t reason)
{
    if (reason == DONE_EXPIRED)
        return (order->flags & ORDER_FLAG_GTC) == 0;
    assert(reason == DONE_OUTSIDE_BAND);
    return order->price_ticks < instrument->band_low_ticks ||
           order->price_ticks > instrument->band_high_ticks;
}

static void trading_sweep_list(struct engine *engine, struct instrument *instrument,
                               uint32_t slot, uint16_t reason)
{
    while (slot != INDEX_NONE) {
        uint32_t next = engine->orders[slot].next;
        if (trading_sweep_hits(instrument, &engine->orders[slot], reason))
            trading_order_close(engine, slot, reason);
        slot = next;
    }
}

/* Closes, in canonical order (each side best first, each level oldest
 * first, then the queue), every open order the sweep's reason hits. */
static void trading_sweep(struct engine *engine, struct instrument *instrument, uint16_t reason)
{
    for (uint32_t side = 0; side < SIDE_COUNT; side++) {
        struct ladder *ladder = instrument->sides[side];
        for (uint32_t index = ladder_best(ladder, side); index != INDEX_NONE;
             index = ladder_next_worse(ladder, side, index))
            trading_sweep_list(engine, instrument, ladder->levels[index].head, reason);
    }
    trading_sweep_list(engine, instrument, instrument->queue_head, reason);
}

/* ---- Orders of an inactive downline (logic 3). ----
 *
 * Suspending or closing an account cancels every open order of the
 * account and of its downline (only members own orders). Orders are not
 * linked by account, so they are found in the books, in the same
 * canonical order as the sweeps above: instruments by id, each side best
 * level first and oldest first within a level, then the pre-open queue.
 *
 * Cost: for a member, only the instruments of its positions that keep
 * orders open (order_count), and each sweep stops at the last of them;
 * for any other account, every instrument that has orders, each order
 * checked by a walk up the tree (at most four steps). The worst case is
 * one pass over every open order (limits.orders_max) plus a bitmap walk
 * per instrument (limits.instruments_max), as DAY_END's expiry sweep. */

struct downline_sweep {
    uint32_t account_id; /* the account made inactive */
    uint32_t left;       /* orders still to close: a member's count, else UINT32_MAX */
    uint32_t closed;
};

static bool trading_downline_owns(const struct engine *engine, const struct downline_sweep *sweep,
                                  const struct order *order)
{
    return order->account_id == sweep->account_id ||
           account_is_ancestor(engine, sweep->account_id, order->account_id);
}

static void trading_downline_list(struct engine *engine, struct downline_sweep *sweep,
                                  uint32_t slot)
{
    while (slot != INDEX_NONE && sweep->left > 0) {
        uint32_t next = engine->orders[slot].next;
        if (trading_downline_owns(engine, sweep, &engine->orders[slot])) {
            trading_order_close(engine, slot, DONE_ACCOUNT_INACTIVE);
            sweep->closed++;
            sweep->left--;
        }
        slot = next;
    }
}

static void trading_downline_instrument(struct engine *engine, struct downline_sweep *sweep,
                                        struct instrument *instrument)
{
    for (uint32_t side = 0; side < SIDE_COUNT; side++) {
        struct ladder *ladder = instrument->sides[side];
        uint32_t index = ladder_best(ladder, side);
        while (index != INDEX_NONE && sweep->left > 0) {
            /* The next level first: closing the last order empties this one. */
            uint32_t next = ladder_next_worse(ladder, side, index);
            trading_downline_list(engine, sweep, ladder->levels[index].head);
            index = next;
        }
    }
    trading_downline_list(engine, sweep, instrument->queue_head);
}

uint32_t trading_cancel_downline(struct engine *engine, uint32_t account_id)
{
    assert(account_id < engine->account_count);
    assert(engine->logic_version >= LOGIC_VERSION_INACTIVE_CANCELS);
    struct downline_sweep sweep = {account_id, UINT32_MAX, 0};
    const struct account *account = &engine->accounts[account_id];
    if (account->kind == ACCOUNT_KIND_MEMBER) {
        /* The member's positions, sorted by instrument id: a closed order
         * may free its position, so the next one is read first. */
        uint32_t slot = account->position_head;
        while (slot != INDEX_NONE) {
            uint32_t next = engine->positions[slot].next;
            sweep.left = engine->positions[slot].order_count;
            if (sweep.left > 0)
                trading_downline_instrument(
                    engine, &sweep, &engine->instruments[engine->positions[slot].instrument_id]);
            assert(sweep.left == 0);
            slot = next;
        }
        assert(account->reserved_minor == 0);
        return sweep.closed;
    }
    for (uint32_t id = 0; id < engine->instrument_count; id++) {
        struct instrument *instrument = &engine->instruments[id];
        if (instrument->sides[SIDE_BUY]->order_count != 0 ||
            instrument->sides[SIDE_SELL]->order_count != 0 || instrument->queue_count != 0)
            trading_downline_instrument(engine, &sweep, instrument);
    }
    return sweep.closed;
}

/* A new reference price: new band, orders outside it cancelled, ladder
 * moved to the band's low end. */
static void trading_reband(struct engine *engine, struct instrument *instrument)
{
    trading_band_set(instrument);
    trading_sweep(engine, instrument, DONE_OUTSIDE_BAND);
    book_rebase(instrument, instrument->band_low_ticks);
}

static int trading_instrument_create(struct engine *engine, const struct command *command,
                                     struct outcome *outcome)
{
    const struct command_instrument_create *create = &command->u.instrument_create;
    if (create->tick_size_minor <= 0 || create->tick_size_minor > TICK_SIZE_MINOR_MAX ||
        create->lot_size <= 0 || create->lot_size > QUANTITY_MAX ||
        create->reference_price_ticks <= 0 || create->reference_price_ticks > PRICE_TICKS_MAX ||
        create->band_bp == 0 || create->band_bp >= BP_ONE || create->fee_maker_bp > 1000 ||
        create->fee_taker_bp > 1000)
        return REJECT_INSTRUMENT_INVALID;
    if (engine->instrument_count >= engine->limits.instruments_max)
        return REJECT_INSTRUMENTS_FULL;
    uint32_t id = engine->instrument_count++;
    struct instrument *instrument = &engine->instruments[id];
    struct ladder *sides[SIDE_COUNT] = {instrument->sides[0], instrument->sides[1]};
    memset(instrument, 0, sizeof *instrument);
    memcpy(instrument->symbol, create->symbol, SYMBOL_SIZE);
    instrument->tick_size_minor = create->tick_size_minor;
    instrument->lot_size = create->lot_size;
    instrument->reference_price_ticks = create->reference_price_ticks;
    instrument->band_bp = create->band_bp;
    instrument->fee_maker_bp = create->fee_maker_bp;
    instrument->fee_taker_bp = create->fee_taker_bp;
    instrument->phase = PHASE_CLOSED;
    instrument->queue_head = INDEX_NONE;
    instrument->queue_tail = INDEX_NONE;
    for (uint32_t side = 0; side < SIDE_COUNT; side++) {
        instrument->sides[side] = sides[side];
        ladder_clear(sides[side]);
    }
    trading_band_set(instrument);
    instrument->ladder_base_ticks = instrument->band_low_ticks;
    outcome->id = id;
    return RESULT_OK;
}

static int trading_set_phase(struct engine *engine, const struct command *command,
                             struct outcome *outcome)
{
    uint32_t id = command->u.instrument_set_phase.instrument_id;
    uint8_t phase = command->u.instrument_set_phase.phase;
    if (id >= engine->instrument_count)
        return REJECT_INSTRUMENT_UNKNOWN;
    if (phase != PHASE_PRE_OPEN && phase != PHASE_OPEN && phase != PHASE_HALTED)
        return REJECT_PHASE_INVALID;
    if (!engine->day_open)
        return REJECT_DAY_STATE;
    struct instrument *instrument = &engine->instruments[id];
    instrument->phase = phase;
    if (phase == PHASE_OPEN)
        trading_queue_drain(engine, instrument);
    outcome->id = id;
    outcome->value = phase;
    return RESULT_OK;
}

static int trading_set_reference(struct engine *engine, const struct command *command,
                                 struct outcome *outcome)
{
    uint32_t id = command->u.instrument_set_reference.instrument_id;
    int64_t reference_ticks = command->u.instrument_set_reference.reference_price_ticks;
    if (id >= engine->instrument_count)
        return REJECT_INSTRUMENT_UNKNOWN;
    if (reference_ticks <= 0 || reference_ticks > PRICE_TICKS_MAX)
        return REJECT_PRICE_OFF_TICK;
    struct instrument *instrument = &engine->instruments[id];
    instrument->reference_price_ticks = reference_ticks;
    /* The operator's price stands until the next trade: the next start of
     * day takes it, not an older last trade. */
    instrument->last_price_ticks = 0;
    trading_reband(engine, instrument);
    outcome->id = id;
    outcome->value = reference_ticks;
    return RESULT_OK;
}

void trading_apply_place(struct engine *engine, const struct command *command,
                         struct outcome *outcome)
{
    outcome->result = (uint16_t)trading_order_place(engine, command, outcome);
}

void trading_apply_cancel(struct engine *engine, const struct command *command,
                          struct outcome *outcome)
{
    outcome->result = (uint16_t)trading_order_cancel(engine, command, outcome);
}

void trading_apply_replace(struct engine *engine, const struct command *command,
                           struct outcome *outcome)
{
    outcome->result = (uint16_t)trading_order_replace(engine, command, outcome);
}

void trading_apply(struct engine *engine, const struct command *command, struct outcome *outcome)
{
    int result;
    switch (command->type) {
    case COMMAND_INSTRUMENT_CREATE:
        result = trading_instrument_create(engine, command, outcome);
        break;
    case COMMAND_INSTRUMENT_SET_PHASE: result = trading_set_phase(engine, command, outcome); break;
    case COMMAND_INSTRUMENT_SET_REFERENCE:
        result = trading_set_reference(engine, command, outcome);
        break;
    case COMMAND_ORDER_PLACE: result = trading_order_place(engine, command, outcome); break;
    case COMMAND_ORDER_CANCEL: result = trading_order_cancel(engine, command, outcome); break;
    case COMMAND_ORDER_REPLACE: result = trading_order_replace(engine, command, outcome); break;
    default: assert(!"not a trading command"); result = REJECT_COMMAND_UNKNOWN; break;
    }
    outcome->result = (uint16_t)result;
}

void trading_day_start(struct engine *engine)
{
    for (uint32_t id = 0; id < engine->instrument_count; id++) {
        struct instrument *instrument = &engine->instruments[id];
        instrument->reference_price_ticks = trading_mark_price_ticks(instrument);
        instrument->day_volume = 0;
        instrument->day_trade_count = 0;
        trading_reband(engine, instrument);
        instrument->phase = PHASE_OPEN;
        trading_queue_drain(engine, instrument);
    }
}

void trading_day_end(struct engine *engine)
{
    for (uint32_t id = 0; id < engine->instrument_count; id++) {
        struct instrument *instrument = &engine->instruments[id];
        trading_sweep(engine, instrument, DONE_EXPIRED);
        instrument->phase = PHASE_DAY_CLOSED;
    }
}
