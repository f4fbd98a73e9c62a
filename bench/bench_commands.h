/* Commands the benchmarks' set-ups build again and again: an empty one of
 * a type from a sender, an instrument, and a 1X2 market with its sport
 * event. Header-only: the benchmarks and test_history (which links the
 * synthetic day, bench/history_day.c) include it. */
#ifndef NODOWN_BENCH_BENCH_COMMANDS_H
#define NODOWN_BENCH_BENCH_COMMANDS_H

#include <stdio.h>
#include <string.h>

#include "core/command.h"

static inline struct command bench_command(uint16_t type, uint32_t sender)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = type;
    command.sender_account_id = sender;
    return command;
}

/* Instrument "I<index>": tick and lot 1, a band of 10 %, from the house. */
static inline struct command bench_instrument(uint32_t index, int64_t reference_ticks,
                                              uint16_t fee_taker_bp)
{
    struct command c = bench_command(COMMAND_INSTRUMENT_CREATE, 0);
    snprintf(c.u.instrument_create.symbol, SYMBOL_SIZE, "I%u", index);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = 1;
    c.u.instrument_create.reference_price_ticks = reference_ticks;
    c.u.instrument_create.band_bp = 1000;
    c.u.instrument_create.fee_taker_bp = fee_taker_bp;
    return c;
}

/* Market <index>: 1X2 at 2.100 / 3.300 / 3.600, stakes 1 .. 1 000 000, on
 * sport event index / 5 (bench_sport_event(index) makes it when index % 5
 * is 0). */
static inline struct command bench_sport_event(uint32_t index)
{
    struct command e = bench_command(COMMAND_SPORT_EVENT_CREATE, 0);
    e.u.sport_event_create.external_ref = 1000 + index / 5;
    return e;
}

static inline struct command bench_market_1x2(uint32_t index)
{
    struct command m = bench_command(COMMAND_MARKET_CREATE, 0);
    m.u.market_create.sport_event_id = index / 5;
    m.u.market_create.market_type = MARKET_TYPE_1X2;
    m.u.market_create.odds_milli[0] = 2100;
    m.u.market_create.odds_milli[1] = 3300;
    m.u.market_create.odds_milli[2] = 3600;
    m.u.market_create.stake_min_minor = 1;
    m.u.market_create.stake_max_minor = 1000000;
    m.u.market_create.odds_count = 3;
    return m;
}

#endif
