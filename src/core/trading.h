/* Order-book markets: instruments, phases, price bands, orders, matching,
 * trades, fees; and the instruments' part of the daily cycle.
 * See docs/trading.md for the rules in prose.
 */
#ifndef NODOWN_CORE_TRADING_H
#define NODOWN_CORE_TRADING_H

#include <stdint.h>

#include "core/state.h"

/* Instrument and order commands. */
void trading_apply(struct engine *engine, const struct command *command,
                   struct outcome *outcome);

/* Cash a buy order of quantity at price_ticks may cost at most: the
 * notional plus the larger fee. Reserved while the order is open. */
int64_t trading_reserve_minor(const struct instrument *instrument, int64_t price_ticks,
                              int64_t quantity);

int64_t trading_notional_minor(const struct instrument *instrument, int64_t price_ticks,
                               int64_t quantity);

/* Start of day: reference from the last trade, new band, orders outside it
 * cancelled, counters reset, phase open. */
void trading_day_start(struct engine *engine);

/* End of day: day orders expire, phase day-closed. */
void trading_day_end(struct engine *engine);

/* Links a queued order (ORDER_FLAG_QUEUED set) at the queue's tail. */
void trading_queue_link(struct engine *engine, struct instrument *instrument, uint32_t slot);

/* The price positions are marked at: last trade, else reference. */
int64_t trading_mark_price_ticks(const struct instrument *instrument);

#endif
