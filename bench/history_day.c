/* A synthetic trading day through a replica (history_day.h). */
#include "bench/history_day.h"

#include "bench/bench_commands.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/command_codec.h"
#include "core/limits.h"
#include "core/result.h"
#include "lib/mem.h"

#define HISTORY_DAY_RECENT 4096u
#define HISTORY_DAY_REFERENCE 10000
#define HISTORY_DAY_MASTERS 4u

static uint32_t day_rand(struct history_day *day)
{
    day->seed ^= day->seed << 13;
    day->seed ^= day->seed >> 7;
    day->seed ^= day->seed << 17;
    return (uint32_t)(day->seed >> 16);
}

/* Each accepted order's id, for the cancels to come. */
static void day_outcome(void *context, uint64_t stream_seq, const struct command *command,
                        const struct outcome *outcome)
{
    struct history_day *day = context;
    (void)stream_seq;
    day->commands++;
    day->rejects += outcome->result != RESULT_OK;
    if (command->type == COMMAND_ORDER_PLACE && outcome->result == RESULT_OK) {
        day->recent_orders[day->recent_count++ % HISTORY_DAY_RECENT] = outcome->id;
        day->last_order_id = outcome->id;
    }
    if (command->type == COMMAND_BET_PLACE && outcome->result == RESULT_OK)
        day->last_bet_id = outcome->id;
}

/* The batch so far as the next stream message. */
static int day_flush(struct history_day *day)
{
    if (day->batch_count == 0)
        return 0;
    size_t length = 0;
    day->time_ns += 1000000;
    int rv = batch_encode(day->time_ns, day->batch, day->batch_count, day->encoded,
                          BATCH_SIZE_MAX, &length);
    if (rv == 0)
        rv = replica_apply(day->replica, day->replica->applied_seq + 1, day->time_ns,
                           day->encoded, length, day_outcome, day);
    day->batch_count = 0;
    if (rv != 0)
        fprintf(stderr, "history day: message %" PRIu64 ": %s\n",
                day->replica->applied_seq + 1, err_text(rv));
    return rv;
}

static int day_add(struct history_day *day, struct command *command)
{
    command->client_id = 1;
    command->client_seq = ++day->client_seq[command->sender_account_id];
    day->batch[day->batch_count++] = *command;
    return day->batch_count == HISTORY_DAY_BATCH ? day_flush(day) : 0;
}

/* Set-up commands are applied one message each: their ids are needed. */
static uint32_t day_setup(struct history_day *day, struct command *command)
{
    if (day_flush(day) != 0)
        return INDEX_NONE;
    uint64_t commands = day->commands;
    day_add(day, command);
    day_flush(day);
    if (day->commands != commands + 1)
        return INDEX_NONE;
    uint32_t id = (uint32_t)day->replica->outcomes[0].id;
    if (day->replica->outcomes[0].result == RESULT_OK)
        return id;
    fprintf(stderr, "history day: set-up %s: %s\n", command_type_name(command->type),
            result_text(day->replica->outcomes[0].result));
    return INDEX_NONE;
}

static uint32_t day_account(struct history_day *day, uint32_t parent, uint8_t kind)
{
    struct command c = bench_command(COMMAND_ACCOUNT_CREATE, 0);
    c.u.account_create.parent_id = parent;
    c.u.account_create.kind = kind;
    return day_setup(day, &c);
}

static void day_pt(struct history_day *day, uint32_t parent, uint32_t child, uint16_t share)
{
    for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
        struct command c = bench_command(COMMAND_PT_SET, parent);
        c.u.pt_set.account_id = child;
        c.u.pt_set.market_type = type;
        c.u.pt_set.share_bp = share;
        c.u.pt_set.max_bp = 5000;
        day_add(day, &c);
    }
    day_flush(day);
}

static int day_tree(struct history_day *day)
{
    day->operator_id = day_account(day, 0, ACCOUNT_KIND_OPERATOR);
    uint32_t super = day_account(day, 0, ACCOUNT_KIND_SUPER);
    day_pt(day, 0, super, 2000);
    uint32_t masters[HISTORY_DAY_MASTERS];
    for (uint32_t i = 0; i < HISTORY_DAY_MASTERS; i++) {
        masters[i] = day_account(day, super, ACCOUNT_KIND_MASTER);
        day_pt(day, super, masters[i], 3000);
    }
    for (uint32_t i = 0; i < HISTORY_DAY_AGENTS; i++) {
        day->agents[i] = day_account(day, masters[i % HISTORY_DAY_MASTERS], ACCOUNT_KIND_AGENT);
        day_pt(day, masters[i % HISTORY_DAY_MASTERS], day->agents[i], 2500);
    }
    for (uint32_t i = 0; i < HISTORY_DAY_MEMBERS; i++) {
        uint32_t id = day_account(day, day->agents[i % HISTORY_DAY_AGENTS], ACCOUNT_KIND_MEMBER);
        if (id == INDEX_NONE)
            return ERR_USAGE;
        day->members[i] = id;
        struct command c = bench_command(COMMAND_CASH_DEPOSIT, day->operator_id);
        c.u.cash.account_id = id;
        c.u.cash.amount_minor = (int64_t)1 << 40;
        day_add(day, &c);
        c = bench_command(COMMAND_POSITION_GRANT, day->operator_id);
        c.u.position_grant.account_id = id;
        c.u.position_grant.instrument_id = i % HISTORY_DAY_INSTRUMENTS;
        c.u.position_grant.quantity = (int64_t)1 << 30;
        day_add(day, &c);
    }
    return day_flush(day);
}

static int day_venues(struct history_day *day)
{
    for (uint32_t i = 0; i < HISTORY_DAY_INSTRUMENTS; i++) {
        struct command c = bench_instrument(i, HISTORY_DAY_REFERENCE, 5);
        day_add(day, &c);
    }
    struct command start = bench_command(COMMAND_DAY_START, 0);
    start.u.day.trading_date = HISTORY_DAY_DATE;
    day_add(day, &start);
    for (uint32_t i = 0; i < HISTORY_DAY_MARKETS; i++) {
        if (i % 5 == 0) {
            struct command e = bench_sport_event(i);
            day_add(day, &e);
        }
        struct command m = bench_market_1x2(i);
        day_add(day, &m);
    }
    return day_flush(day);
}

int history_day_open(struct history_day *day, struct replica *replica, uint64_t seed)
{
    memset(day, 0, sizeof *day);
    day->replica = replica;
    day->seed = seed != 0 ? seed : 0x9E3779B97F4A7C15u;
    day->time_ns = 1798675200000000000u; /* 2027-01-01 */
    day->client_seq = mem_array_alloc(replica->engine.limits.accounts_max, sizeof(uint64_t));
    day->recent_orders = mem_array_alloc(HISTORY_DAY_RECENT, sizeof(uint64_t));
    day->encoded = mem_array_alloc(BATCH_SIZE_MAX, 1);
    if (day->client_seq == NULL || day->recent_orders == NULL || day->encoded == NULL)
        return ERR_NOMEM;
    int rv = day_venues(day);
    if (rv == 0)
        rv = day_tree(day);
    return rv;
}

void history_day_close(struct history_day *day)
{
    mem_free(day->client_seq);
    mem_free(day->recent_orders);
    mem_free(day->encoded);
}

/* One member's command: mostly orders that cross, some cancels, bets. */
static int day_trade_one(struct history_day *day)
{
    uint32_t r = day_rand(day);
    uint32_t member_index = r % HISTORY_DAY_MEMBERS;
    uint32_t member = day->members[member_index];
    uint32_t kind = (r >> 12) % 100;
    struct command c;
    if (kind < 10 && day->recent_count > 0) {
        c = bench_command(COMMAND_ORDER_CANCEL, member);
        uint32_t limit = day->recent_count < HISTORY_DAY_RECENT ? day->recent_count
                                                                : HISTORY_DAY_RECENT;
        c.u.order_cancel.order_id = day->recent_orders[day_rand(day) % limit];
    } else if (kind < 25) {
        c = bench_command(COMMAND_BET_PLACE, member);
        c.u.bet_place.market_id = day_rand(day) % HISTORY_DAY_MARKETS;
        c.u.bet_place.selection = (uint8_t)(day_rand(day) % 3);
        static const int32_t odds[3] = {2100, 3300, 3600};
        c.u.bet_place.odds_milli = odds[c.u.bet_place.selection];
        c.u.bet_place.stake_minor = 100 + day_rand(day) % 10000;
    } else {
        c = bench_command(COMMAND_ORDER_PLACE, member);
        uint8_t side = (uint8_t)(day_rand(day) & 1);
        int64_t offset = (int64_t)(day_rand(day) % 21) - 10;
        c.u.order_place.instrument_id = member_index % HISTORY_DAY_INSTRUMENTS;
        c.u.order_place.side = side;
        c.u.order_place.order_type = ORDER_TYPE_LIMIT;
        c.u.order_place.time_in_force = TIF_DAY;
        c.u.order_place.price_ticks = HISTORY_DAY_REFERENCE + (side == SIDE_BUY ? offset : -offset);
        c.u.order_place.quantity = 1 + day_rand(day) % 50;
        c.u.order_place.client_order_id = day->client_seq[member] + 1;
    }
    return day_add(day, &c);
}

int history_day_trade(struct history_day *day, uint64_t commands_max)
{
    int rv = 0;
    for (uint64_t i = 0; i < commands_max && rv == 0; i++)
        rv = day_trade_one(day);
    if (rv == 0)
        rv = day_flush(day);
    return rv;
}

int history_day_end(struct history_day *day)
{
    for (uint32_t i = 0; i < HISTORY_DAY_MARKETS; i++) {
        struct command c = bench_command(COMMAND_MARKET_SETTLE, 0);
        c.u.market_settle.market_id = i;
        c.u.market_settle.results[i % 3] = BET_RESULT_WIN;
        c.u.market_settle.result_count = 3;
        int rv = day_add(day, &c);
        if (rv != 0)
            return rv;
    }
    struct command end = bench_command(COMMAND_DAY_END, 0);
    end.u.day.trading_date = HISTORY_DAY_DATE;
    day_add(day, &end);
    return day_flush(day);
}
