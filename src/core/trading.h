/* Order-book markets: instruments, phases, price bands, orders, matching,
 * trades, fees; and the instruments' part of the daily cycle.
 * See docs/trading.md for the rules in prose.
 */
#ifndef NODOWN_CORE_TRADING_H
#define NODOWN_CORE_TRADING_H

#include <assert.h>
#include <stdint.h>

#include "core/state.h"

/* Instrument and order commands. */
void trading_apply(struct engine *engine, const struct command *command,
                   struct outcome *outcome);

/* The three order commands one by one, called straight from the engine's
 * dispatch: they are nearly all of the traffic. */
void trading_apply_place(struct engine *engine, const struct command *command,
                         struct outcome *outcome);
void trading_apply_cancel(struct engine *engine, const struct command *command,
                          struct outcome *outcome);
void trading_apply_replace(struct engine *engine, const struct command *command,
                           struct outcome *outcome);

static inline int64_t trading_notional_minor(const struct instrument *instrument,
                                             int64_t price_ticks, int64_t quantity)
{
    assert(price_ticks > 0 && price_ticks <= PRICE_TICKS_MAX);
    assert(quantity >= 0 && quantity <= QUANTITY_MAX);
    return price_ticks * instrument->tick_size_minor * quantity;
}

/* A fee of fee_bp on a notional, rounded down. */
static inline int64_t trading_fee_minor(int64_t notional_minor, uint16_t fee_bp)
{
    if (fee_bp == 0)
        return 0;
    /* notional < 2^62 would overflow times bp; divide first, exactly. */
    return notional_minor / BP_ONE * fee_bp + notional_minor % BP_ONE * fee_bp / BP_ONE;
}

/* Cash a buy order of quantity at price_ticks may cost at most: the
 * notional plus the larger fee. Reserved while the order is open. */
static inline int64_t trading_reserve_minor(const struct instrument *instrument,
                                            int64_t price_ticks, int64_t quantity)
{
    int64_t notional_minor = trading_notional_minor(instrument, price_ticks, quantity);
    uint16_t fee_bp = instrument->fee_maker_bp > instrument->fee_taker_bp
                          ? instrument->fee_maker_bp
                          : instrument->fee_taker_bp;
    return notional_minor + trading_fee_minor(notional_minor, fee_bp);
}

/* Start of day: reference from the last trade, new band, orders outside it
 * cancelled, counters reset, phase open. */
void trading_day_start(struct engine *engine);

/* End of day: day orders expire, phase day-closed. */
void trading_day_end(struct engine *engine);

/* From logic version 3: closes every open order of the account and of its
 * downline (DONE_ACCOUNT_INACTIVE), in canonical order. Returns how many. */
uint32_t trading_cancel_downline(struct engine *engine, uint32_t account_id);

/* Links a queued order (ORDER_FLAG_QUEUED set) at the queue's tail. */
void trading_queue_link(struct engine *engine, struct instrument *instrument, uint32_t slot);

/* The price positions are marked at: last trade, else reference. */
int64_t trading_mark_price_ticks(const struct instrument *instrument);

#endif
