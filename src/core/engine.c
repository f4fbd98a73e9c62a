/* The engine: allocation, the apply loop's front door, exactly-once
 * sessions, the daily cycle and logic versions (see engine.h).
 *
 * engine_apply() in order:
 *   1. stream time made monotonic;
 *   2. sender exists, client_seq >= 1;
 *   3. exactly-once: a client_seq at or below the session's last one is a
 *      resend, answered from the session's ring of recent outcomes and not
 *      applied; one too old for the ring is rejected as stale. From logic
 *      version 3, a command with no session and a client_seq at or below
 *      its account's horizon is refused (session.h);
 *   4. authorization (auth.c), and from logic version 3 the one-time
 *      secret rule;
 *   5. the command itself (account.c, trading.c, sportsbook.c, here);
 *   6. the outcome remembered in the session, opened now if it is new
 *      (session_open: from logic version 3 it may evict another), and
 *      returned.
 * A reject at step 2 or 3 with no session, or a session table that is
 * full, is not remembered: there is no session to remember it in.
 */
#include "core/engine.h"

#include <assert.h>
#include "lib/mem.h"
#include <string.h>

#include "core/account.h"
#include "core/auth.h"
#include "core/book.h"
#include "core/commission.h"
#include "core/session.h"
#include "core/sportsbook.h"
#include "core/trading.h"
#include "lib/hash.h"
#include "lib/prefetch.h"

void limits_default(struct limits *limits)
{
    limits->accounts_max = ACCOUNTS_DEFAULT;
    limits->orders_max = ORDERS_DEFAULT;
    limits->instruments_max = INSTRUMENTS_DEFAULT;
    limits->positions_max = POSITIONS_DEFAULT;
    limits->sessions_max = SESSIONS_DEFAULT;
    limits->sport_events_max = SPORT_EVENTS_DEFAULT;
    limits->markets_max = MARKETS_DEFAULT;
    limits->bets_max = BETS_DEFAULT;
    limits->exposures_max = EXPOSURES_DEFAULT;
    limits->pt_overrides_max = PT_OVERRIDES_DEFAULT;
    limits->sessions_per_account_max = SESSIONS_PER_ACCOUNT_DEFAULT;
    limits->session_idle_days = SESSION_IDLE_DAYS_DEFAULT;
}

int limits_validate(const struct limits *limits)
{
    const uint32_t values[] = {
        limits->accounts_max, limits->orders_max, limits->instruments_max,
        limits->positions_max, limits->sessions_max, limits->sport_events_max,
        limits->markets_max, limits->bets_max, limits->exposures_max,
        limits->pt_overrides_max, limits->sessions_per_account_max,
        limits->session_idle_days,
    };
    const uint32_t caps[] = {
        ACCOUNTS_CAP, ORDERS_CAP, INSTRUMENTS_CAP, POSITIONS_CAP, SESSIONS_CAP,
        SPORT_EVENTS_CAP, MARKETS_CAP, BETS_CAP, EXPOSURES_CAP, PT_OVERRIDES_CAP,
        SESSIONS_PER_ACCOUNT_CAP, SESSION_IDLE_DAYS_CAP,
    };
    _Static_assert(sizeof values == sizeof caps, "one cap per limit");
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        if (values[i] == 0 || values[i] > caps[i])
            return ERR_LIMITS;
    }
    return 0;
}

static int engine_alloc(struct engine *engine)
{
    const struct limits *limits = &engine->limits;
    uint32_t scratch_count = limits->sessions_max > limits->pt_overrides_max
                                 ? limits->sessions_max
                                 : limits->pt_overrides_max;
    engine->accounts = mem_array_alloc(limits->accounts_max, sizeof *engine->accounts);
    engine->secrets = mem_array_alloc(limits->accounts_max, sizeof *engine->secrets);
    engine->commissions = mem_array_alloc(limits->accounts_max, sizeof *engine->commissions);
    engine->credit_given = mem_array_alloc(limits->accounts_max, sizeof *engine->credit_given);
    engine->positions = mem_array_alloc(limits->positions_max, sizeof *engine->positions);
    engine->orders = mem_array_alloc(limits->orders_max, sizeof *engine->orders);
    engine->instruments = mem_array_alloc(limits->instruments_max, sizeof *engine->instruments);
    engine->ladders = mem_array_alloc((size_t)limits->instruments_max * SIDE_COUNT,
                             sizeof *engine->ladders);
    engine->sessions = mem_array_alloc(limits->sessions_max, sizeof *engine->sessions);
    engine->account_sessions = mem_array_alloc(limits->accounts_max,
                                               sizeof *engine->account_sessions);
    engine->sport_events = mem_array_alloc(limits->sport_events_max, sizeof *engine->sport_events);
    engine->markets = mem_array_alloc(limits->markets_max, sizeof *engine->markets);
    engine->bets = mem_array_alloc(limits->bets_max, sizeof *engine->bets);
    engine->exposures = mem_array_alloc(limits->exposures_max, sizeof *engine->exposures);
    engine->pt_overrides = mem_array_alloc(limits->pt_overrides_max, sizeof *engine->pt_overrides);
    engine->scratch = mem_array_alloc(scratch_count, sizeof *engine->scratch);
    engine->check_account_minor = mem_array_alloc(limits->accounts_max, sizeof(int64_t));
    engine->check_position_quantity = mem_array_alloc(limits->positions_max, sizeof(int64_t));
    engine->check_position_orders = mem_array_alloc(limits->positions_max, sizeof(uint32_t));
    if (!engine->accounts || !engine->secrets || !engine->commissions || !engine->credit_given ||
        !engine->positions ||
        !engine->orders ||
        !engine->instruments || !engine->ladders || !engine->sessions ||
        !engine->account_sessions ||
        !engine->sport_events || !engine->markets || !engine->bets || !engine->exposures ||
        !engine->pt_overrides || !engine->scratch || !engine->check_account_minor ||
        !engine->check_position_quantity || !engine->check_position_orders)
        return ERR_NOMEM;
    if (pool_init(&engine->position_pool, limits->positions_max) != 0 ||
        pool_init(&engine->order_pool, limits->orders_max) != 0 ||
        pool_init(&engine->bet_pool, limits->bets_max) != 0 ||
        pool_init(&engine->exposure_pool, limits->exposures_max) != 0 ||
        pool_init(&engine->pt_override_pool, limits->pt_overrides_max) != 0 ||
        pool_init(&engine->session_pool, limits->sessions_max) != 0)
        return ERR_NOMEM;
    if (index_table_init(&engine->position_index, limits->positions_max) != 0 ||
        index_table_init(&engine->order_index, limits->orders_max) != 0 ||
        index_table_init(&engine->session_index, limits->sessions_max) != 0 ||
        index_table_init(&engine->exposure_index, limits->exposures_max) != 0 ||
        index_table_init(&engine->pt_override_index, limits->pt_overrides_max) != 0)
        return ERR_NOMEM;
    return 0;
}

int engine_init(struct engine *engine, const struct limits *limits)
{
    memset(engine, 0, sizeof *engine);
    if (limits_validate(limits) != 0)
        return ERR_LIMITS;
    engine->limits = *limits;
    int rv = engine_alloc(engine);
    if (rv != 0) {
        engine_free(engine);
        return rv;
    }
    for (uint32_t i = 0; i < limits->instruments_max; i++) {
        for (uint32_t side = 0; side < SIDE_COUNT; side++) {
            engine->instruments[i].sides[side] = &engine->ladders[i * SIDE_COUNT + side];
            ladder_clear(engine->instruments[i].sides[side]);
        }
    }
    for (uint32_t slot = 0; slot < limits->sessions_max; slot++)
        engine->sessions[slot].account_id = INDEX_NONE;
    struct session_list empty = {INDEX_NONE, INDEX_NONE, 0};
    engine->session_lru = empty;
    for (uint32_t id = 0; id < limits->accounts_max; id++)
        engine->account_sessions[id] = empty;
    engine->logic_version = LOGIC_VERSION_MIN;
    engine->logic_version_max = LOGIC_VERSION_MAX;
    engine->order_id_next = 1;
    engine->bet_id_next = 1;
    account_create_house(engine);
    assert(engine->account_count == 1);
    return 0;
}

int engine_logic_version_max_set(struct engine *engine, uint32_t version)
{
    assert(engine->logic_version_max >= LOGIC_VERSION_MIN);
    if (version < LOGIC_VERSION_MIN || version > LOGIC_VERSION_MAX ||
        version < engine->logic_version)
        return ERR_LOGIC_UNSUPPORTED;
    engine->logic_version_max = version;
    assert(engine->logic_version <= engine->logic_version_max);
    return 0;
}

void engine_free(struct engine *engine)
{
    mem_free(engine->accounts);
    mem_free(engine->secrets);
    mem_free(engine->commissions);
    mem_free(engine->credit_given);
    mem_free(engine->positions);
    mem_free(engine->orders);
    mem_free(engine->instruments);
    mem_free(engine->ladders);
    mem_free(engine->sessions);
    mem_free(engine->account_sessions);
    mem_free(engine->sport_events);
    mem_free(engine->markets);
    mem_free(engine->bets);
    mem_free(engine->exposures);
    mem_free(engine->pt_overrides);
    mem_free(engine->scratch);
    mem_free(engine->check_account_minor);
    mem_free(engine->check_position_quantity);
    mem_free(engine->check_position_orders);
    pool_free(&engine->position_pool);
    pool_free(&engine->order_pool);
    pool_free(&engine->bet_pool);
    pool_free(&engine->exposure_pool);
    pool_free(&engine->pt_override_pool);
    pool_free(&engine->session_pool);
    index_table_free(&engine->position_index);
    index_table_free(&engine->order_index);
    index_table_free(&engine->session_index);
    index_table_free(&engine->exposure_index);
    index_table_free(&engine->pt_override_index);
    memset(engine, 0, sizeof *engine);
}

/* ---- The daily cycle. ---- */

static bool engine_date_valid(uint32_t date)
{
    uint32_t year = date / 10000;
    uint32_t month = date / 100 % 100;
    uint32_t day = date % 100;
    return year >= 1970 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static void engine_emit_day(struct engine *engine, uint16_t started)
{
    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_DAY;
    event.code = started;
    event.id = engine->trading_date;
    engine_emit(engine, &event);
}

static int engine_day_start(struct engine *engine, const struct command *command,
                            struct outcome *outcome)
{
    uint32_t date = command->u.day.trading_date;
    if (engine->day_open)
        return REJECT_DAY_STATE;
    if (!engine_date_valid(date) || date <= engine->trading_date) {
        if (engine->logic_version >= LOGIC_VERSION_ANSWERS)
            outcome->id = engine->trading_date;
        return REJECT_DATE_INVALID;
    }
    engine->trading_date = date;
    engine->day_open = 1;
    if (engine->logic_version >= LOGIC_VERSION_SESSION_BOUNDS)
        engine->day_count++;
    for (uint32_t id = 0; id < engine->account_count; id++) {
        engine->accounts[id].day_open_balance_minor = engine->accounts[id].balance_minor;
        engine->accounts[id].day_fees_minor = 0;
    }
    trading_day_start(engine);
    engine_emit_day(engine, 1);
    outcome->id = date;
    return RESULT_OK;
}

/* a * b and a + b, held at INT64_MIN or INT64_MAX instead of overflowing.
 * Holdings have no upper bound of their own (the house holds minus every
 * member's), so a statement's value saturates rather than wraps. */
static int64_t saturate_mul(int64_t a, int64_t b)
{
    assert(b > 0);
    if (a > INT64_MAX / b)
        return INT64_MAX;
    if (a < INT64_MIN / b)
        return INT64_MIN;
    return a * b;
}

static int64_t saturate_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

/* One account's statement: balance, holdings marked to the day's close. */
static void engine_emit_statement(struct engine *engine, uint32_t account_id)
{
    const struct account *account = &engine->accounts[account_id];
    int64_t value_minor = 0;
    for (uint32_t slot = account->position_head; slot != INDEX_NONE;
         slot = engine->positions[slot].next) {
        const struct position *position = &engine->positions[slot];
        const struct instrument *instrument = &engine->instruments[position->instrument_id];
        int64_t price_minor = trading_mark_price_ticks(instrument) * instrument->tick_size_minor;
        value_minor = saturate_add(value_minor, saturate_mul(position->quantity, price_minor));
    }
    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_STATEMENT;
    event.account_id = account_id;
    event.id = engine->trading_date;
    event.u.statement.balance_minor = account->balance_minor;
    event.u.statement.credit_limit_minor = account->credit_limit_minor;
    event.u.statement.positions_value_minor = value_minor;
    event.u.statement.day_change_minor = account->balance_minor - account->day_open_balance_minor;
    event.u.statement.day_fees_minor = account->day_fees_minor;
    engine_emit(engine, &event);
}

static int engine_day_end(struct engine *engine, const struct command *command,
                          struct outcome *outcome)
{
    if (!engine->day_open)
        return REJECT_DAY_STATE;
    if (command->u.day.trading_date != engine->trading_date) {
        if (engine->logic_version >= LOGIC_VERSION_ANSWERS)
            outcome->id = engine->trading_date;
        return REJECT_DATE_INVALID;
    }
    trading_day_end(engine);
    for (uint32_t id = 0; id < engine->account_count; id++)
        engine_emit_statement(engine, id);
    engine->day_open = 0;
    if (engine->logic_version >= LOGIC_VERSION_SESSION_BOUNDS)
        session_day_end(engine);
    engine_emit_day(engine, 0);
    outcome->id = engine->trading_date;
    return RESULT_OK;
}

/* Logic versions (docs/upgrades.md): every version this build runs has a
 * migration from the one before it. 1 -> 2 widens the session window
 * from 8 to 32 outcomes, which needs no change to the state; 2 -> 3 gives
 * every session its place in the least-recently-used order and every
 * account commission rates of 0. */
static int engine_activate_logic(struct engine *engine, const struct command *command,
                                 struct outcome *outcome)
{
    uint32_t version = command->u.activate_logic.logic_version;
    assert(version <= engine->logic_version_max);
    assert(engine->logic_version_max <= LOGIC_VERSION_MAX);
    if (version <= engine->logic_version)
        return REJECT_LOGIC_VERSION;
    uint32_t before = engine->logic_version;
    engine->logic_version = version;
    if (before < LOGIC_VERSION_SESSION_BOUNDS && version >= LOGIC_VERSION_SESSION_BOUNDS)
        session_logic_3(engine);
    if (before < LOGIC_VERSION_COMMISSION && version >= LOGIC_VERSION_COMMISSION)
        commission_logic_3(engine);
    outcome->id = version;
    return RESULT_OK;
}

/* ---- Apply. ---- */

static void engine_dispatch(struct engine *engine, const struct command *command,
                            struct outcome *outcome)
{
    int result = RESULT_OK;
    switch (command->type) {
    case COMMAND_ACCOUNT_CREATE:
    case COMMAND_ACCOUNT_SET_STATUS:
    case COMMAND_ACCOUNT_SET_CREDIT:
    case COMMAND_ACCOUNT_SET_LIMITS:
    case COMMAND_ACCOUNT_SET_SECRET:
    case COMMAND_CASH_DEPOSIT:
    case COMMAND_CASH_WITHDRAW:
    case COMMAND_POSITION_GRANT:
    case COMMAND_PT_SET:
    case COMMAND_COMMISSION_SET: account_apply(engine, command, outcome); return;
    case COMMAND_ORDER_PLACE: trading_apply_place(engine, command, outcome); return;
    case COMMAND_ORDER_CANCEL: trading_apply_cancel(engine, command, outcome); return;
    case COMMAND_ORDER_REPLACE: trading_apply_replace(engine, command, outcome); return;
    case COMMAND_INSTRUMENT_CREATE:
    case COMMAND_INSTRUMENT_SET_PHASE:
    case COMMAND_INSTRUMENT_SET_REFERENCE: trading_apply(engine, command, outcome); return;
    case COMMAND_SPORT_EVENT_CREATE:
    case COMMAND_MARKET_CREATE:
    case COMMAND_MARKET_SET_ODDS:
    case COMMAND_MARKET_SET_STATUS:
    case COMMAND_MARKET_SETTLE:
    case COMMAND_BET_PLACE:
    case COMMAND_PT_OVERRIDE: sportsbook_apply(engine, command, outcome); return;
    case COMMAND_DAY_START: result = engine_day_start(engine, command, outcome); break;
    case COMMAND_DAY_END: result = engine_day_end(engine, command, outcome); break;
    case COMMAND_ACTIVATE_LOGIC: result = engine_activate_logic(engine, command, outcome); break;
    default: result = REJECT_COMMAND_UNKNOWN; break;
    }
    outcome->result = (uint16_t)result;
}


/* Most commands come from the session the account used last: try it
 * before the hash table. The hint is a cache and never part of the state. */
static uint32_t engine_session_lookup(struct engine *engine, const struct command *command)
{
    struct account *account = &engine->accounts[command->sender_account_id];
    uint32_t hint = account->session_hint;
    if (hint < engine->limits.sessions_max &&
        engine->sessions[hint].account_id == command->sender_account_id &&
        engine->sessions[hint].client_id == command->client_id)
        return hint;
    uint32_t slot = session_find(engine, command->sender_account_id, command->client_id);
    if (slot != INDEX_NONE)
        account->session_hint = slot;
    return slot;
}

static void engine_sink_set(struct engine *engine, const struct event_sink *sink)
{
    engine->emit_cb = sink != NULL ? sink->emit_cb : NULL;
    engine->emit_context = sink != NULL ? sink->context : NULL;
}

/* Steps 2 and 3: returns 1 when the outcome is decided without applying. */
static int engine_front(struct engine *engine, const struct command *command,
                        struct outcome *outcome, uint32_t *session_slot)
{
    if (command->sender_account_id >= engine->account_count) {
        outcome->result = REJECT_SENDER_UNKNOWN;
        return 1;
    }
    if (command->client_seq == 0) {
        outcome->result = REJECT_SEQUENCE_ZERO;
        return 1;
    }
    *session_slot = engine_session_lookup(engine, command);
    if (*session_slot != INDEX_NONE) {
        const struct session *session = &engine->sessions[*session_slot];
        if (command->client_seq <= session->last_seq) {
            session_replay(session, command->client_seq, outcome);
            return 1;
        }
    } else if (engine->logic_version >= LOGIC_VERSION_SESSION_BOUNDS) {
        /* A sequence a session of this account that went may have
         * applied: never again (docs/protocol.md, Session bounds). */
        uint64_t horizon_seq = engine->accounts[command->sender_account_id].session_horizon_seq;
        if (command->client_seq <= horizon_seq) {
            outcome->result = REJECT_SESSION_EVICTED;
            outcome->value = (int64_t)horizon_seq;
            return 1;
        }
    } else if (engine->session_count >= engine->limits.sessions_max) {
        outcome->result = REJECT_SESSIONS_FULL;
        return 1;
    }
    return 0;
}

/* Step 4. From logic version 3, an account whose secret another account
 * set may only set its own (LOGIC_VERSION_ONE_TIME_SECRET). Before logic
 * version 3, COMMISSION_SET is unknown, as it is to the builds before it,
 * so that an old log replays to the same digests. */
static int engine_authorize(struct engine *engine, const struct command *command)
{
    if (command->type == COMMAND_NONE || command->type >= COMMAND_TYPE_COUNT)
        return REJECT_COMMAND_UNKNOWN;
    if (command->type == COMMAND_COMMISSION_SET &&
        engine->logic_version < LOGIC_VERSION_COMMISSION)
        return REJECT_COMMAND_UNKNOWN;
    const struct account *sender = &engine->accounts[command->sender_account_id];
    if (engine->logic_version >= LOGIC_VERSION_ONE_TIME_SECRET && sender->secret_one_time &&
        !(command->type == COMMAND_ACCOUNT_SET_SECRET &&
          command->u.account_set_secret.account_id == command->sender_account_id))
        return REJECT_SECRET_CHANGE_REQUIRED;
    return auth_check(engine, command, &engine->command_order_slot);
}

/* engine_apply() without setting the sink, which the caller has done. */
static int engine_apply_one(struct engine *engine, uint64_t timestamp_ns,
                            const struct command *command, struct outcome *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    outcome->command_type = command->type;
    uint32_t session_slot = INDEX_NONE;
    if (engine_front(engine, command, outcome, &session_slot) == 0) {
        int result = engine_authorize(engine, command);
        if (result == RESULT_OK && command->type == COMMAND_ACTIVATE_LOGIC &&
            command->u.activate_logic.logic_version > engine->logic_version_max)
            return ERR_LOGIC_UNSUPPORTED; /* nothing changed: the node stops */
        /* Before the command, so that a DAY_END never frees its own session. */
        if (session_slot != INDEX_NONE)
            session_touch(engine, session_slot);
        if (timestamp_ns > engine->now_ns)
            engine->now_ns = timestamp_ns;
        if (result == RESULT_OK)
            engine_dispatch(engine, command, outcome);
        else
            outcome->result = (uint16_t)result;
        if (session_slot == INDEX_NONE)
            session_slot = session_open(engine, command->sender_account_id, command->client_id);
        session_remember(engine, session_slot, command->client_seq, outcome);
    }
    return 0;
}

int engine_apply(struct engine *engine, uint64_t timestamp_ns, const struct command *command,
                 const struct event_sink *sink, struct outcome *outcome)
{
    engine_sink_set(engine, sink);
    int rv = engine_apply_one(engine, timestamp_ns, command, outcome);
    engine_sink_set(engine, NULL);
    return rv;
}

/* ---- Batches. ----
 *
 * A command's first cache misses are its account, its session and, for a
 * cancel or replace, the order's index entry and the order. They are known
 * from the command, so the batch loop asks for them ahead: two commands
 * ahead the account and the index entry, one ahead what those point to. */

static void engine_prefetch_far(const struct engine *engine, const struct command *command)
{
    if (command->sender_account_id < engine->account_count)
        PREFETCH(&engine->accounts[command->sender_account_id]);
    uint64_t order_id = command_order_id(command);
    if (order_id != 0)
        PREFETCH(&engine->order_index.entries[(uint32_t)order_id & engine->order_index.mask]);
}

static void engine_prefetch_near(const struct engine *engine, const struct command *command)
{
    if (command->sender_account_id >= engine->account_count)
        return;
    uint32_t hint = engine->accounts[command->sender_account_id].session_hint;
    if (hint < engine->limits.sessions_max)
        PREFETCH(&engine->sessions[hint]);
    uint64_t order_id = command_order_id(command);
    uint32_t slot = order_id == 0 ? INDEX_NONE
                                  : engine->order_index.entries[(uint32_t)order_id &
                                                                engine->order_index.mask];
    if (slot != INDEX_NONE)
        PREFETCH(&engine->orders[slot]);
}

int engine_apply_batch(struct engine *engine, uint64_t timestamp_ns,
                       const struct command *commands, uint32_t count,
                       const struct event_sink *sink, struct outcome *outcomes,
                       uint32_t *applied_count)
{
    engine_sink_set(engine, sink);
    int rv = 0;
    uint32_t i = 0;
    for (; i < count && rv == 0; i++) {
        if (i + 2 < count)
            engine_prefetch_far(engine, &commands[i + 2]);
        if (i + 1 < count)
            engine_prefetch_near(engine, &commands[i + 1]);
        if (sink != NULL && sink->command_cb != NULL)
            sink->command_cb(sink->context, i);
        rv = engine_apply_one(engine, timestamp_ns, &commands[i], &outcomes[i]);
    }
    engine_sink_set(engine, NULL);
    *applied_count = rv == 0 ? count : i - 1;
    return rv;
}

/* ---- Queries. ---- */

int64_t engine_available_minor(const struct engine *engine, uint32_t account_id)
{
    const struct account *account = account_get(engine, account_id);
    return account == NULL ? 0 : account_available_minor(account);
}

int64_t engine_position(const struct engine *engine, uint32_t account_id, uint32_t instrument_id)
{
    uint32_t slot = position_find(engine, account_id, instrument_id);
    return slot == INDEX_NONE ? 0 : engine->positions[slot].quantity;
}

uint32_t engine_book_depth(const struct engine *engine, uint32_t instrument_id, enum side side,
                           struct depth_level *levels, uint32_t level_count)
{
    if (instrument_id >= engine->instrument_count || side >= SIDE_COUNT)
        return 0;
    const struct instrument *instrument = &engine->instruments[instrument_id];
    const struct ladder *ladder = instrument->sides[side];
    uint32_t written = 0;
    for (uint32_t index = ladder_best(ladder, side); index != INDEX_NONE && written < level_count;
         index = ladder_next_worse(ladder, side, index)) {
        levels[written].price_ticks = book_level_price(instrument, index);
        levels[written].quantity = ladder->levels[index].quantity;
        written++;
    }
    return written;
}
