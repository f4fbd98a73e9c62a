/* Unit tests for core/auth: who may send which command.
 *
 * The heart is a matrix: every command type (every COMMAND_* but NONE)
 * against every relation of the sender to the command's target account.
 * The expected cell values are derived by hand from the rules in the
 * comment at the top of src/core/auth.c, not from its code, and are
 * rendered in docs/authorization.md. Each cell runs on a fresh engine:
 *
 *   - an allowed command must succeed (RESULT_OK; its parameters are chosen
 *     so that business validation passes) and must change the state;
 *   - a denied command must return REJECT_NOT_AUTHORIZED, emit only its
 *     result, and leave the state exactly as it was except for the session
 *     record of the command itself. This is checked by digest against a
 *     twin engine, built by the same steps, into which that one session
 *     record is written by hand.
 *
 * The tree every cell starts from (auth_setup):
 *
 *   house 0 --- operator OP
 *           +-- super S1 -- master M1 --+-- agent A1 --+-- member U1
 *           |                           |              +-- member U2
 *           |                           +-- agent A2
 *           +-- super S2 -- master M3 ----- agent A3 ----- member U4
 *
 * Relations. Most rows are centred on the agent A1 as target:
 *   self A1, child U1, grandchild U1 with the master M1 as target (an agent
 *   has no grandchildren), sibling A2, parent M1, grandparent S1, stranger
 *   A3 (another super's line), operator OP.
 * Rows whose target must be a member (POSITION_GRANT, the order's owner
 * for ORDER_CANCEL and ORDER_REPLACE) or whose allowed sender is a member
 * (ORDER_PLACE, BET_PLACE) are centred on the member U1:
 *   self U1, sibling U2, parent A1, grandparent M1, stranger U4,
 *   operator OP; child and grandchild do not exist ('-' in the table).
 * Commands that name no account (operator commands on instruments,
 * markets and the daily cycle, ORDER_PLACE, BET_PLACE, PT_OVERRIDE) act
 * for the sender itself: there the relation only chooses who sends, and
 * the expected value follows from the sender's kind alone.
 */
#include "fixture.h"
#include "test.h"

#include "core/session.h"

enum relation {
    REL_SELF,
    REL_CHILD,
    REL_GRANDCHILD,
    REL_SIBLING,
    REL_PARENT,
    REL_GRANDPARENT,
    REL_STRANGER,
    REL_OPERATOR,
    REL_COUNT
};

static const char *const relation_names[REL_COUNT] = {
    "self", "child", "grandchild", "sibling", "parent", "grandparent", "stranger", "operator",
};

enum centre { CENTRE_AGENT, CENTRE_MEMBER };

/* One row of the matrix. expected has one letter per relation, in enum
 * order: 'A' allowed, 'd' denied, '-' no such relation for this centre.
 *
 * From the rules of auth.c:
 *   CREATE    the parent itself, an ancestor of it, an operator;
 *   SECRET    the target itself, a proper ancestor, an operator;
 *   DOWNLINE  a proper ancestor of the target (not itself), an operator;
 *   OPERATOR  an operator (the house or an OPERATOR account) only;
 *   TRADE     a member, for itself;
 *   OWNER     the order's owner; an operator may also cancel (not replace);
 *   PT_LEVEL  a super, master or agent, for itself. */
struct matrix_row {
    uint16_t type;
    enum centre centre;
    const char *expected;
};

static const struct matrix_row matrix_rows[] = {
    /*                                                self,child,grandchild,sibling,
     *                                                parent,grandparent,stranger,operator */
    {COMMAND_ACCOUNT_CREATE, CENTRE_AGENT, "AdddAAdA"},     /* CREATE */
    {COMMAND_ACCOUNT_SET_STATUS, CENTRE_AGENT, "ddddAAdA"}, /* DOWNLINE */
    {COMMAND_ACCOUNT_SET_CREDIT, CENTRE_AGENT, "ddddAAdA"}, /* DOWNLINE */
    {COMMAND_ACCOUNT_SET_LIMITS, CENTRE_AGENT, "ddddAAdA"}, /* DOWNLINE */
    {COMMAND_ACCOUNT_SET_SECRET, CENTRE_AGENT, "AdddAAdA"}, /* SECRET */
    {COMMAND_CASH_DEPOSIT, CENTRE_AGENT, "dddddddA"},       /* OPERATOR */
    {COMMAND_CASH_WITHDRAW, CENTRE_AGENT, "dddddddA"},      /* OPERATOR */
    {COMMAND_POSITION_GRANT, CENTRE_MEMBER, "d--ddddA"},    /* OPERATOR */
    {COMMAND_PT_SET, CENTRE_AGENT, "ddddAAdA"},             /* DOWNLINE */
    {COMMAND_PT_OVERRIDE, CENTRE_AGENT, "AddAAAAd"},        /* PT_LEVEL */
    {COMMAND_INSTRUMENT_CREATE, CENTRE_AGENT, "dddddddA"},  /* OPERATOR */
    {COMMAND_INSTRUMENT_SET_PHASE, CENTRE_AGENT, "dddddddA"},
    {COMMAND_INSTRUMENT_SET_REFERENCE, CENTRE_AGENT, "dddddddA"},
    {COMMAND_ORDER_PLACE, CENTRE_MEMBER, "A--AddAd"},       /* TRADE */
    {COMMAND_ORDER_CANCEL, CENTRE_MEMBER, "A--ddddA"},      /* OWNER */
    {COMMAND_ORDER_REPLACE, CENTRE_MEMBER, "A--ddddd"},     /* OWNER */
    {COMMAND_SPORT_EVENT_CREATE, CENTRE_AGENT, "dddddddA"}, /* OPERATOR */
    {COMMAND_MARKET_CREATE, CENTRE_AGENT, "dddddddA"},
    {COMMAND_MARKET_SET_ODDS, CENTRE_AGENT, "dddddddA"},
    {COMMAND_MARKET_SET_STATUS, CENTRE_AGENT, "dddddddA"},
    {COMMAND_MARKET_SETTLE, CENTRE_AGENT, "dddddddA"},
    {COMMAND_BET_PLACE, CENTRE_MEMBER, "A--AddAd"},         /* TRADE */
    {COMMAND_DAY_START, CENTRE_AGENT, "dddddddA"},          /* OPERATOR */
    {COMMAND_DAY_END, CENTRE_AGENT, "dddddddA"},
    {COMMAND_ACTIVATE_LOGIC, CENTRE_AGENT, "dddddddA"},
    {COMMAND_COMMISSION_SET, CENTRE_AGENT, "ddddAAdA"},     /* DOWNLINE, logic 3 */
};

#define MATRIX_ROW_COUNT (sizeof matrix_rows / sizeof matrix_rows[0])

/* The client every probe command is sent from: no set-up step uses it,
 * so the probe always opens a fresh session with exactly one record. */
#define PROBE_CLIENT_ID 0xA117u

struct auth_tree {
    uint32_t op, s1, m1, a1, u1, u2, a2, s2, m3, a3, u4;
    uint32_t instrument;
    uint64_t order_id; /* U1's resting buy */
    uint32_t sport_event;
    uint32_t market;
};

static void auth_pt_set(struct fixture *fx, uint32_t sender, uint32_t target, uint16_t max_bp)
{
    struct command c = fixture_command(COMMAND_PT_SET, sender);
    c.u.pt_set.account_id = target;
    c.u.pt_set.market_type = MARKET_TYPE_1X2;
    c.u.pt_set.share_bp = 0;
    c.u.pt_set.max_bp = max_bp;
    fixture_ok(fx, &c);
}

static void auth_setup_markets(struct fixture *fx, struct auth_tree *t)
{
    t->instrument = fixture_instrument(fx, "ACME");
    struct outcome placed = fixture_order(fx, t->u1, t->instrument, SIDE_BUY, 950, 10, TIF_DAY);
    assert(placed.result == RESULT_OK);
    t->order_id = placed.id;
    struct command event = fixture_command(COMMAND_SPORT_EVENT_CREATE, 0);
    event.u.sport_event_create.external_ref = 7;
    t->sport_event = (uint32_t)fixture_ok(fx, &event).id;
    struct command market = fixture_command(COMMAND_MARKET_CREATE, 0);
    market.u.market_create.sport_event_id = t->sport_event;
    market.u.market_create.market_type = MARKET_TYPE_1X2;
    market.u.market_create.odds_milli[0] = 2000;
    market.u.market_create.odds_milli[1] = 3000;
    market.u.market_create.odds_milli[2] = 4000;
    market.u.market_create.stake_min_minor = 100;
    market.u.market_create.stake_max_minor = 1000000;
    t->market = (uint32_t)fixture_ok(fx, &market).id;
}

/* The tree drawn at the top, one resting order of U1, an instrument, a
 * sport event with one open market; A1 has 1000 in cash to withdraw and
 * the 1X2 PT ceilings are S1 5000, M1 4000, A1 3000. Deterministic, so
 * two calls build equal states. */
static void auth_setup(struct fixture *fx, struct auth_tree *t)
{
    const int64_t credit_minor = 10000000;
    fixture_init(fx);
    t->op = fixture_account(fx, 0, 0, ACCOUNT_KIND_OPERATOR, 0);
    t->s1 = fixture_account(fx, 0, 0, ACCOUNT_KIND_SUPER, credit_minor);
    t->m1 = fixture_account(fx, 0, t->s1, ACCOUNT_KIND_MASTER, credit_minor);
    t->a1 = fixture_account(fx, 0, t->m1, ACCOUNT_KIND_AGENT, credit_minor);
    t->u1 = fixture_account(fx, 0, t->a1, ACCOUNT_KIND_MEMBER, credit_minor);
    t->u2 = fixture_account(fx, 0, t->a1, ACCOUNT_KIND_MEMBER, credit_minor);
    t->a2 = fixture_account(fx, 0, t->m1, ACCOUNT_KIND_AGENT, credit_minor);
    t->s2 = fixture_account(fx, 0, 0, ACCOUNT_KIND_SUPER, credit_minor);
    t->m3 = fixture_account(fx, 0, t->s2, ACCOUNT_KIND_MASTER, credit_minor);
    t->a3 = fixture_account(fx, 0, t->m3, ACCOUNT_KIND_AGENT, credit_minor);
    t->u4 = fixture_account(fx, 0, t->a3, ACCOUNT_KIND_MEMBER, credit_minor);
    fixture_deposit(fx, t->a1, 1000);
    auth_pt_set(fx, 0, t->s1, 5000);
    auth_pt_set(fx, t->s1, t->m1, 4000);
    auth_pt_set(fx, t->m1, t->a1, 3000);
    auth_setup_markets(fx, t);
}

/* COMMISSION_SET exists from logic version 3 only: its row runs on the
 * tree moved to logic 3, where S1 and M1 have 1X2 commission rates of 100
 * bp, so that an allowed cell's 50 passes and changes the state. */
static void auth_logic_3(struct fixture *fx, const struct auth_tree *t)
{
    struct command activate = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    activate.u.activate_logic.logic_version = LOGIC_VERSION_COMMISSION;
    fixture_ok(fx, &activate);
    const uint32_t senders[2] = {0, t->s1};
    const uint32_t targets[2] = {t->s1, t->m1};
    for (uint32_t i = 0; i < 2; i++) {
        struct command rate = fixture_command(COMMAND_COMMISSION_SET, senders[i]);
        rate.u.commission_set.account_id = targets[i];
        rate.u.commission_set.market_type = MARKET_TYPE_1X2;
        rate.u.commission_set.rate_bp = 100;
        fixture_ok(fx, &rate);
    }
}

/* The (sender, target) of a relation. Returns 0 when it does not exist. */
static int relation_pair(const struct auth_tree *t, enum centre centre, enum relation relation,
                         uint32_t *sender, uint32_t *target)
{
    static const uint32_t none = INDEX_NONE;
    const uint32_t agent_senders[REL_COUNT] = {t->a1, t->u1, t->u1, t->a2,
                                               t->m1, t->s1, t->a3, t->op};
    const uint32_t member_senders[REL_COUNT] = {t->u1, none,  none,  t->u2,
                                                t->a1, t->m1, t->u4, t->op};
    if (centre == CENTRE_AGENT) {
        *sender = agent_senders[relation];
        *target = relation == REL_GRANDCHILD ? t->m1 : t->a1;
    } else {
        *sender = member_senders[relation];
        *target = t->u1;
    }
    return *sender != INDEX_NONE;
}

/* Account commands: valid business parameters for the target. */
static void auth_command_account(const struct engine *engine, const struct auth_tree *t,
                                 uint32_t target, struct command *c)
{
    switch (c->type) {
    case COMMAND_ACCOUNT_CREATE:
        c->u.account_create.parent_id = target;
        c->u.account_create.kind = (uint8_t)(engine->accounts[target].kind + 1);
        c->u.account_create.credit_limit_minor = 1000;
        break;
    case COMMAND_ACCOUNT_SET_STATUS:
        c->u.account_set_status.account_id = target;
        c->u.account_set_status.status = ACCOUNT_STATUS_SUSPENDED;
        break;
    case COMMAND_ACCOUNT_SET_CREDIT:
        c->u.account_set_credit.account_id = target;
        c->u.account_set_credit.credit_limit_minor = 5000;
        break;
    case COMMAND_ACCOUNT_SET_LIMITS:
        c->u.account_set_limits.account_id = target;
        c->u.account_set_limits.order_quantity_max = 7;
        c->u.account_set_limits.bet_stake_max_minor = 900;
        break;
    case COMMAND_ACCOUNT_SET_SECRET:
        c->u.account_set_secret.account_id = target;
        memset(c->u.account_set_secret.salt, 0x5A, SECRET_SALT_SIZE);
        memset(c->u.account_set_secret.hash, 0xC3, SECRET_HASH_SIZE);
        break;
    case COMMAND_CASH_DEPOSIT: c->u.cash.account_id = target; c->u.cash.amount_minor = 500; break;
    case COMMAND_CASH_WITHDRAW: c->u.cash.account_id = target; c->u.cash.amount_minor = 200; break;
    case COMMAND_POSITION_GRANT:
        c->u.position_grant.account_id = target;
        c->u.position_grant.instrument_id = t->instrument;
        c->u.position_grant.quantity = 10;
        break;
    case COMMAND_PT_SET:
        c->u.pt_set.account_id = target;
        c->u.pt_set.market_type = MARKET_TYPE_1X2;
        c->u.pt_set.share_bp = 1000;
        c->u.pt_set.max_bp = 2000;
        break;
    case COMMAND_COMMISSION_SET:
        c->u.commission_set.account_id = target;
        c->u.commission_set.market_type = MARKET_TYPE_1X2;
        c->u.commission_set.rate_bp = 50; /* within S1's and M1's 100 (auth_logic_3) */
        break;
    default: assert(!"not an account command"); break;
    }
}

static void auth_command_trading(const struct auth_tree *t, struct command *c)
{
    switch (c->type) {
    case COMMAND_INSTRUMENT_CREATE:
        memcpy(c->u.instrument_create.symbol, "NEW", 4);
        c->u.instrument_create.tick_size_minor = 1;
        c->u.instrument_create.lot_size = 1;
        c->u.instrument_create.reference_price_ticks = 500;
        c->u.instrument_create.band_bp = 1000;
        break;
    case COMMAND_INSTRUMENT_SET_PHASE:
        c->u.instrument_set_phase.instrument_id = t->instrument;
        c->u.instrument_set_phase.phase = PHASE_HALTED;
        break;
    case COMMAND_INSTRUMENT_SET_REFERENCE:
        c->u.instrument_set_reference.instrument_id = t->instrument;
        c->u.instrument_set_reference.reference_price_ticks = 1010;
        break;
    case COMMAND_ORDER_PLACE:
        c->u.order_place.instrument_id = t->instrument;
        c->u.order_place.side = SIDE_BUY;
        c->u.order_place.order_type = ORDER_TYPE_LIMIT;
        c->u.order_place.time_in_force = TIF_DAY;
        c->u.order_place.price_ticks = 950;
        c->u.order_place.quantity = 1;
        break;
    case COMMAND_ORDER_CANCEL: c->u.order_cancel.order_id = t->order_id; break;
    case COMMAND_ORDER_REPLACE:
        c->u.order_replace.order_id = t->order_id;
        c->u.order_replace.price_ticks = 950;
        c->u.order_replace.quantity = 5;
        break;
    default: assert(!"not a trading command"); break;
    }
}

/* Sportsbook and daily-cycle commands. DAY_START first ends the day in
 * the fixture (as the house), so that an allowed start can succeed. */
static void auth_command_book(struct fixture *fx, const struct auth_tree *t, struct command *c)
{
    uint32_t date = fx->engine.trading_date;
    switch (c->type) {
    case COMMAND_SPORT_EVENT_CREATE: c->u.sport_event_create.external_ref = 99; break;
    case COMMAND_MARKET_CREATE:
        c->u.market_create.sport_event_id = t->sport_event;
        c->u.market_create.market_type = MARKET_TYPE_OVER_UNDER;
        c->u.market_create.line_quarters = 10;
        c->u.market_create.odds_milli[0] = 1900;
        c->u.market_create.odds_milli[1] = 1900;
        c->u.market_create.stake_min_minor = 100;
        c->u.market_create.stake_max_minor = 1000;
        break;
    case COMMAND_MARKET_SET_ODDS:
        c->u.market_set_odds.market_id = t->market;
        c->u.market_set_odds.odds_milli[0] = 2100;
        c->u.market_set_odds.odds_milli[1] = 3100;
        c->u.market_set_odds.odds_milli[2] = 4100;
        break;
    case COMMAND_MARKET_SET_STATUS:
        c->u.market_set_status.market_id = t->market;
        c->u.market_set_status.status = MARKET_STATUS_SUSPENDED;
        break;
    case COMMAND_MARKET_SETTLE:
        c->u.market_settle.market_id = t->market;
        c->u.market_settle.results[0] = BET_RESULT_WIN;
        break;
    case COMMAND_BET_PLACE:
        c->u.bet_place.market_id = t->market;
        c->u.bet_place.odds_milli = 2000;
        c->u.bet_place.stake_minor = 1000;
        break;
    case COMMAND_PT_OVERRIDE:
        c->u.pt_override.sport_event_id = t->sport_event;
        c->u.pt_override.market_id = t->market;
        c->u.pt_override.share_bp = 0; /* within every sender's ceiling */
        break;
    case COMMAND_DAY_START: {
        struct command end = fixture_command(COMMAND_DAY_END, 0);
        end.u.day.trading_date = date;
        fixture_ok(fx, &end);
        c->u.day.trading_date = date + 1;
        break;
    }
    case COMMAND_DAY_END: c->u.day.trading_date = date; break;
    case COMMAND_ACTIVATE_LOGIC: c->u.activate_logic.logic_version = LOGIC_VERSION_MAX + 1; break;
    default: assert(!"not a sportsbook or cycle command"); break;
    }
}

/* The probe command of one cell, from the probe client, sequence 1. */
static struct command auth_command(struct fixture *fx, const struct auth_tree *t, uint16_t type,
                                   uint32_t sender, uint32_t target)
{
    struct command c = fixture_command((enum command_type)type, sender);
    if (type <= COMMAND_PT_SET || type == COMMAND_COMMISSION_SET)
        auth_command_account(&fx->engine, t, target, &c);
    else if (type >= COMMAND_INSTRUMENT_CREATE && type <= COMMAND_ORDER_REPLACE)
        auth_command_trading(t, &c);
    else
        auth_command_book(fx, t, &c);
    c.client_id = PROBE_CLIENT_ID;
    c.client_seq = 1;
    return c;
}

/* engine_apply with the fixture's clock and sink, returning its code. */
static int probe_apply(struct fixture *fx, const struct command *c, struct outcome *outcome)
{
    struct event_sink sink = {.emit_cb = fixture_emit, .context = fx};
    fx->event_count = 0;
    fx->time_ns += 1000;
    return engine_apply(&fx->engine, fx->time_ns, c, &sink, outcome);
}

static bool digest_equal(const struct digest *a, const struct digest *b)
{
    return a->high == b->high && a->low == b->low;
}

/* The digest the probe's engine would have if the command had changed
 * nothing but its own session record: the twin, built by the same steps,
 * gets that one record (and the clock) written by hand. */
static void twin_digest(struct fixture *twin, const struct engine *probed,
                        const struct command *c, const struct outcome *outcome,
                        struct digest *digest)
{
    uint32_t slot = session_open(&twin->engine, c->sender_account_id, c->client_id);
    session_remember(&twin->engine, slot, c->client_seq, outcome);
    twin->engine.now_ns = probed->now_ns;
    engine_digest(&twin->engine, digest);
}

static struct fixture cell_fx;
static struct fixture twin_fx;

/* One cell. CHECK failures return early; the caller names the cell. */
static void cell_run(const struct matrix_row *row, enum relation relation)
{
    struct auth_tree t;
    struct auth_tree twin_t;
    uint32_t sender = 0;
    uint32_t target = 0;
    auth_setup(&cell_fx, &t);
    auth_setup(&twin_fx, &twin_t);
    if (row->type == COMMAND_COMMISSION_SET) {
        auth_logic_3(&cell_fx, &t);
        auth_logic_3(&twin_fx, &twin_t);
    }
    int exists = relation_pair(&t, row->centre, relation, &sender, &target);
    CHECK_EQ_I64(exists, row->expected[relation] != '-');
    if (exists) {
        struct command c = auth_command(&cell_fx, &t, row->type, sender, target);
        struct command twin_c = auth_command(&twin_fx, &twin_t, row->type, sender, target);
        struct digest before, after, unchanged;
        struct outcome outcome;
        engine_digest(&cell_fx.engine, &before);
        int rv = probe_apply(&cell_fx, &c, &outcome);
        engine_digest(&cell_fx.engine, &after);
        CHECK(fixture_check(&cell_fx) == 0);
        if (row->expected[relation] == 'A' && row->type == COMMAND_ACTIVATE_LOGIC) {
            /* Authorized, then refused by the build: nothing at all changed. */
            CHECK_EQ_I64(rv, ERR_LOGIC_UNSUPPORTED);
            CHECK_EQ_I64(cell_fx.event_count, 0);
            CHECK(digest_equal(&before, &after));
        } else {
            CHECK_EQ_I64(rv, 0);
            twin_digest(&twin_fx, &cell_fx.engine, &twin_c, &outcome, &unchanged);
            if (row->expected[relation] == 'A') {
                CHECK_EQ_I64(outcome.result, RESULT_OK);
                CHECK(!digest_equal(&after, &unchanged));
            } else {
                CHECK_EQ_I64(outcome.result, REJECT_NOT_AUTHORIZED);
                CHECK_EQ_I64(cell_fx.event_count, 0); /* nothing changed */
                CHECK(digest_equal(&after, &unchanged));
            }
        }
    }
    fixture_free(&cell_fx);
    fixture_free(&twin_fx);
}

TEST(matrix_covers_every_command)
{
    for (uint16_t type = COMMAND_NONE + 1; type < COMMAND_TYPE_COUNT; type++) {
        uint32_t rows = 0;
        for (size_t i = 0; i < MATRIX_ROW_COUNT; i++)
            rows += matrix_rows[i].type == type;
        if (rows != 1)
            fprintf(stderr, "  %s has %u matrix rows\n", command_type_name(type), rows);
        CHECK_EQ_I64(rows, 1);
    }
    for (size_t i = 0; i < MATRIX_ROW_COUNT; i++)
        CHECK_EQ_I64(strlen(matrix_rows[i].expected), REL_COUNT);
}

TEST(matrix)
{
    int failures = 0;
    for (size_t i = 0; i < MATRIX_ROW_COUNT; i++) {
        for (int relation = 0; relation < REL_COUNT; relation++) {
            test_current_failed = 0;
            cell_run(&matrix_rows[i], (enum relation)relation);
            if (test_current_failed) {
                fprintf(stderr, "  cell %s x %s (expected '%c') failed\n",
                        command_type_name(matrix_rows[i].type), relation_names[relation],
                        matrix_rows[i].expected[relation]);
                failures++;
            }
        }
    }
    test_current_failed = failures != 0;
}

/* A one-lot buy order at 950 from a member. */
static struct outcome auth_buy(struct fixture *fx, const struct auth_tree *t, uint32_t member)
{
    return fixture_order(fx, member, t->instrument, SIDE_BUY, 950, 1, TIF_DAY);
}

static struct outcome auth_set_status(struct fixture *fx, uint32_t sender, uint32_t account,
                                      enum account_status status)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_STATUS, sender);
    c.u.account_set_status.account_id = account;
    c.u.account_set_status.status = (uint8_t)status;
    return fixture_apply(fx, &c);
}

TEST(sender_suspended_or_under_a_suspended_parent)
{
    struct fixture fx;
    struct auth_tree t;
    auth_setup(&fx, &t);
    CHECK_EQ_I64(auth_set_status(&fx, t.a1, t.u1, ACCOUNT_STATUS_SUSPENDED).result, RESULT_OK);
    struct command place = fixture_command(COMMAND_ORDER_PLACE, t.u1);
    place.u.order_place.instrument_id = t.instrument;
    place.u.order_place.price_ticks = 950;
    place.u.order_place.quantity = 1;
    struct outcome first = fixture_apply(&fx, &place);
    CHECK_EQ_I64(first.result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(fx.engine.order_id_next, t.order_id + 1);
    /* Recorded like any reject: a resend after resuming is still refused. */
    CHECK_EQ_I64(auth_set_status(&fx, t.a1, t.u1, ACCOUNT_STATUS_ACTIVE).result, RESULT_OK);
    struct outcome again = fixture_apply(&fx, &place);
    CHECK_EQ_I64(again.result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(again.duplicate, 1);
    CHECK_EQ_I64(auth_buy(&fx, &t, t.u1).result, RESULT_OK);

    /* The agent, then the super above it: every ancestor must be active. */
    CHECK_EQ_I64(auth_set_status(&fx, t.m1, t.a1, ACCOUNT_STATUS_SUSPENDED).result, RESULT_OK);
    CHECK_EQ_I64(auth_buy(&fx, &t, t.u1).result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(auth_buy(&fx, &t, t.u2).result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(auth_set_status(&fx, t.a1, t.u2, ACCOUNT_STATUS_SUSPENDED).result,
                 REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(fx.engine.accounts[t.u2].status, ACCOUNT_STATUS_ACTIVE);
    CHECK_EQ_I64(auth_buy(&fx, &t, t.u4).result, RESULT_OK); /* another line */
    CHECK_EQ_I64(auth_set_status(&fx, t.m1, t.a1, ACCOUNT_STATUS_ACTIVE).result, RESULT_OK);
    CHECK_EQ_I64(auth_set_status(&fx, t.op, t.s1, ACCOUNT_STATUS_SUSPENDED).result, RESULT_OK);
    CHECK_EQ_I64(auth_buy(&fx, &t, t.u1).result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(auth_set_status(&fx, t.m1, t.a1, ACCOUNT_STATUS_SUSPENDED).result,
                 REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(auth_set_status(&fx, t.op, t.s1, ACCOUNT_STATUS_ACTIVE).result, RESULT_OK);
    CHECK_EQ_I64(auth_buy(&fx, &t, t.u1).result, RESULT_OK);

    /* Closed is inactive for good. */
    CHECK_EQ_I64(auth_set_status(&fx, t.a1, t.u2, ACCOUNT_STATUS_CLOSED).result, RESULT_OK);
    CHECK_EQ_I64(auth_buy(&fx, &t, t.u2).result, REJECT_SENDER_INACTIVE);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(inactive_comes_before_not_authorized)
{
    struct fixture fx;
    struct auth_tree t;
    auth_setup(&fx, &t);
    CHECK_EQ_I64(auth_set_status(&fx, 0, t.op, ACCOUNT_STATUS_SUSPENDED).result, RESULT_OK);
    struct command event = fixture_command(COMMAND_SPORT_EVENT_CREATE, t.op);
    CHECK_EQ_I64(fixture_apply(&fx, &event).result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(fx.engine.sport_event_count, 1);
    /* A suspended agent asking for an operator command it could never send. */
    CHECK_EQ_I64(auth_set_status(&fx, t.m1, t.a1, ACCOUNT_STATUS_SUSPENDED).result, RESULT_OK);
    struct command deposit = fixture_command(COMMAND_CASH_DEPOSIT, t.a1);
    deposit.u.cash.account_id = t.u1;
    deposit.u.cash.amount_minor = 1;
    CHECK_EQ_I64(fixture_apply(&fx, &deposit).result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(fx.engine.accounts[t.u1].balance_minor, 0);
    CHECK_EQ_I64(auth_set_status(&fx, 0, t.op, ACCOUNT_STATUS_ACTIVE).result, RESULT_OK);
    event.client_seq = 0; /* a new command, not a resend */
    CHECK_EQ_I64(fixture_apply(&fx, &event).result, RESULT_OK);
    fixture_free(&fx);
}

TEST(sender_unknown_is_not_recorded)
{
    struct fixture fx;
    struct auth_tree t;
    auth_setup(&fx, &t);
    const uint32_t senders[] = {fx.engine.account_count, INDEX_NONE};
    for (size_t i = 0; i < sizeof senders / sizeof senders[0]; i++) {
        struct digest before, after;
        uint32_t sessions = fx.engine.session_count;
        engine_digest(&fx.engine, &before);
        struct command c = fixture_command(COMMAND_SPORT_EVENT_CREATE, senders[i]);
        struct outcome outcome = fixture_apply(&fx, &c);
        CHECK_EQ_I64(outcome.result, REJECT_SENDER_UNKNOWN);
        CHECK_EQ_I64(outcome.duplicate, 0);
        CHECK_EQ_I64(fx.event_count, 0);
        CHECK_EQ_I64(fx.engine.session_count, sessions);
        engine_digest(&fx.engine, &after);
        CHECK(digest_equal(&before, &after));
    }
    fixture_free(&fx);
}

TEST(target_unknown)
{
    struct fixture fx;
    struct auth_tree t;
    auth_setup(&fx, &t);
    uint32_t missing = fx.engine.account_count;
    /* The target is looked up before the sender's rights, for everyone. */
    CHECK_EQ_I64(auth_set_status(&fx, t.op, missing, ACCOUNT_STATUS_SUSPENDED).result,
                 REJECT_ACCOUNT_UNKNOWN);
    CHECK_EQ_I64(auth_set_status(&fx, t.u1, missing, ACCOUNT_STATUS_SUSPENDED).result,
                 REJECT_ACCOUNT_UNKNOWN);
    struct command create = fixture_command(COMMAND_ACCOUNT_CREATE, t.op);
    create.u.account_create.parent_id = missing;
    create.u.account_create.kind = ACCOUNT_KIND_MEMBER;
    CHECK_EQ_I64(fixture_apply(&fx, &create).result, REJECT_ACCOUNT_UNKNOWN);
    CHECK_EQ_I64(fx.engine.account_count, missing);
    struct command cancel = fixture_command(COMMAND_ORDER_CANCEL, t.u1);
    cancel.u.order_cancel.order_id = t.order_id + 100;
    CHECK_EQ_I64(fixture_apply(&fx, &cancel).result, REJECT_ORDER_UNKNOWN);
    fixture_free(&fx);
}

TEST(command_type_unknown)
{
    struct fixture fx;
    struct auth_tree t;
    auth_setup(&fx, &t);
    struct command none = fixture_command(COMMAND_NONE, t.op);
    CHECK_EQ_I64(fixture_apply(&fx, &none).result, REJECT_COMMAND_UNKNOWN);
    struct command beyond = fixture_command(COMMAND_TYPE_COUNT, 0);
    CHECK_EQ_I64(fixture_apply(&fx, &beyond).result, REJECT_COMMAND_UNKNOWN);
    fixture_free(&fx);
}

/* The house is an operator: it runs markets and manages everyone, but it
 * has no member to trade as and no PT level of its own to override. */
TEST(house_sender)
{
    struct fixture fx;
    struct auth_tree t;
    auth_setup(&fx, &t);
    CHECK_EQ_I64(auth_buy(&fx, &t, 0).result, REJECT_NOT_AUTHORIZED);
    struct command override = fixture_command(COMMAND_PT_OVERRIDE, 0);
    override.u.pt_override.sport_event_id = t.sport_event;
    override.u.pt_override.market_id = INDEX_NONE;
    CHECK_EQ_I64(fixture_apply(&fx, &override).result, REJECT_NOT_AUTHORIZED);
    struct command replace = fixture_command(COMMAND_ORDER_REPLACE, 0);
    replace.u.order_replace.order_id = t.order_id;
    replace.u.order_replace.price_ticks = 950;
    replace.u.order_replace.quantity = 1;
    CHECK_EQ_I64(fixture_apply(&fx, &replace).result, REJECT_NOT_AUTHORIZED);
    struct command cancel = fixture_command(COMMAND_ORDER_CANCEL, 0);
    cancel.u.order_cancel.order_id = t.order_id;
    CHECK_EQ_I64(fixture_apply(&fx, &cancel).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[t.u1].reserved_minor, 0);
    CHECK_EQ_I64(auth_set_status(&fx, 0, t.u4, ACCOUNT_STATUS_SUSPENDED).result, RESULT_OK);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* engine_may_read: self, any ancestor (the house included) and operators
 * may read; siblings, strangers and a child reading upwards may not. */
TEST(may_read)
{
    struct fixture fx;
    struct auth_tree t;
    auth_setup(&fx, &t);
    const struct engine *e = &fx.engine;
    CHECK_EQ_I64(engine_may_read(e, t.u1, t.u1), 1);
    CHECK_EQ_I64(engine_may_read(e, t.a1, t.a1), 1);
    CHECK_EQ_I64(engine_may_read(e, t.a1, t.u1), 1);
    CHECK_EQ_I64(engine_may_read(e, t.m1, t.u1), 1);
    CHECK_EQ_I64(engine_may_read(e, t.s1, t.u1), 1);
    CHECK_EQ_I64(engine_may_read(e, 0, t.u1), 1);
    CHECK_EQ_I64(engine_may_read(e, t.op, t.u1), 1);
    CHECK_EQ_I64(engine_may_read(e, t.op, t.s2), 1);
    CHECK_EQ_I64(engine_may_read(e, t.op, 0), 1);
    CHECK_EQ_I64(engine_may_read(e, t.u2, t.u1), 0); /* sibling */
    CHECK_EQ_I64(engine_may_read(e, t.a2, t.a1), 0);
    CHECK_EQ_I64(engine_may_read(e, t.a2, t.u1), 0); /* the sibling's member */
    CHECK_EQ_I64(engine_may_read(e, t.u1, t.a1), 0); /* child reading parent */
    CHECK_EQ_I64(engine_may_read(e, t.a1, t.m1), 0);
    CHECK_EQ_I64(engine_may_read(e, t.u1, t.s1), 0);
    CHECK_EQ_I64(engine_may_read(e, t.s1, 0), 0);
    CHECK_EQ_I64(engine_may_read(e, t.u4, t.u1), 0); /* stranger */
    CHECK_EQ_I64(engine_may_read(e, t.s2, t.u1), 0);
    CHECK_EQ_I64(engine_may_read(e, t.s1, t.u4), 0);
    CHECK_EQ_I64(engine_may_read(e, t.u1, e->account_count), 0);
    CHECK_EQ_I64(engine_may_read(e, e->account_count, t.u1), 0);
    /* Reading does not depend on status: a suspended agent still reads. */
    CHECK_EQ_I64(auth_set_status(&fx, t.m1, t.a1, ACCOUNT_STATUS_SUSPENDED).result, RESULT_OK);
    CHECK_EQ_I64(engine_may_read(e, t.a1, t.u1), 1);
    fixture_free(&fx);
}

TEST_MAIN()
