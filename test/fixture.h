/* Test fixture for the core: an engine with small pools, a clock that
 * ticks one microsecond per command, client sequences filled in, and the
 * events of the last command kept for assertions.
 *
 *   struct fixture fx;
 *   fixture_init(&fx);
 *   uint32_t member = fixture_tree(&fx, &tree)->member; ...
 *   struct command c = fixture_command(COMMAND_ORDER_PLACE, member);
 *   c.u.order_place... ;
 *   struct outcome o = fixture_apply(&fx, &c);
 *   CHECK_EQ_I64(o.result, RESULT_OK);
 *   fixture_free(&fx);
 */
#ifndef NODOWN_TEST_FIXTURE_H
#define NODOWN_TEST_FIXTURE_H

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"

#define FIXTURE_EVENTS_MAX 4096u

struct fixture {
    struct engine engine;
    uint64_t time_ns;
    uint64_t seq;
    struct event events[FIXTURE_EVENTS_MAX]; /* of the last command */
    uint32_t event_count;
};

static inline void fixture_limits(struct limits *limits)
{
    limits->accounts_max = 256;
    limits->orders_max = 1024;
    limits->instruments_max = 4;
    limits->positions_max = 1024;
    limits->sessions_max = 512;
    limits->sport_events_max = 16;
    limits->markets_max = 64;
    limits->bets_max = 1024;
    limits->exposures_max = 1024;
    limits->pt_overrides_max = 64;
    limits->sessions_per_account_max = SESSIONS_PER_ACCOUNT_DEFAULT;
    limits->session_idle_days = SESSION_IDLE_DAYS_DEFAULT;
}

static inline void fixture_init_limits(struct fixture *fx, const struct limits *limits)
{
    memset(fx, 0, sizeof *fx);
    int rv = engine_init(&fx->engine, limits);
    if (rv != 0) {
        fprintf(stderr, "engine_init: %s\n", err_text(rv));
        abort();
    }
}

static inline void fixture_init(struct fixture *fx)
{
    struct limits limits;
    fixture_limits(&limits);
    fixture_init_limits(fx, &limits);
}

static inline void fixture_free(struct fixture *fx)
{
    engine_free(&fx->engine);
}

static inline void fixture_emit(void *context, const struct event *event)
{
    struct fixture *fx = context;
    if (fx->event_count < FIXTURE_EVENTS_MAX)
        fx->events[fx->event_count++] = *event;
}

static inline struct command fixture_command(enum command_type type, uint32_t sender)
{
    struct command command;
    memset(&command, 0, sizeof command);
    command.type = (uint16_t)type;
    command.sender_account_id = sender;
    command.client_id = 1;
    return command;
}

/* Applies with the next client_seq of (sender, client_id 1): the fixture
 * keeps one sequence for all senders, which only has to increase. */
static inline struct outcome fixture_apply(struct fixture *fx, struct command *command)
{
    struct outcome outcome;
    struct event_sink sink = {.emit_cb = fixture_emit, .context = fx};
    fx->event_count = 0;
    fx->time_ns += 1000;
    if (command->client_seq == 0)
        command->client_seq = ++fx->seq;
    int rv = engine_apply(&fx->engine, fx->time_ns, command, &sink, &outcome);
    assert(rv == 0);
    (void)rv;
    return outcome;
}

/* Applies and aborts the test binary unless the result is RESULT_OK: for
 * set-up steps, where a failure means the fixture itself is wrong. */
static inline struct outcome fixture_ok(struct fixture *fx, struct command *command)
{
    struct outcome outcome = fixture_apply(fx, command);
    if (outcome.result != RESULT_OK) {
        fprintf(stderr, "fixture: %s by %u: %s\n", command_type_name(command->type),
                command->sender_account_id, result_name(outcome.result));
        abort();
    }
    return outcome;
}

/* The number of events of type in the last command. */
static inline uint32_t fixture_count(const struct fixture *fx, enum event_type type)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < fx->event_count; i++)
        count += fx->events[i].type == type;
    return count;
}

/* The n-th (from 0) event of type in the last command, or NULL. */
static inline const struct event *fixture_event(const struct fixture *fx, enum event_type type,
                                                uint32_t n)
{
    for (uint32_t i = 0; i < fx->event_count; i++) {
        if (fx->events[i].type == type && n-- == 0)
            return &fx->events[i];
    }
    return NULL;
}

static inline uint32_t fixture_account(struct fixture *fx, uint32_t sender, uint32_t parent,
                                       enum account_kind kind, int64_t credit_limit_minor)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_CREATE, sender);
    c.u.account_create.parent_id = parent;
    c.u.account_create.kind = (uint8_t)kind;
    c.u.account_create.credit_limit_minor = credit_limit_minor;
    return (uint32_t)fixture_ok(fx, &c).id;
}

/* A whole line of the tree, house -> operator, super -> master -> agent ->
 * member, created by the house. Credit: 1 000 000.00 at every level. */
struct fixture_tree {
    uint32_t operator_id;
    uint32_t super_id;
    uint32_t master_id;
    uint32_t agent_id;
    uint32_t member_id;
};

static inline void fixture_tree(struct fixture *fx, struct fixture_tree *tree)
{
    const int64_t credit_minor = 100000000;
    tree->operator_id = fixture_account(fx, 0, 0, ACCOUNT_KIND_OPERATOR, 0);
    tree->super_id = fixture_account(fx, 0, 0, ACCOUNT_KIND_SUPER, credit_minor);
    tree->master_id = fixture_account(fx, 0, tree->super_id, ACCOUNT_KIND_MASTER, credit_minor);
    tree->agent_id = fixture_account(fx, 0, tree->master_id, ACCOUNT_KIND_AGENT, credit_minor);
    tree->member_id = fixture_account(fx, 0, tree->agent_id, ACCOUNT_KIND_MEMBER, credit_minor);
}

static inline void fixture_deposit(struct fixture *fx, uint32_t account_id, int64_t amount_minor)
{
    struct command c = fixture_command(COMMAND_CASH_DEPOSIT, 0);
    c.u.cash.account_id = account_id;
    c.u.cash.amount_minor = amount_minor;
    fixture_ok(fx, &c);
}

/* An instrument (tick 1 minor, lot 1, reference 1000, band +-10 %, no fees)
 * and a started day, so it is open. Returns its id. */
static inline uint32_t fixture_instrument(struct fixture *fx, const char *symbol)
{
    struct command c = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
    strncpy(c.u.instrument_create.symbol, symbol, SYMBOL_SIZE);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = 1;
    c.u.instrument_create.reference_price_ticks = 1000;
    c.u.instrument_create.band_bp = 1000;
    uint32_t id = (uint32_t)fixture_ok(fx, &c).id;
    if (!fx->engine.day_open) {
        struct command day = fixture_command(COMMAND_DAY_START, 0);
        day.u.day.trading_date = fx->engine.trading_date == 0 ? 20260102
                                                              : fx->engine.trading_date + 1;
        fixture_ok(fx, &day);
    } else {
        struct command phase = fixture_command(COMMAND_INSTRUMENT_SET_PHASE, 0);
        phase.u.instrument_set_phase.instrument_id = id;
        phase.u.instrument_set_phase.phase = PHASE_OPEN;
        fixture_ok(fx, &phase);
    }
    return id;
}

/* A limit order of member's, not yet applied. */
static inline struct command fixture_limit_order(uint32_t member, uint32_t instrument,
                                                 enum side side, int64_t price_ticks,
                                                 int64_t quantity,
                                                 enum time_in_force time_in_force)
{
    struct command c = fixture_command(COMMAND_ORDER_PLACE, member);
    c.u.order_place.instrument_id = instrument;
    c.u.order_place.side = (uint8_t)side;
    c.u.order_place.order_type = ORDER_TYPE_LIMIT;
    c.u.order_place.time_in_force = (uint8_t)time_in_force;
    c.u.order_place.price_ticks = price_ticks;
    c.u.order_place.quantity = quantity;
    return c;
}

static inline struct outcome fixture_order(struct fixture *fx, uint32_t member, uint32_t instrument,
                                           enum side side, int64_t price_ticks, int64_t quantity,
                                           enum time_in_force time_in_force)
{
    struct command c = fixture_limit_order(member, instrument, side, price_ticks, quantity,
                                           time_in_force);
    return fixture_apply(fx, &c);
}

/* Runs engine_check and prints the violation. Returns 0 when it holds. */
static inline int fixture_check(const struct fixture *fx)
{
    char errmsg[256];
    int rv = engine_check(&fx->engine, errmsg, sizeof errmsg);
    if (rv != 0)
        fprintf(stderr, "  invariant: %s\n", errmsg);
    return rv;
}

#endif
