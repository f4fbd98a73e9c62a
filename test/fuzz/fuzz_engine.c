/* Randomized property test of the whole state machine, from a printed seed.
 *
 * A generator writes a log of commands of every type, mostly valid and
 * some not (unknown ids, bad prices, wrong senders, random bytes, resends),
 * and applies each to engine A as it goes. Along the way:
 *   - engine_check() holds every --check-every commands;
 *   - a resent command answers its first outcome, marked duplicate;
 * and at the end:
 *   - the same log applied to a fresh engine B, in batches through
 *     engine_apply_batch(), gives the same outcomes, the same events and
 *     the same digest (determinism, and batches equal single commands);
 *   - engine C applies the log up to a random point, is snapshotted and
 *     restored into engine D, which applies the rest: same digest as A.
 *
 *   fuzz_engine --seed S --commands N [--check-every K]
 * Any failure prints the seed and the command index: rerun with the same
 * seed to replay it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/account.h"
#include "core/engine.h"
#include "core/odds.h"
#include "core/session.h"
#include "core/snapshot.h"

#define MEMBERS_PER_AGENT 6u
#define RING_SIZE 512u

struct logged {
    uint64_t timestamp_ns;
    struct command command;
};

struct generator {
    uint64_t rng;
    struct engine *engine;
    uint32_t operator_id;
    uint32_t accounts[5][64]; /* by kind: supers, masters, agents, members */
    uint32_t account_counts[5];
    uint64_t seq[2][1024];    /* next client_seq by client_id 1..2, account */
    uint64_t wide_seq;        /* client_seq of the many client ids, 4 and up */
    uint64_t order_ids[RING_SIZE];
    uint32_t order_owners[RING_SIZE];
    uint32_t order_count;
    uint32_t recent[RING_SIZE]; /* log indexes, for resends */
    uint32_t recent_count;
    uint64_t time_ns;
    uint32_t trading_date;
};

struct run {
    struct logged *log;
    struct outcome *outcomes; /* the first outcome of each command */
    uint32_t length;
    uint32_t capacity;
    XXH64_state_t *events; /* hash of every event, in order */
    uint64_t failures;
    uint64_t seed;
};

static uint64_t rng_next(struct generator *g)
{
    /* xorshift64*: deterministic from the seed, good enough for test data. */
    g->rng ^= g->rng >> 12;
    g->rng ^= g->rng << 25;
    g->rng ^= g->rng >> 27;
    return g->rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_below(struct generator *g, uint32_t bound)
{
    return bound == 0 ? 0 : (uint32_t)(rng_next(g) % bound);
}

static int64_t rng_range(struct generator *g, int64_t low, int64_t high)
{
    return low + (int64_t)(rng_next(g) % (uint64_t)(high - low + 1));
}

static void events_emit(void *context, const struct event *event)
{
    XXH64_update(context, event, sizeof *event);
}

static uint32_t pick(struct generator *g, uint32_t kind)
{
    return g->accounts[kind][rng_below(g, g->account_counts[kind])];
}

static struct command new_command(struct generator *g, uint16_t type, uint32_t sender)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.sender_account_id = sender;
    uint32_t client = rng_below(g, 8) == 0 ? 1 : 0;
    c.client_id = client + 1;
    c.client_seq = sender < 1024 ? ++g->seq[client][sender] : 1;
    /* Now and then one of many client ids, so that accounts go past their
     * session quota and the table fills (logic version 3 evicts). */
    if (rng_below(g, 24) == 0) {
        c.client_id = 4 + rng_below(g, 40);
        c.client_seq = ++g->wide_seq;
    }
    return c;
}

/* ---- Command makers, one per kind of traffic. ---- */

static struct command make_order(struct generator *g)
{
    uint32_t member = pick(g, ACCOUNT_KIND_MEMBER);
    struct command c = new_command(g, COMMAND_ORDER_PLACE, member);
    uint32_t instrument = rng_below(g, g->engine->instrument_count + (rng_below(g, 50) == 0));
    c.u.order_place.instrument_id = instrument;
    c.u.order_place.side = (uint8_t)rng_below(g, 2);
    c.u.order_place.order_type = rng_below(g, 10) == 0 ? ORDER_TYPE_MARKET : ORDER_TYPE_LIMIT;
    static const uint8_t tifs[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 3};
    c.u.order_place.time_in_force = tifs[rng_below(g, 10)];
    if (c.u.order_place.order_type == ORDER_TYPE_MARKET && rng_below(g, 20) != 0)
        c.u.order_place.time_in_force = TIF_IOC + (uint8_t)rng_below(g, 2);
    int64_t reference = 1000;
    int64_t lot = 1;
    if (instrument < g->engine->instrument_count) {
        reference = g->engine->instruments[instrument].reference_price_ticks;
        lot = g->engine->instruments[instrument].lot_size;
    }
    /* Mostly passive, so books build depth; a fifth crosses the spread. */
    int64_t spread = reference / 8 + 2;
    int64_t offset = rng_range(g, -spread / 4, spread);
    c.u.order_place.price_ticks =
        c.u.order_place.side == SIDE_BUY ? reference - offset : reference + offset;
    c.u.order_place.quantity = lot * rng_range(g, 1, 12) + (rng_below(g, 40) == 0);
    c.u.order_place.client_order_id = rng_next(g);
    return c;
}

static struct command make_cancel_or_replace(struct generator *g, uint16_t type)
{
    uint32_t at = rng_below(g, g->order_count < RING_SIZE ? g->order_count : RING_SIZE);
    uint64_t order_id = g->order_count ? g->order_ids[at] : 1;
    uint32_t sender = g->order_count && rng_below(g, 10) ? g->order_owners[at]
                                                          : pick(g, ACCOUNT_KIND_MEMBER);
    if (rng_below(g, 30) == 0)
        sender = g->operator_id;
    struct command c = new_command(g, type, sender);
    if (type == COMMAND_ORDER_CANCEL) {
        c.u.order_cancel.order_id = order_id;
    } else {
        c.u.order_replace.order_id = order_id;
        c.u.order_replace.price_ticks = 1000 + rng_range(g, -120, 120);
        c.u.order_replace.quantity = rng_range(g, 1, 12);
    }
    return c;
}

static struct command make_bet(struct generator *g)
{
    uint32_t member = pick(g, ACCOUNT_KIND_MEMBER);
    struct command c = new_command(g, COMMAND_BET_PLACE, member);
    uint32_t market = rng_below(g, g->engine->market_count + 1);
    c.u.bet_place.market_id = market;
    c.u.bet_place.selection = (uint8_t)rng_below(g, 3);
    int32_t odds = 2000;
    if (market < g->engine->market_count)
        odds = g->engine->markets[market].odds_milli[c.u.bet_place.selection];
    if (rng_below(g, 10) == 0)
        odds += (int32_t)rng_range(g, -50, 50);
    c.u.bet_place.odds_milli = odds;
    c.u.bet_place.accept_better_odds = (uint8_t)rng_below(g, 2);
    c.u.bet_place.stake_minor = rng_range(g, 50, 20000);
    return c;
}

static void random_odds(struct generator *g, int32_t odds[SELECTIONS_MAX], uint8_t type)
{
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++)
        odds[s] = (type != MARKET_TYPE_1X2 && s == 2) ? 0 : (int32_t)rng_range(g, 1050, 6000);
    if (rng_below(g, 100) == 0)
        odds[0] = (int32_t)rng_range(g, -5, 1000);
}

/* The count of prices or results a market command says it carries: the
 * market's selections mostly, anything up to SELECTIONS_MAX sometimes
 * (logic version 3 refuses those). */
static uint8_t random_count(struct generator *g, uint8_t market_type)
{
    if (rng_below(g, 10) == 0)
        return (uint8_t)rng_below(g, SELECTIONS_MAX + 1);
    return market_type == MARKET_TYPE_1X2 ? 3 : 2;
}

static struct command make_market_admin(struct generator *g)
{
    uint32_t market = rng_below(g, g->engine->market_count + 1);
    uint32_t roll = rng_below(g, 100);
    uint32_t sender = rng_below(g, 50) ? g->operator_id : pick(g, ACCOUNT_KIND_AGENT);
    struct command c;
    if (roll < 45) {
        c = new_command(g, COMMAND_MARKET_SET_ODDS, sender);
        c.u.market_set_odds.market_id = market;
        uint8_t type = market < g->engine->market_count ? g->engine->markets[market].type : 0;
        random_odds(g, c.u.market_set_odds.odds_milli, type);
        c.u.market_set_odds.odds_count = random_count(g, type);
    } else if (roll < 60) {
        c = new_command(g, COMMAND_MARKET_SET_STATUS, sender);
        c.u.market_set_status.market_id = market;
        c.u.market_set_status.status = (uint8_t)rng_below(g, 3);
    } else if (roll < 80) {
        c = new_command(g, COMMAND_MARKET_SETTLE, sender);
        c.u.market_settle.market_id = market;
        for (uint32_t s = 0; s < SELECTIONS_MAX; s++)
            c.u.market_settle.results[s] = (uint8_t)rng_below(g, BET_RESULT_COUNT + 1);
        uint8_t type = market < g->engine->market_count ? g->engine->markets[market].type : 0;
        c.u.market_settle.result_count = random_count(g, type);
    } else if (roll < 96) {
        c = new_command(g, COMMAND_MARKET_CREATE, sender);
        c.u.market_create.sport_event_id = rng_below(g, g->engine->sport_event_count + 1);
        c.u.market_create.market_type = (uint8_t)rng_below(g, MARKET_TYPE_COUNT);
        c.u.market_create.line_quarters =
            c.u.market_create.market_type == MARKET_TYPE_1X2 ? 0 : (int32_t)rng_range(g, 1, 12);
        random_odds(g, c.u.market_create.odds_milli, c.u.market_create.market_type);
        c.u.market_create.odds_count = random_count(g, c.u.market_create.market_type);
        c.u.market_create.stake_min_minor = 50;
        c.u.market_create.stake_max_minor = rng_range(g, 1000, 50000);
    } else {
        c = new_command(g, COMMAND_SPORT_EVENT_CREATE, sender);
        c.u.sport_event_create.external_ref = rng_next(g);
    }
    return c;
}

static struct command make_pt(struct generator *g)
{
    uint32_t kind = ACCOUNT_KIND_SUPER + rng_below(g, 3);
    uint32_t level = pick(g, kind);
    if (rng_below(g, 2) == 0) {
        uint32_t sender = rng_below(g, 3) ? g->engine->accounts[level].parent_id : g->operator_id;
        if (sender == 0)
            sender = g->operator_id;
        struct command c = new_command(g, COMMAND_PT_SET, sender);
        c.u.pt_set.account_id = level;
        c.u.pt_set.market_type = (uint8_t)rng_below(g, MARKET_TYPE_COUNT);
        c.u.pt_set.max_bp = (uint16_t)rng_range(g, 0, 6000);
        c.u.pt_set.share_bp = (uint16_t)rng_range(g, 0, c.u.pt_set.max_bp);
        return c;
    }
    struct command c = new_command(g, COMMAND_PT_OVERRIDE, level);
    c.u.pt_override.sport_event_id = rng_below(g, g->engine->sport_event_count + 1);
    uint32_t market = rng_below(g, g->engine->market_count + 1);
    c.u.pt_override.market_id = rng_below(g, 3) == 0 ? INDEX_NONE : market;
    if (market < g->engine->market_count && c.u.pt_override.market_id != INDEX_NONE)
        c.u.pt_override.sport_event_id = g->engine->markets[market].sport_event_id;
    c.u.pt_override.share_bp = rng_below(g, 5) == 0 ? PT_SHARE_NONE
                                                    : (uint16_t)rng_range(g, 0, 6000);
    return c;
}

/* Who acts on target: mostly its parent (an operator for the house's
 * children), now and then any super, master, agent or member. */
static uint32_t pick_downline_sender(struct generator *g, uint32_t target)
{
    uint32_t parent = g->engine->accounts[target].parent_id;
    return rng_below(g, 4) ? (parent == 0 ? g->operator_id : parent)
                           : pick(g, ACCOUNT_KIND_SUPER + rng_below(g, 4));
}

/* COMMISSION_SET (logic version 3; unknown before): mostly within the
 * parent's own rate, now and then above it or past the maximum. */
static struct command make_commission(struct generator *g)
{
    uint32_t target = pick(g, ACCOUNT_KIND_SUPER + rng_below(g, 4));
    uint32_t parent = g->engine->accounts[target].parent_id;
    struct command c = new_command(g, COMMAND_COMMISSION_SET, pick_downline_sender(g, target));
    uint8_t type = (uint8_t)rng_below(g, MARKET_TYPE_COUNT);
    int64_t ceiling_bp = parent == 0 ? COMMISSION_BP_MAX
                                     : g->engine->commissions[parent].rate_bp[type];
    c.u.commission_set.account_id = target;
    c.u.commission_set.market_type = type;
    c.u.commission_set.rate_bp = (uint16_t)(rng_below(g, 8) ? rng_range(g, 0, ceiling_bp)
                                                            : rng_range(g, 0, 1100));
    return c;
}

static struct command make_account_admin(struct generator *g)
{
    uint32_t kind = ACCOUNT_KIND_SUPER + rng_below(g, 4);
    uint32_t target = pick(g, kind);
    uint32_t sender = pick_downline_sender(g, target);
    uint32_t roll = rng_below(g, 100);
    struct command c;
    if (roll < 35) {
        c = new_command(g, COMMAND_ACCOUNT_SET_CREDIT, sender);
        c.u.account_set_credit.account_id = target;
        c.u.account_set_credit.credit_limit_minor = rng_range(g, 0, 2000000);
    } else if (roll < 55) {
        c = new_command(g, COMMAND_ACCOUNT_SET_STATUS, sender);
        c.u.account_set_status.account_id = target;
        /* Mostly resume; suspend now and then; close very rarely. */
        uint32_t s = rng_below(g, 1000);
        c.u.account_set_status.status = s < 900 ? 0 : s < 999 ? 1 : 2;
        if (kind != ACCOUNT_KIND_MEMBER && c.u.account_set_status.status == 2)
            c.u.account_set_status.status = 1;
    } else if (roll < 80) {
        c = new_command(g, COMMAND_ACCOUNT_SET_LIMITS, sender);
        c.u.account_set_limits.account_id = target;
        c.u.account_set_limits.order_quantity_max = rng_below(g, 10) ? 0 : rng_range(g, 1, 20);
        c.u.account_set_limits.order_notional_max_minor =
            rng_below(g, 10) ? 0 : rng_range(g, 1000, 20000);
        c.u.account_set_limits.bet_stake_max_minor =
            rng_below(g, 10) ? 0 : rng_range(g, 100, 9000);
        c.u.account_set_limits.exposure_limit_minor =
            rng_below(g, 2) ? 0 : rng_range(g, 1000, 100000);
    } else if (roll < 90) {
        c = new_command(g, COMMAND_ACCOUNT_SET_SECRET, sender);
        c.u.account_set_secret.account_id = target;
        for (uint32_t i = 0; i < SECRET_HASH_SIZE; i++)
            c.u.account_set_secret.hash[i] = (uint8_t)rng_next(g);
    } else {
        c = new_command(g, COMMAND_ACCOUNT_CREATE, sender);
        c.u.account_create.parent_id = target;
        c.u.account_create.kind = (uint8_t)(kind + 1);
        c.u.account_create.credit_limit_minor = rng_range(g, 0, 50000);
    }
    return c;
}

static struct command make_cash(struct generator *g)
{
    uint32_t member = pick(g, ACCOUNT_KIND_MEMBER);
    uint32_t sender = rng_below(g, 20) ? g->operator_id : member;
    uint32_t roll = rng_below(g, 10);
    struct command c;
    if (roll < 5) {
        c = new_command(g, COMMAND_CASH_DEPOSIT, sender);
        c.u.cash.account_id = member;
        c.u.cash.amount_minor = rng_range(g, 1, 500000);
    } else if (roll < 7) {
        c = new_command(g, COMMAND_CASH_WITHDRAW, sender);
        c.u.cash.account_id = member;
        c.u.cash.amount_minor = rng_range(g, 1, 300000);
    } else {
        c = new_command(g, COMMAND_POSITION_GRANT, sender);
        c.u.position_grant.account_id = member;
        c.u.position_grant.instrument_id = rng_below(g, g->engine->instrument_count + 1);
        c.u.position_grant.quantity = rng_range(g, -20, 60);
    }
    return c;
}

static struct command make_session_admin(struct generator *g)
{
    uint32_t roll = rng_below(g, 100);
    struct command c;
    if (roll < 60) {
        c = new_command(g, COMMAND_INSTRUMENT_SET_PHASE, g->operator_id);
        c.u.instrument_set_phase.instrument_id = rng_below(g, g->engine->instrument_count);
        static const uint8_t phases[6] = {PHASE_OPEN, PHASE_OPEN, PHASE_OPEN, PHASE_PRE_OPEN,
                                          PHASE_HALTED, PHASE_DAY_CLOSED};
        c.u.instrument_set_phase.phase = phases[rng_below(g, 6)];
    } else if (roll < 80) {
        c = new_command(g, COMMAND_INSTRUMENT_SET_REFERENCE, g->operator_id);
        c.u.instrument_set_reference.instrument_id = rng_below(g, g->engine->instrument_count);
        c.u.instrument_set_reference.reference_price_ticks = rng_range(g, 900, 1100);
    } else if (roll < 98) {
        c = new_command(g, COMMAND_INSTRUMENT_SET_PHASE, g->operator_id);
        c.u.instrument_set_phase.instrument_id = rng_below(g, g->engine->instrument_count);
        c.u.instrument_set_phase.phase = PHASE_OPEN;
    } else if (roll < 99) {
        c = new_command(g, COMMAND_DAY_END, g->operator_id);
        c.u.day.trading_date = g->trading_date;
    } else {
        g->trading_date += rng_below(g, 4) ? 1 : 0;
        c = new_command(g, COMMAND_DAY_START, g->operator_id);
        c.u.day.trading_date = g->trading_date;
    }
    return c;
}

static struct command make_garbage(struct generator *g)
{
    struct command c;
    uint8_t *bytes = (uint8_t *)&c;
    for (size_t i = 0; i < sizeof c; i++)
        bytes[i] = (uint8_t)rng_next(g);
    c.type = (uint16_t)rng_below(g, COMMAND_TYPE_COUNT + 3);
    c.sender_account_id = rng_below(g, g->engine->account_count + 2);
    c.client_id = 3;
    c.client_seq = rng_below(g, 4) ? rng_next(g) >> 40 : 0;
    if (c.type == COMMAND_ACTIVATE_LOGIC)
        c.u.activate_logic.logic_version = rng_below(g, LOGIC_VERSION_MAX + 1); /* supported */
    return c;
}

/* A command of the usual traffic with one or two of its fields (any
 * bytes of its body, at an aligned offset) set to an extreme value: 0, 1,
 * -1, the smallest and largest of 8, 16, 32 and 64 bits, or an id past
 * every table. Whatever a gateway lets through must never stop a node:
 * engine_apply() may reject it, never assert. */
static struct command make_extreme(struct generator *g, struct command c)
{
    static const uint64_t values[] = {
        0, 1, UINT64_MAX, (uint64_t)INT64_MIN, (uint64_t)INT64_MAX, INT32_MAX,
        (uint64_t)(int64_t)INT32_MIN, UINT32_MAX, UINT16_MAX, INT16_MAX, UINT8_MAX,
        INT8_MAX, 1000000, 4611686018427387904u, (uint64_t)-4611686018427387904LL,
    };
    uint32_t mutations = 1 + rng_below(g, 2);
    for (uint32_t m = 0; m < mutations; m++) {
        uint32_t width = 1u << rng_below(g, 4); /* 1, 2, 4 or 8 bytes */
        uint32_t slots = (uint32_t)(sizeof c.u / width);
        uint32_t offset = rng_below(g, slots) * width;
        uint64_t value = values[rng_below(g, sizeof values / sizeof values[0])];
        if (rng_below(g, 4) == 0)
            value = g->engine->account_count + rng_below(g, 3); /* just past the end */
        memcpy((uint8_t *)&c.u + offset, &value, width); /* little-endian low bytes */
    }
    if (c.type == COMMAND_ACTIVATE_LOGIC)
        c.u.activate_logic.logic_version %= LOGIC_VERSION_MAX + 1; /* the gateway's gate */
    return c;
}

static struct command make_command(struct generator *g)
{
    uint32_t roll = rng_below(g, 1000);
    if (roll < 60) {
        uint32_t kind = rng_below(g, 1000);
        if (kind < 250) { /* any type at all, from anyone, its fields extreme */
            uint16_t type = (uint16_t)(1 + rng_below(g, COMMAND_TYPE_COUNT - 1));
            uint32_t sender = rng_below(g, 2) ? g->operator_id
                                              : rng_below(g, g->engine->account_count);
            return make_extreme(g, make_extreme(g, new_command(g, type, sender)));
        }
        struct command c = kind < 300   ? make_order(g)
                           : kind < 400 ? make_cancel_or_replace(g, COMMAND_ORDER_REPLACE)
                           : kind < 550 ? make_bet(g)
                           : kind < 700 ? make_market_admin(g)
                           : kind < 760 ? make_pt(g)
                           : kind < 780 ? make_commission(g)
                           : kind < 880 ? make_account_admin(g)
                           : kind < 960 ? make_cash(g)
                                        : make_session_admin(g);
        return make_extreme(g, c);
    }
    roll = rng_below(g, 1000);
    if (roll < 420)
        return make_order(g);
    if (roll < 530)
        return make_cancel_or_replace(g, COMMAND_ORDER_CANCEL);
    if (roll < 640)
        return make_cancel_or_replace(g, COMMAND_ORDER_REPLACE);
    if (roll < 800)
        return make_bet(g);
    if (roll < 860)
        return make_market_admin(g);
    if (roll < 880)
        return make_pt(g);
    if (roll < 890)
        return make_commission(g);
    if (roll < 930)
        return make_account_admin(g);
    if (roll < 970)
        return make_cash(g);
    if (roll < 985)
        return make_session_admin(g);
    return make_garbage(g);
}

/* ---- The run: the log, engine A, the checks. ---- */

static void fuzz_limits(struct limits *limits)
{
    limits->accounts_max = 400;
    limits->orders_max = 30000;
    limits->instruments_max = 4;
    limits->positions_max = 4000;
    limits->sessions_max = 800; /* full from time to time */
    limits->sport_events_max = 200;
    limits->markets_max = 2000;
    limits->bets_max = 30000;
    limits->exposures_max = 30000;
    limits->pt_overrides_max = 600;
    limits->sessions_per_account_max = 6; /* the wide client ids go past it */
    limits->session_idle_days = 2;
}

static void fail(struct run *run, uint32_t index, const char *what)
{
    fprintf(stderr, "FAIL seed %" PRIu64 " at command %u: %s\n", run->seed, index, what);
    run->failures++;
}

static struct outcome *run_outcomes(struct run *run)
{
    return run->outcomes;
}

static void run_append(struct run *run, uint64_t timestamp_ns, const struct command *command,
                       const struct outcome *outcome)
{
    if (run->length == run->capacity) {
        run->capacity = run->capacity ? run->capacity * 2 : 65536;
        run->log = realloc(run->log, run->capacity * sizeof *run->log);
        run->outcomes = realloc(run->outcomes, run->capacity * sizeof *run->outcomes);
        if (run->log == NULL || run->outcomes == NULL) {
            fprintf(stderr, "out of memory for the log\n");
            exit(2);
        }
    }
    run->log[run->length].timestamp_ns = timestamp_ns;
    run->log[run->length].command = *command;
    run_outcomes(run)[run->length] = *outcome;
    run->length++;
}

static bool outcome_recorded(const struct outcome *outcome)
{
    return outcome->duplicate == 0 && outcome->result != REJECT_SENDER_UNKNOWN &&
           outcome->result != REJECT_SEQUENCE_ZERO && outcome->result != REJECT_SESSIONS_FULL &&
           outcome->result != REJECT_SEQUENCE_STALE && outcome->result != REJECT_SESSION_EVICTED;
}

/* The ceiling a credit or PT command may lower, read before it applies:
 * the target's credit, or its PT maximum for the type (-1: none). */
static int64_t ceiling_before(const struct engine *engine, const struct command *command)
{
    uint32_t id = command_account_id(command);
    if (id >= engine->account_count)
        return -1;
    if (command->type == COMMAND_ACCOUNT_SET_CREDIT)
        return engine->accounts[id].credit_limit_minor;
    if (command->type == COMMAND_PT_SET && command->u.pt_set.market_type < MARKET_TYPE_COUNT)
        return engine->accounts[id].pt_max_bp[command->u.pt_set.market_type];
    return -1;
}

/* Logic 3's downline rules, checked after each command that triggers one
 * (docs/authorization.md): an account made inactive leaves no open order
 * in its downline; a lowered ceiling leaves no open account below it
 * holding more. Returns false when one does not hold. */
static bool downline_rules_hold(const struct engine *engine, const struct command *command,
                                const struct outcome *outcome, int64_t before)
{
    uint32_t target = command_account_id(command);
    if (engine->logic_version < 3 || outcome->result != RESULT_OK || outcome->duplicate)
        return true;
    bool inactive = command->type == COMMAND_ACCOUNT_SET_STATUS &&
                    command->u.account_set_status.status != ACCOUNT_STATUS_ACTIVE;
    bool lowered = before >= 0 && (command->type == COMMAND_ACCOUNT_SET_CREDIT
                                       ? command->u.account_set_credit.credit_limit_minor
                                       : command->u.pt_set.max_bp) < before;
    for (uint32_t id = target; (inactive || lowered) && id < engine->account_count; id++) {
        const struct account *account = &engine->accounts[id];
        if (id != target && !account_is_ancestor(engine, target, id))
            continue;
        if (inactive && account->reserved_minor != 0)
            return false;
        for (uint32_t slot = account->position_head; inactive && slot != INDEX_NONE;
             slot = engine->positions[slot].next)
            if (engine->positions[slot].order_count != 0)
                return false;
        if (!lowered || account->status == ACCOUNT_STATUS_CLOSED)
            continue;
        uint8_t type = command->u.pt_set.market_type;
        if (command->type == COMMAND_ACCOUNT_SET_CREDIT
                ? account->credit_limit_minor > engine->accounts[target].credit_limit_minor
                : account->pt_max_bp[type] > engine->accounts[target].pt_max_bp[type] ||
                      account->pt_share_bp[type] > account->pt_max_bp[type])
            return false;
    }
    return true;
}

/* Applies to engine A, logs, and remembers ids for later commands. */
static struct outcome step(struct run *run, struct generator *g, const struct command *command)
{
    struct outcome outcome;
    struct event_sink sink = {.emit_cb = events_emit, .context = run->events};
    g->time_ns += (uint64_t)rng_range(g, 0, 3000);
    uint64_t timestamp_ns = rng_below(g, 100) ? g->time_ns : g->time_ns - 50000;
    int64_t before = ceiling_before(g->engine, command);
    int rv = engine_apply(g->engine, timestamp_ns, command, &sink, &outcome);
    if (rv != 0)
        fail(run, run->length, "engine_apply returned an error");
    if (!downline_rules_hold(g->engine, command, &outcome, before))
        fail(run, run->length, "a downline rule of logic 3 does not hold");
    /* As a client told its account's horizon at logon goes on above it. */
    if (outcome.result == REJECT_SESSION_EVICTED && command->client_id <= 2 &&
        command->sender_account_id < 1024) {
        uint64_t *next = &g->seq[command->client_id - 1][command->sender_account_id];
        if (*next < (uint64_t)outcome.value)
            *next = (uint64_t)outcome.value;
    }
    if (command->type == COMMAND_ORDER_PLACE && outcome.result == RESULT_OK) {
        g->order_ids[g->order_count % RING_SIZE] = outcome.id;
        g->order_owners[g->order_count % RING_SIZE] = command->sender_account_id;
        g->order_count++;
    }
    g->recent[g->recent_count++ % RING_SIZE] = run->length;
    run_append(run, timestamp_ns, command, &outcome);
    return outcome;
}

/* A resend of a recent command must answer its first outcome. */
/* The house activates the newest logic version this build runs. */
static void step_logic_newest(struct run *run, struct generator *g)
{
    struct command logic = new_command(g, COMMAND_ACTIVATE_LOGIC, 0);
    logic.u.activate_logic.logic_version = LOGIC_VERSION_MAX;
    step(run, g, &logic);
}

static void step_resend(struct run *run, struct generator *g)
{
    if (g->recent_count == 0)
        return;
    uint32_t window = g->recent_count < RING_SIZE ? g->recent_count : RING_SIZE;
    uint32_t index = g->recent[(g->recent_count - 1 - rng_below(g, window)) % RING_SIZE];
    struct command command = run->log[index].command;
    struct outcome first = run_outcomes(run)[index];
    /* Only a command whose session is gone can be refused as evicted. */
    bool gone = command.sender_account_id < g->engine->account_count &&
                session_find(g->engine, command.sender_account_id, command.client_id) ==
                    INDEX_NONE;
    struct digest before = {0, 0};
    if (gone)
        engine_digest(g->engine, &before);
    struct outcome again = step(run, g, &command);
    if (again.result == REJECT_SESSION_EVICTED) {
        if (!gone)
            fail(run, run->length - 1, "refused as evicted with a session");
        struct digest after;
        engine_digest(g->engine, &after);
        if (after.high != before.high || after.low != before.low)
            fail(run, run->length - 1, "a resend to an evicted session changed the state");
        return;
    }
    if (!outcome_recorded(&first) || again.result == REJECT_SEQUENCE_STALE)
        return;
    if (again.duplicate != 1 || again.result != first.result || again.id != first.id ||
        again.value != first.value)
        fail(run, run->length - 1, "a resend did not answer its first outcome");
}

static uint32_t setup_account(struct run *run, struct generator *g, uint32_t sender,
                              uint32_t parent, uint32_t kind, int64_t credit_minor)
{
    struct command c = new_command(g, COMMAND_ACCOUNT_CREATE, sender);
    c.u.account_create.parent_id = parent;
    c.u.account_create.kind = (uint8_t)kind;
    c.u.account_create.credit_limit_minor = credit_minor;
    struct outcome outcome = step(run, g, &c);
    if (outcome.result != RESULT_OK) {
        fail(run, run->length - 1, "set-up account");
        return 0;
    }
    if (kind != ACCOUNT_KIND_OPERATOR)
        g->accounts[kind][g->account_counts[kind]++] = (uint32_t)outcome.id;
    return (uint32_t)outcome.id;
}

static void setup_ok(struct run *run, struct generator *g, struct command *c)
{
    if (step(run, g, c).result != RESULT_OK)
        fail(run, run->length - 1, "set-up command rejected");
}

static void setup_tree(struct run *run, struct generator *g)
{
    g->operator_id = setup_account(run, g, 0, 0, ACCOUNT_KIND_OPERATOR, 0);
    for (uint32_t s = 0; s < 2; s++) {
        uint32_t super = setup_account(run, g, g->operator_id, 0, ACCOUNT_KIND_SUPER, 9000000);
        for (uint32_t m = 0; m < 2; m++) {
            uint32_t master = setup_account(run, g, super, super, ACCOUNT_KIND_MASTER, 5000000);
            for (uint32_t a = 0; a < 2; a++) {
                uint32_t agent = setup_account(run, g, master, master, ACCOUNT_KIND_AGENT,
                                               2000000);
                for (uint32_t k = 0; k < MEMBERS_PER_AGENT; k++)
                    setup_account(run, g, agent, agent, ACCOUNT_KIND_MEMBER,
                                  rng_range(g, 0, 100000));
            }
        }
    }
    for (uint32_t kind = ACCOUNT_KIND_SUPER; kind <= ACCOUNT_KIND_AGENT; kind++) {
        for (uint32_t i = 0; i < g->account_counts[kind]; i++) {
            for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
                struct command c = new_command(g, COMMAND_PT_SET, g->operator_id);
                c.u.pt_set.account_id = g->accounts[kind][i];
                c.u.pt_set.market_type = type;
                c.u.pt_set.max_bp = 5000;
                c.u.pt_set.share_bp = (uint16_t)rng_range(g, 0, 4000);
                setup_ok(run, g, &c);
            }
        }
    }
}

static void setup_markets(struct run *run, struct generator *g)
{
    static const struct { int64_t tick, lot, reference; uint16_t band, maker, taker; } spec[3] = {
        {1, 1, 1000, 1000, 0, 0}, {2, 10, 1000, 1000, 5, 10}, {1, 1, 1000, 500, 0, 3}};
    for (uint32_t i = 0; i < 3; i++) {
        struct command c = new_command(g, COMMAND_INSTRUMENT_CREATE, g->operator_id);
        snprintf(c.u.instrument_create.symbol, SYMBOL_SIZE, "I%u", i);
        c.u.instrument_create.tick_size_minor = spec[i].tick;
        c.u.instrument_create.lot_size = spec[i].lot;
        c.u.instrument_create.reference_price_ticks = spec[i].reference;
        c.u.instrument_create.band_bp = spec[i].band;
        c.u.instrument_create.fee_maker_bp = spec[i].maker;
        c.u.instrument_create.fee_taker_bp = spec[i].taker;
        setup_ok(run, g, &c);
    }
    for (uint32_t i = 0; i < g->account_counts[ACCOUNT_KIND_MEMBER]; i++) {
        struct command c = new_command(g, COMMAND_CASH_DEPOSIT, g->operator_id);
        c.u.cash.account_id = g->accounts[ACCOUNT_KIND_MEMBER][i];
        c.u.cash.amount_minor = 5000000;
        setup_ok(run, g, &c);
        for (uint32_t instrument = 0; instrument < 3; instrument++) {
            struct command grant = new_command(g, COMMAND_POSITION_GRANT, g->operator_id);
            grant.u.position_grant.account_id = c.u.cash.account_id;
            grant.u.position_grant.instrument_id = instrument;
            grant.u.position_grant.quantity = 500;
            setup_ok(run, g, &grant);
        }
    }
    struct command day = new_command(g, COMMAND_DAY_START, g->operator_id);
    day.u.day.trading_date = g->trading_date;
    setup_ok(run, g, &day);
    for (uint32_t e = 0; e < 3; e++) {
        struct command c = new_command(g, COMMAND_SPORT_EVENT_CREATE, g->operator_id);
        setup_ok(run, g, &c);
    }
}

/* Applies log[from, to) to engine, hashing events into state. */
static void replay(struct run *run, struct engine *engine, uint32_t from, uint32_t to,
                   XXH64_state_t *events, bool compare)
{
    struct event_sink sink = {.emit_cb = events_emit, .context = events};
    for (uint32_t i = from; i < to; i++) {
        struct outcome outcome;
        int rv = engine_apply(engine, run->log[i].timestamp_ns, &run->log[i].command,
                              events ? &sink : NULL, &outcome);
        if (rv != 0 || (compare && memcmp(&outcome, &run_outcomes(run)[i], sizeof outcome))) {
            fail(run, i, "replay gave another outcome");
            return;
        }
    }
}

/* Applies the whole log to engine through engine_apply_batch(), in
 * batches of 1 to 64 commands drawn from the generator, each at the latest
 * time of the commands in it that apply (a command refused before it
 * applies, such as a resend, changes nothing, not even the clock); time is
 * not an input to any outcome, so outcomes, events and the final digest
 * must equal engine A's. */
static void replay_batched(struct run *run, struct generator *g, struct engine *engine,
                           XXH64_state_t *events)
{
    static struct command commands[64];
    static struct outcome outcomes[64];
    struct event_sink sink = {.emit_cb = events_emit, .context = events};
    for (uint32_t from = 0; from < run->length;) {
        uint32_t count = 1 + rng_below(g, 64);
        if (count > run->length - from)
            count = run->length - from;
        uint64_t timestamp_ns = 0;
        for (uint32_t k = 0; k < count; k++) {
            commands[k] = run->log[from + k].command;
            /* Recorded in a session means it went past the front door. */
            if (outcome_recorded(&run_outcomes(run)[from + k]) &&
                run->log[from + k].timestamp_ns > timestamp_ns)
                timestamp_ns = run->log[from + k].timestamp_ns;
        }
        uint32_t applied = 0;
        if (engine_apply_batch(engine, timestamp_ns, commands, count, &sink, outcomes,
                               &applied) != 0 || applied != count) {
            fail(run, from + applied, "a batch stopped");
            return;
        }
        for (uint32_t k = 0; k < count; k++) {
            if (memcmp(&outcomes[k], &run_outcomes(run)[from + k], sizeof outcomes[k]) != 0) {
                fail(run, from + k, "a batched replay gave another outcome");
                return;
            }
        }
        from += count;
    }
}

static int check_state(struct run *run, const struct engine *engine, uint32_t index)
{
    char errmsg[256];
    if (engine_check(engine, errmsg, sizeof errmsg) == 0)
        return 0;
    fail(run, index, errmsg);
    return -1;
}

static bool digests_equal(const struct engine *a, const struct engine *b)
{
    struct digest x;
    struct digest y;
    engine_digest(a, &x);
    engine_digest(b, &y);
    return x.high == y.high && x.low == y.low;
}

/* Engine C applies up to point, is snapshotted and restored into D, which
 * applies the rest; D must end where A ended. */
static int check_snapshot_restore(struct run *run, const struct engine *a, uint32_t point)
{
    struct limits limits;
    fuzz_limits(&limits);
    struct engine c;
    struct engine d;
    if (engine_init(&c, &limits) != 0 || engine_init(&d, &limits) != 0)
        return -1;
    replay(run, &c, 0, point, NULL, true);
    size_t capacity = snapshot_size(&c);
    uint8_t *buffer = malloc(capacity);
    size_t length = 0;
    char errmsg[256];
    int rv = buffer ? snapshot_encode(&c, buffer, capacity, &length) : ERR_NOMEM;
    if (rv == 0)
        rv = snapshot_decode(&d, buffer, length, errmsg, sizeof errmsg);
    if (rv != 0)
        fail(run, point, rv == ERR_NOMEM ? "no memory" : errmsg);
    else if (!digests_equal(&c, &d))
        fail(run, point, "restored snapshot has another digest");
    replay(run, &d, point, run->length, NULL, true);
    int result = rv == 0 && digests_equal(a, &d) && check_state(run, &d, run->length) == 0;
    if (rv == 0 && !digests_equal(a, &d))
        fail(run, point, "snapshot + rest of log ends with another digest");
    free(buffer);
    engine_free(&c);
    engine_free(&d);
    return result ? 0 : -1;
}

/* With FUZZ_STATS set: how often each command type met each result. */
static void print_stats(const struct run *run)
{
    static uint32_t counts[COMMAND_TYPE_COUNT + 4][RESULT_CODE_COUNT];
    for (uint32_t i = 0; i < run->length; i++) {
        uint32_t type = run->log[i].command.type;
        uint32_t result = run->outcomes[i].result;
        if (type < COMMAND_TYPE_COUNT && result < RESULT_CODE_COUNT)
            counts[type][result]++;
    }
    for (uint32_t type = 0; type < COMMAND_TYPE_COUNT; type++) {
        for (uint32_t result = 0; result < RESULT_CODE_COUNT; result++) {
            if (counts[type][result] > 0)
                printf("  %-26s %-32s %u\n", command_type_name(type), result_name(result),
                       counts[type][result]);
        }
    }
}

static int parse_args(int argc, char **argv, uint64_t *seed, uint32_t *commands,
                      uint32_t *check_every)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0)
            *seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--commands") == 0)
            *commands = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--check-every") == 0)
            *check_every = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        else
            return -1;
    }
    return *commands > 0 && *check_every > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    uint32_t commands = 100000;
    uint32_t check_every = 5000;
    if (parse_args(argc, argv, &seed, &commands, &check_every) != 0) {
        fprintf(stderr, "usage: %s [--seed S] [--commands N] [--check-every K]\n", argv[0]);
        return 2;
    }
    printf("%s: seed %" PRIu64 ", %u commands\n", argv[0], seed, commands);
    struct limits limits;
    fuzz_limits(&limits);
    static struct engine a;
    static struct engine b;
    if (engine_init(&a, &limits) != 0 || engine_init(&b, &limits) != 0)
        return 2;
    struct run run = {.seed = seed, .events = XXH64_createState()};
    static struct generator g;
    g.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    g.engine = &a;
    g.trading_date = 20260105;
    g.time_ns = 1000000000;
    XXH64_reset(run.events, 0);
    setup_tree(&run, &g);
    setup_markets(&run, &g);
    uint32_t passed = 0;
    int invariants_ok = check_state(&run, &a, run.length) == 0;
    for (uint32_t i = 0; i < commands && invariants_ok; i++) {
        if (i == commands / 2)
            step_logic_newest(&run, &g); /* the second half runs under the newest rules */
        if (rng_below(&g, 50) == 0) {
            step_resend(&run, &g);
        } else {
            struct command c = make_command(&g);
            step(&run, &g, &c);
        }
        if ((i + 1) % check_every == 0)
            invariants_ok = check_state(&run, &a, run.length) == 0;
    }
    invariants_ok = invariants_ok && check_state(&run, &a, run.length) == 0;
    passed += invariants_ok;
    uint64_t events_a = XXH64_digest(run.events);
    uint64_t resend_failures = run.failures;
    passed += resend_failures == 0;

    XXH64_reset(run.events, 0);
    replay_batched(&run, &g, &b, run.events);
    int same = XXH64_digest(run.events) == events_a && digests_equal(&a, &b);
    if (!same)
        fail(&run, run.length, "a second engine replaying the log in batches ends elsewhere");
    passed += same;
    uint32_t point = (uint32_t)(rng_next(&g) % (run.length + 1));
    passed += check_snapshot_restore(&run, &a, point) == 0;

    if (getenv("FUZZ_STATS") != NULL)
        print_stats(&run);
    struct digest digest;
    char text[33];
    engine_digest(&a, &digest);
    digest_format(&digest, text);
    printf("log %u commands, %u accounts, %u open orders, %u open bets, logic %u,"
           " snapshot at %u, digest %s\n", run.length, a.account_count,
           pool_used(&a.order_pool), pool_used(&a.bet_pool), a.logic_version, point, text);
    printf("%s: %u passed, %u failed\n", argv[0], passed, 4 - passed);
    engine_free(&a);
    engine_free(&b);
    XXH64_freeState(run.events);
    free(run.log);
    free(run.outcomes);
    return passed == 4 ? 0 : 1;
}
