/* Tests of snapshots (src/core/snapshot.h): a rich state survives encode
 * and decode with the same digest and the same behaviour afterwards, and
 * every damaged, truncated or misplaced snapshot is refused with an error
 * and a message, never a crash or a sanitizer report.
 *
 * The rich state has a whole account tree with limits, credit, a secret and
 * a suspended member; two instruments, one with resting bids and asks at
 * several levels after a trade and a replace, the other in pre-open with a
 * crossing queue; sessions of several clients; a 1X2 market with open bets
 * under auto and manual position taking, a settled over/under market and a
 * suspended handicap market.
 */
#include <xxhash.h>

#include "core/snapshot.h"
#include "fixture.h"
#include "test.h"

/* ---- The rich state. ---- */

struct rich {
    struct fixture_tree tree;
    uint32_t seller_id;
    uint32_t member2_id;
    uint32_t member3_id;
    uint32_t acme_id;
    uint32_t beta_id;
    uint32_t event_ids[2];
    uint32_t market_ids[3];
    uint64_t cancel_order_id;
    struct command resend; /* applied before the snapshot, resent after */
};

static void build_accounts(struct fixture *fx, struct rich *s)
{
    struct fixture_tree *t = &s->tree;
    fixture_tree(fx, t);
    s->seller_id = fixture_account(fx, 0, t->agent_id, ACCOUNT_KIND_MEMBER, 0);
    s->member2_id = fixture_account(fx, t->agent_id, t->agent_id, ACCOUNT_KIND_MEMBER, 50000);
    s->member3_id = fixture_account(fx, 0, t->agent_id, ACCOUNT_KIND_MEMBER, 0);
    fixture_deposit(fx, t->member_id, 1000000);
    fixture_deposit(fx, s->seller_id, 200000);
    fixture_deposit(fx, s->member2_id, 300000);
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_STATUS, t->agent_id);
    c.u.account_set_status.account_id = s->member3_id;
    c.u.account_set_status.status = ACCOUNT_STATUS_SUSPENDED;
    fixture_ok(fx, &c);
    c = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, t->master_id);
    c.client_id = 42; /* a second session of the master */
    c.u.account_set_limits.account_id = t->member_id;
    c.u.account_set_limits.order_quantity_max = 10000;
    c.u.account_set_limits.bet_stake_max_minor = 500000;
    fixture_ok(fx, &c);
    c = fixture_command(COMMAND_ACCOUNT_SET_CREDIT, t->agent_id);
    c.u.account_set_credit.account_id = s->member2_id;
    c.u.account_set_credit.credit_limit_minor = 70000;
    fixture_ok(fx, &c);
    c = fixture_command(COMMAND_ACCOUNT_SET_SECRET, t->member_id);
    c.client_id = 7;
    c.u.account_set_secret.account_id = t->member_id;
    for (uint32_t i = 0; i < SECRET_SALT_SIZE; i++)
        c.u.account_set_secret.salt[i] = (uint8_t)(0xA0 + i);
    for (uint32_t i = 0; i < SECRET_HASH_SIZE; i++)
        c.u.account_set_secret.hash[i] = (uint8_t)(0x10 + 3 * i);
    fixture_ok(fx, &c);
    /* Auto PT for every level and market type: super 30 %, master 20 %,
     * agent 10 %, each with a ceiling above its share. */
    const uint32_t levels[3] = {t->super_id, t->master_id, t->agent_id};
    const uint16_t shares[3] = {3000, 2000, 1000};
    for (uint32_t level = 0; level < 3; level++) {
        for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
            c = fixture_command(COMMAND_PT_SET, t->operator_id);
            c.u.pt_set.account_id = levels[level];
            c.u.pt_set.market_type = type;
            c.u.pt_set.share_bp = shares[level];
            c.u.pt_set.max_bp = (uint16_t)(shares[level] + 2000);
            fixture_ok(fx, &c);
        }
    }
}

static void grant(struct fixture *fx, uint32_t account_id, uint32_t instrument_id,
                  int64_t quantity)
{
    struct command c = fixture_command(COMMAND_POSITION_GRANT, 0);
    c.u.position_grant.account_id = account_id;
    c.u.position_grant.instrument_id = instrument_id;
    c.u.position_grant.quantity = quantity;
    fixture_ok(fx, &c);
}

static uint64_t order_ok(struct fixture *fx, uint32_t member, uint32_t instrument,
                         enum side side, int64_t price_ticks, int64_t quantity,
                         enum time_in_force time_in_force)
{
    struct outcome o = fixture_order(fx, member, instrument, side, price_ticks, quantity,
                                     time_in_force);
    if (o.result != RESULT_OK) {
        fprintf(stderr, "order: %s\n", result_name(o.result));
        abort();
    }
    return o.id;
}

static void build_trading(struct fixture *fx, struct rich *s)
{
    uint32_t member = s->tree.member_id;
    s->acme_id = fixture_instrument(fx, "ACME");
    s->beta_id = fixture_instrument(fx, "BETA");
    grant(fx, s->seller_id, s->acme_id, 1000);
    grant(fx, s->seller_id, s->beta_id, 500);
    grant(fx, s->member2_id, s->acme_id, 200);
    uint64_t replaced = order_ok(fx, member, s->acme_id, SIDE_BUY, 990, 10, TIF_DAY);
    order_ok(fx, member, s->acme_id, SIDE_BUY, 995, 20, TIF_DAY);
    order_ok(fx, s->member2_id, s->acme_id, SIDE_BUY, 995, 5, TIF_GTC);
    order_ok(fx, member, s->acme_id, SIDE_BUY, 1000, 7, TIF_GTC);
    s->cancel_order_id = order_ok(fx, member, s->acme_id, SIDE_BUY, 985, 9, TIF_DAY);
    order_ok(fx, s->seller_id, s->acme_id, SIDE_SELL, 1005, 10, TIF_DAY);
    order_ok(fx, s->member2_id, s->acme_id, SIDE_SELL, 1005, 4, TIF_DAY);
    order_ok(fx, s->seller_id, s->acme_id, SIDE_SELL, 1010, 30, TIF_GTC);
    order_ok(fx, s->seller_id, s->acme_id, SIDE_SELL, 1020, 15, TIF_DAY);
    /* A partial fill of the oldest ask at 1005. */
    struct outcome o = fixture_order(fx, member, s->acme_id, SIDE_BUY, 1005, 3, TIF_IOC);
    if (o.result != RESULT_OK || o.value != 3)
        abort();
    struct command c = fixture_command(COMMAND_ORDER_REPLACE, member);
    c.u.order_replace.order_id = replaced;
    c.u.order_replace.price_ticks = 990;
    c.u.order_replace.quantity = 8;
    fixture_ok(fx, &c);
    /* BETA in pre-open: a queue that crosses when it opens. */
    c = fixture_command(COMMAND_INSTRUMENT_SET_PHASE, s->tree.operator_id);
    c.u.instrument_set_phase.instrument_id = s->beta_id;
    c.u.instrument_set_phase.phase = PHASE_PRE_OPEN;
    fixture_ok(fx, &c);
    order_ok(fx, member, s->beta_id, SIDE_BUY, 1002, 10, TIF_DAY);
    order_ok(fx, s->seller_id, s->beta_id, SIDE_SELL, 998, 6, TIF_GTC);
    order_ok(fx, s->member2_id, s->beta_id, SIDE_BUY, 1001, 4, TIF_GTC);
    order_ok(fx, s->seller_id, s->beta_id, SIDE_SELL, 1003, 5, TIF_DAY);
}

static uint32_t market_ok(struct fixture *fx, const struct rich *s, uint32_t event_id,
                          enum market_type type, int32_t line_quarters)
{
    struct command c = fixture_command(COMMAND_MARKET_CREATE, s->tree.operator_id);
    c.u.market_create.sport_event_id = event_id;
    c.u.market_create.market_type = (uint8_t)type;
    c.u.market_create.line_quarters = line_quarters;
    c.u.market_create.odds_milli[0] = 2150;
    c.u.market_create.odds_milli[1] = type == MARKET_TYPE_1X2 ? 3300 : 1750;
    c.u.market_create.odds_milli[2] = type == MARKET_TYPE_1X2 ? 3500 : 0;
    c.u.market_create.stake_min_minor = 100;
    c.u.market_create.stake_max_minor = 1000000;
    return (uint32_t)fixture_ok(fx, &c).id;
}

static void bet_ok(struct fixture *fx, uint32_t member, uint32_t market_id, uint8_t selection,
                   int32_t odds_milli, int64_t stake_minor)
{
    struct command c = fixture_command(COMMAND_BET_PLACE, member);
    c.u.bet_place.market_id = market_id;
    c.u.bet_place.selection = selection;
    c.u.bet_place.odds_milli = odds_milli;
    c.u.bet_place.stake_minor = stake_minor;
    fixture_ok(fx, &c);
}

static void override_ok(struct fixture *fx, uint32_t level_id, uint32_t event_id,
                        uint32_t market_id, uint16_t share_bp)
{
    struct command c = fixture_command(COMMAND_PT_OVERRIDE, level_id);
    c.u.pt_override.sport_event_id = event_id;
    c.u.pt_override.market_id = market_id;
    c.u.pt_override.share_bp = share_bp;
    fixture_ok(fx, &c);
}

static void build_sportsbook(struct fixture *fx, struct rich *s)
{
    const struct fixture_tree *t = &s->tree;
    for (uint32_t i = 0; i < 2; i++) {
        struct command c = fixture_command(COMMAND_SPORT_EVENT_CREATE, t->operator_id);
        c.u.sport_event_create.external_ref = 9000 + i;
        s->event_ids[i] = (uint32_t)fixture_ok(fx, &c).id;
    }
    s->market_ids[0] = market_ok(fx, s, s->event_ids[0], MARKET_TYPE_1X2, 0);
    s->market_ids[1] = market_ok(fx, s, s->event_ids[0], MARKET_TYPE_OVER_UNDER, 10);
    s->market_ids[2] = market_ok(fx, s, s->event_ids[1], MARKET_TYPE_HANDICAP, -2);
    override_ok(fx, t->agent_id, s->event_ids[0], s->market_ids[0], 1500);
    override_ok(fx, t->master_id, s->event_ids[0], INDEX_NONE, 2500);
    override_ok(fx, t->super_id, s->event_ids[1], s->market_ids[2], 4000);
    override_ok(fx, t->agent_id, s->event_ids[1], INDEX_NONE, 500);
    override_ok(fx, t->agent_id, s->event_ids[1], INDEX_NONE, PT_SHARE_NONE); /* removed */
    bet_ok(fx, t->member_id, s->market_ids[0], 0, 2150, 10000);
    bet_ok(fx, s->member2_id, s->market_ids[0], 1, 3300, 5000);
    bet_ok(fx, t->member_id, s->market_ids[0], 2, 3500, 2000);
    bet_ok(fx, t->member_id, s->market_ids[1], 0, 2150, 4000);
    bet_ok(fx, s->member2_id, s->market_ids[1], 1, 1750, 3000);
    struct command c = fixture_command(COMMAND_MARKET_SETTLE, t->operator_id);
    c.u.market_settle.market_id = s->market_ids[1];
    c.u.market_settle.results[0] = BET_RESULT_HALF_WIN;
    c.u.market_settle.results[1] = BET_RESULT_HALF_LOSE;
    fixture_ok(fx, &c);
    c = fixture_command(COMMAND_MARKET_SET_STATUS, t->operator_id);
    c.u.market_set_status.market_id = s->market_ids[2];
    c.u.market_set_status.status = MARKET_STATUS_SUSPENDED;
    fixture_ok(fx, &c);
    s->resend = fixture_command(COMMAND_CASH_DEPOSIT, 0);
    s->resend.u.cash.account_id = s->member2_id;
    s->resend.u.cash.amount_minor = 1234;
    fixture_ok(fx, &s->resend);
}

static void build_rich(struct fixture *fx, struct rich *s)
{
    memset(s, 0, sizeof *s);
    fixture_init(fx);
    build_accounts(fx, s);
    build_trading(fx, s);
    build_sportsbook(fx, s);
}

/* ---- Helpers. ---- */

static int digests_equal(const struct engine *a, const struct engine *b)
{
    struct digest x;
    struct digest y;
    engine_digest(a, &x);
    engine_digest(b, &y);
    return x.high == y.high && x.low == y.low;
}

/* A snapshot of fx in a buffer of exactly its size (for ASan). */
static uint8_t *snapshot_take(const struct engine *engine, size_t *length)
{
    size_t size = snapshot_size(engine);
    uint8_t *data = malloc(size);
    if (data == NULL)
        abort();
    *length = 0;
    if (snapshot_encode(engine, data, size, length) != 0 || *length != size)
        abort();
    return data;
}

/* Small limits that still hold the rich state, so that re-initialising an
 * engine per decode attempt stays cheap. */
static void small_limits(struct limits *limits)
{
    limits->accounts_max = 16;
    limits->orders_max = 32;
    limits->instruments_max = 2;
    limits->positions_max = 16;
    limits->sessions_max = 32;
    limits->sport_events_max = 2;
    limits->markets_max = 4;
    limits->bets_max = 8;
    limits->exposures_max = 16;
    limits->pt_overrides_max = 4;
    limits->sessions_per_account_max = SESSIONS_PER_ACCOUNT_DEFAULT;
    limits->session_idle_days = SESSION_IDLE_DAYS_DEFAULT;
}

/* One engine, freed and initialised again before each decode. */
struct target {
    struct engine engine;
    struct limits limits;
    int live;
    char errmsg[256];
};

static int target_decode(struct target *t, const uint8_t *data, size_t size)
{
    if (t->live)
        engine_free(&t->engine);
    if (engine_init(&t->engine, &t->limits) != 0)
        abort();
    t->live = 1;
    t->errmsg[0] = '\0';
    return snapshot_decode(&t->engine, data, size, t->errmsg, sizeof t->errmsg);
}

static void target_free(struct target *t)
{
    if (t->live)
        engine_free(&t->engine);
    t->live = 0;
}

static void reseal(uint8_t *data, size_t length)
{
    uint64_t checksum = XXH3_64bits(data + SNAPSHOT_HEADER_SIZE, length - SNAPSHOT_HEADER_SIZE);
    for (uint32_t i = 0; i < 8; i++)
        data[16 + i] = (uint8_t)(checksum >> (8 * i));
}

/* ---- Round trip. ---- */

TEST(rich_state_is_what_it_should_be)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    CHECK(fixture_check(&fx) == 0);
    struct depth_level levels[4];
    CHECK_EQ_I64(engine_book_depth(&fx.engine, s.acme_id, SIDE_BUY, levels, 4), 4);
    CHECK_EQ_I64(levels[0].price_ticks, 1000);
    CHECK_EQ_I64(levels[0].quantity, 7);
    CHECK_EQ_I64(levels[1].quantity, 25);
    CHECK_EQ_I64(levels[2].quantity, 8);
    CHECK_EQ_I64(levels[3].price_ticks, 985);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, s.acme_id, SIDE_SELL, levels, 4), 3);
    CHECK_EQ_I64(levels[0].price_ticks, 1005);
    CHECK_EQ_I64(levels[0].quantity, 11);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, s.beta_id, SIDE_BUY, levels, 4), 0);
    CHECK_EQ_I64(fx.engine.instruments[s.beta_id].queue_count, 4);
    CHECK_EQ_I64(fx.engine.instruments[s.beta_id].phase, PHASE_PRE_OPEN);
    CHECK_EQ_I64(engine_position(&fx.engine, s.tree.member_id, s.acme_id), 3);
    CHECK_EQ_I64(fx.engine.markets[s.market_ids[0]].bet_count, 3);
    CHECK_EQ_I64(fx.engine.markets[s.market_ids[1]].status, MARKET_STATUS_SETTLED);
    CHECK_EQ_I64(fx.engine.markets[s.market_ids[2]].status, MARKET_STATUS_SUSPENDED);
    CHECK_EQ_I64(pool_used(&fx.engine.pt_override_pool), 3);
    CHECK(fx.engine.session_count >= 8);
    CHECK(fx.engine.accounts[s.tree.member_id].has_secret == 1);
    fixture_free(&fx);
}

/* Applies c to both fixtures and checks they answer and end alike. */
static int apply_both(struct fixture *a, struct fixture *b, const struct command *c,
                      struct outcome *out)
{
    struct command ca = *c;
    struct command cb = *c;
    struct outcome oa = fixture_apply(a, &ca);
    struct outcome ob = fixture_apply(b, &cb);
    *out = oa;
    if (oa.result != ob.result || oa.command_type != ob.command_type ||
        oa.duplicate != ob.duplicate || oa.id != ob.id || oa.value != ob.value ||
        a->event_count != b->event_count) {
        fprintf(stderr, "  %s: outcomes differ\n", command_type_name(c->type));
        return 0;
    }
    for (uint32_t i = 0; i < a->event_count; i++) {
        const struct event *x = &a->events[i];
        const struct event *y = &b->events[i];
        if (x->type != y->type || x->code != y->code || x->account_id != y->account_id ||
            x->id != y->id) {
            fprintf(stderr, "  %s: event %u differs\n", command_type_name(c->type), i);
            return 0;
        }
    }
    return digests_equal(&a->engine, &b->engine) && fixture_check(a) == 0 &&
           fixture_check(b) == 0;
}

/* The commands applied to the original and the restored engine. */
static uint32_t further_commands(const struct rich *s, struct command *out)
{
    uint32_t n = 0;
    out[n] = fixture_command(COMMAND_INSTRUMENT_SET_PHASE, s->tree.operator_id);
    out[n].u.instrument_set_phase.instrument_id = s->beta_id;
    out[n++].u.instrument_set_phase.phase = PHASE_OPEN;
    out[n] = fixture_command(COMMAND_ORDER_PLACE, s->member2_id);
    out[n].u.order_place.instrument_id = s->acme_id;
    out[n].u.order_place.side = SIDE_SELL;
    out[n].u.order_place.time_in_force = TIF_DAY;
    out[n].u.order_place.price_ticks = 995;
    out[n++].u.order_place.quantity = 40;
    out[n] = fixture_command(COMMAND_ORDER_CANCEL, s->tree.operator_id);
    out[n++].u.order_cancel.order_id = s->cancel_order_id;
    out[n] = fixture_command(COMMAND_BET_PLACE, s->member2_id);
    out[n].u.bet_place.market_id = s->market_ids[0];
    out[n].u.bet_place.odds_milli = 2150;
    out[n++].u.bet_place.stake_minor = 700;
    out[n] = fixture_command(COMMAND_MARKET_SETTLE, s->tree.operator_id);
    out[n].u.market_settle.market_id = s->market_ids[0];
    out[n].u.market_settle.results[0] = BET_RESULT_WIN;
    out[n++].u.market_settle.results[2] = BET_RESULT_VOID;
    out[n++] = s->resend;
    out[n] = fixture_command(COMMAND_DAY_END, 0);
    out[n++].u.day.trading_date = 20260102;
    out[n] = fixture_command(COMMAND_DAY_START, 0);
    out[n++].u.day.trading_date = 20260105;
    out[n] = fixture_command(COMMAND_ORDER_PLACE, s->tree.member_id);
    out[n].u.order_place.instrument_id = s->acme_id;
    out[n].u.order_place.order_type = ORDER_TYPE_MARKET;
    out[n].u.order_place.time_in_force = TIF_IOC;
    out[n++].u.order_place.quantity = 12;
    return n;
}

TEST(round_trip_same_digest_same_future)
{
    struct fixture fx;
    struct fixture fy;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    fixture_init(&fy); /* the same limits */
    char errmsg[256] = "";
    CHECK_EQ_I64(snapshot_decode(&fy.engine, data, length, errmsg, sizeof errmsg), 0);
    CHECK(digests_equal(&fx.engine, &fy.engine));
    CHECK(fixture_check(&fy) == 0);
    /* The restored engine encodes to the very same bytes. */
    size_t again_length = 0;
    uint8_t *again = snapshot_take(&fy.engine, &again_length);
    CHECK(again_length == length && memcmp(again, data, length) == 0);
    free(again);
    free(data);
    fy.time_ns = fx.time_ns;
    fy.seq = fx.seq;
    struct command commands[16];
    uint32_t count = further_commands(&s, commands);
    struct outcome o[16];
    for (uint32_t i = 0; i < count; i++)
        CHECK(apply_both(&fx, &fy, &commands[i], &o[i]));
    CHECK_EQ_I64(o[0].result, RESULT_OK);
    CHECK_EQ_I64(engine_position(&fy.engine, s.tree.member_id, s.beta_id), 6);
    CHECK_EQ_I64(o[1].result, RESULT_OK);
    CHECK_EQ_I64(o[1].value, 27); /* 7 at 1000, 20 at 995, then its own 995 bid */
    CHECK_EQ_I64(o[2].result, RESULT_OK);
    CHECK_EQ_I64(o[3].result, RESULT_OK);
    CHECK_EQ_I64(o[4].result, RESULT_OK);
    CHECK_EQ_I64(o[5].result, RESULT_OK);
    CHECK_EQ_I64(o[5].duplicate, 1);
    CHECK_EQ_I64(o[6].result, RESULT_OK);
    CHECK_EQ_I64(o[7].result, RESULT_OK);
    CHECK_EQ_I64(o[8].result, RESULT_OK);
    fixture_free(&fx);
    fixture_free(&fy);
}

/* The state fits engines far smaller than the fixture's, and the digest
 * does not depend on the limits or the pool layout. */
TEST(round_trip_into_small_limits)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    struct target t = {.live = 0};
    small_limits(&t.limits);
    CHECK_EQ_I64(target_decode(&t, data, length), 0);
    CHECK(digests_equal(&fx.engine, &t.engine));
    char errmsg[256];
    CHECK_EQ_I64(engine_check(&t.engine, errmsg, sizeof errmsg), 0);
    target_free(&t);
    free(data);
    fixture_free(&fx);
}

/* ---- Refusals. ---- */

TEST(every_truncation_is_an_error)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    fixture_free(&fx);
    struct target t = {.live = 0};
    small_limits(&t.limits);
    for (size_t cut = 0; cut < length; cut++) {
        uint8_t *copy = malloc(cut > 0 ? cut : 1);
        CHECK(copy != NULL);
        memcpy(copy, data, cut);
        int rv = target_decode(&t, copy, cut);
        free(copy);
        if (rv != ERR_DECODE_NEED_MORE && rv != ERR_DECODE_MALFORMED)
            fprintf(stderr, "  cut at %zu: %s\n", cut, err_name(rv));
        CHECK(rv == ERR_DECODE_NEED_MORE || rv == ERR_DECODE_MALFORMED);
        CHECK(t.errmsg[0] != '\0');
    }
    target_free(&t);
    free(data);
}

/* What a flip test needs: two engines, and the commands to run on a state
 * that decoded. */
struct flip {
    struct target t;
    struct target u;
    struct command further[16];
    uint32_t further_count;
    uint32_t accepted;
};

/* A state that decoded must also run: the further commands keep it
 * consistent (and ASan and UBSan quiet). */
static int flip_run(struct flip *f)
{
    struct engine *engine = &f->t.engine;
    uint64_t time_ns = engine->now_ns;
    for (uint32_t i = 0; i < f->further_count; i++) {
        struct command c = f->further[i];
        if (c.client_seq == 0)
            c.client_seq = (uint64_t)1 << 40 | i;
        struct outcome outcome;
        time_ns += 1000;
        if (engine_apply(engine, time_ns, &c, NULL, &outcome) != 0)
            return 0;
        char errmsg[256];
        if (engine_check(engine, errmsg, sizeof errmsg) != 0) {
            fprintf(stderr, "  after %s: %s\n", command_type_name(c.type), errmsg);
            return 0;
        }
    }
    return 1;
}

/* A body byte changed and the checksum fixed to match: the decoder must
 * refuse with a message, or produce a state that holds every invariant,
 * survives its own round trip and runs. */
static int flip_one(struct flip *f, uint8_t *data, size_t length, size_t at, uint8_t mask)
{
    data[at] ^= mask;
    reseal(data, length);
    int rv = target_decode(&f->t, data, length);
    int ok = rv == 0 ? 1 : f->t.errmsg[0] != '\0';
    if (rv == 0) {
        char errmsg[256];
        ok = engine_check(&f->t.engine, errmsg, sizeof errmsg) == 0;
        size_t again_length = 0;
        uint8_t *again = snapshot_take(&f->t.engine, &again_length);
        ok = ok && target_decode(&f->u, again, again_length) == 0 &&
             digests_equal(&f->t.engine, &f->u.engine) && flip_run(f);
        free(again);
        f->accepted++;
    }
    data[at] ^= mask;
    if (!ok)
        fprintf(stderr, "  byte %zu ^ 0x%02x: %s, %s\n", at, mask, err_name(rv), f->t.errmsg);
    return ok;
}

TEST(every_body_byte_flip_is_refused_or_valid)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    fixture_free(&fx);
    static struct flip f;
    memset(&f, 0, sizeof f);
    small_limits(&f.t.limits);
    small_limits(&f.u.limits);
    f.further_count = further_commands(&s, f.further);
    static const uint8_t masks[] = {0x01, 0x80, 0xFF, 0x10};
    for (size_t at = SNAPSHOT_HEADER_SIZE; at < length; at++)
        CHECK(flip_one(&f, data, length, at, masks[at % sizeof masks]));
    /* Many flips land in fields any value of which is a valid state (a
     * secret, a symbol, a session's remembered outcomes, an order's client
     * id); the rest are caught. Both kinds must occur. */
    CHECK(f.accepted > 0);
    CHECK(f.accepted < length - SNAPSHOT_HEADER_SIZE);
    target_free(&f.t);
    target_free(&f.u);
    free(data);
}

/* Where a field lies in the body (docs/formats.md): globals are 33 bytes,
 * then the account count, then 147 bytes per account. */
#define BODY_ACCOUNTS_AT (SNAPSHOT_HEADER_SIZE + 33u + 4u)
#define ACCOUNT_RECORD_SIZE 147u
#define ACCOUNT_CREDIT_AT 15u
#define ACCOUNT_ORDER_QUANTITY_MAX_AT 39u
#define ACCOUNT_DAY_OPEN_BALANCE_AT 83u

static void put_i64_at(uint8_t *at, int64_t value)
{
    for (int i = 0; i < 8; i++)
        at[i] = (uint8_t)((uint64_t)value >> (8 * i));
}

static int64_t get_i64_at(const uint8_t *at)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = value << 8 | at[i];
    return (int64_t)value;
}

/* The offset of a position record (account, instrument, quantity). */
static size_t find_position(const uint8_t *data, size_t length, uint32_t account_id,
                            uint32_t instrument_id, int64_t quantity)
{
    uint8_t pattern[16];
    for (int i = 0; i < 4; i++) {
        pattern[i] = (uint8_t)(account_id >> (8 * i));
        pattern[4 + i] = (uint8_t)(instrument_id >> (8 * i));
    }
    put_i64_at(pattern + 8, quantity);
    size_t found = 0;
    for (size_t at = SNAPSHOT_HEADER_SIZE; at + sizeof pattern <= length; at++) {
        if (memcmp(data + at, pattern, sizeof pattern) == 0) {
            if (found != 0)
                return 0; /* not unique */
            found = at;
        }
    }
    return found;
}

/* Values no command can store, each resealed: refused as malformed, where
 * the decoder once let them through to overflow in engine_check() or at
 * the end of the day (see the fixes in snapshot.c). */
TEST(out_of_range_values_are_malformed)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    struct target t = {.live = 0};
    small_limits(&t.limits);
    uint8_t *member = data + BODY_ACCOUNTS_AT + s.tree.member_id * ACCOUNT_RECORD_SIZE;
    CHECK_EQ_I64(get_i64_at(member + ACCOUNT_CREDIT_AT), 100000000);
    CHECK_EQ_I64(get_i64_at(member + ACCOUNT_ORDER_QUANTITY_MAX_AT), 10000);
    const struct {
        size_t field_at;
        int64_t value;
    } cases[] = {
        {ACCOUNT_CREDIT_AT, -1},
        {ACCOUNT_CREDIT_AT, AMOUNT_MAX_MINOR + 1},
        {ACCOUNT_ORDER_QUANTITY_MAX_AT, QUANTITY_MAX + 1},
        {ACCOUNT_DAY_OPEN_BALANCE_AT, INT64_MIN},
        {7, INT64_MAX}, /* the balance */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t saved = get_i64_at(member + cases[i].field_at);
        put_i64_at(member + cases[i].field_at, cases[i].value);
        reseal(data, length);
        CHECK_EQ_I64(target_decode(&t, data, length), ERR_DECODE_MALFORMED);
        CHECK(strstr(t.errmsg, "account") != NULL);
        put_i64_at(member + cases[i].field_at, saved);
    }
    /* The member's 3 ACME after the house's -1200: a sum that leaves int64_t. */
    size_t position_at = find_position(data, length, s.tree.member_id, s.acme_id, 3);
    CHECK(position_at != 0);
    put_i64_at(data + position_at + 8, INT64_MIN);
    reseal(data, length);
    CHECK_EQ_I64(target_decode(&t, data, length), ERR_DECODE_MALFORMED);
    CHECK(strstr(t.errmsg, "position") != NULL);
    put_i64_at(data + position_at + 8, 3);
    reseal(data, length);
    CHECK_EQ_I64(target_decode(&t, data, length), 0);
    CHECK(digests_equal(&fx.engine, &t.engine));
    target_free(&t);
    fixture_free(&fx);
    free(data);
}

TEST(flip_without_reseal_is_checksum_error)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    fixture_free(&fx);
    struct target t = {.live = 0};
    small_limits(&t.limits);
    for (size_t at = SNAPSHOT_HEADER_SIZE; at < length; at++) {
        data[at] ^= (uint8_t)(1u << (at % 8));
        int rv = target_decode(&t, data, length);
        data[at] ^= (uint8_t)(1u << (at % 8));
        CHECK_EQ_I64(rv, ERR_CHECKSUM);
        CHECK(t.errmsg[0] != '\0');
    }
    /* The stored checksum itself (header bytes 16..23). */
    for (size_t at = 16; at < SNAPSHOT_HEADER_SIZE; at++) {
        data[at] ^= 0x40;
        CHECK_EQ_I64(target_decode(&t, data, length), ERR_CHECKSUM);
        data[at] ^= 0x40;
    }
    CHECK_EQ_I64(target_decode(&t, data, length), 0);
    target_free(&t);
    free(data);
}

TEST(header_magic_version_and_size)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    fixture_free(&fx);
    struct target t = {.live = 0};
    small_limits(&t.limits);
    CHECK(memcmp(data, "NDSS", 4) == 0);
    CHECK_EQ_I64(data[4], snapshot_format_written(1)); /* a state at logic 1 */
    CHECK_EQ_I64(snapshot_format_written(1), 1);
    CHECK_EQ_I64(snapshot_format_written(LOGIC_VERSION_MAX), SNAPSHOT_FORMAT_VERSION);
    for (size_t at = 0; at < 4; at++) {
        data[at] ^= 0x20;
        CHECK_EQ_I64(target_decode(&t, data, length), ERR_DECODE_MALFORMED);
        CHECK(strstr(t.errmsg, "magic") != NULL);
        data[at] ^= 0x20;
    }
    data[4] = SNAPSHOT_FORMAT_VERSION + 1;
    CHECK_EQ_I64(target_decode(&t, data, length), ERR_VERSION);
    CHECK(t.errmsg[0] != '\0');
    data[4] = 0;
    CHECK_EQ_I64(target_decode(&t, data, length), ERR_VERSION);
    data[4] = SNAPSHOT_FORMAT_VERSION;
    data[7] = 1; /* version 0x01000002 */
    CHECK_EQ_I64(target_decode(&t, data, length), ERR_VERSION);
    data[7] = 0;
    data[8] ^= 1; /* body size one off */
    int rv = target_decode(&t, data, length);
    CHECK(rv == ERR_DECODE_NEED_MORE || rv == ERR_DECODE_MALFORMED);
    data[8] ^= 1;
    data[15] = 0x80; /* body size near 2^63 */
    CHECK_EQ_I64(target_decode(&t, data, length), ERR_DECODE_NEED_MORE);
    data[15] = 0;
    CHECK_EQ_I64(target_decode(&t, data, length), 0);
    /* One byte too many after the body. */
    uint8_t *longer = malloc(length + 1);
    CHECK(longer != NULL);
    memcpy(longer, data, length);
    longer[length] = 0;
    CHECK_EQ_I64(target_decode(&t, longer, length + 1), ERR_DECODE_MALFORMED);
    free(longer);
    target_free(&t);
    free(data);
}

TEST(decode_needs_a_fresh_engine)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    struct digest before;
    engine_digest(&fx.engine, &before);
    char errmsg[256] = "";
    CHECK_EQ_I64(snapshot_decode(&fx.engine, data, length, errmsg, sizeof errmsg), ERR_USAGE);
    CHECK(errmsg[0] != '\0');
    struct digest after;
    engine_digest(&fx.engine, &after);
    CHECK(before.high == after.high && before.low == after.low); /* untouched */
    struct fixture fy;
    fixture_init(&fy);
    fixture_account(&fy, 0, 0, ACCOUNT_KIND_OPERATOR, 0);
    errmsg[0] = '\0';
    CHECK_EQ_I64(snapshot_decode(&fy.engine, data, length, errmsg, sizeof errmsg), ERR_USAGE);
    CHECK(errmsg[0] != '\0');
    fixture_free(&fy);
    fixture_free(&fx);
    free(data);
}

/* Each limit in turn set to 1, below what the state holds. */
TEST(state_above_limits_is_capacity_error)
{
    struct fixture fx;
    struct rich s;
    build_rich(&fx, &s);
    size_t length = 0;
    uint8_t *data = snapshot_take(&fx.engine, &length);
    fixture_free(&fx);
    struct target t = {.live = 0};
    uint32_t *fields[] = {
        &t.limits.accounts_max, &t.limits.orders_max, &t.limits.instruments_max,
        &t.limits.positions_max, &t.limits.sessions_max, &t.limits.sport_events_max,
        &t.limits.markets_max, &t.limits.bets_max, &t.limits.exposures_max,
        &t.limits.pt_overrides_max,
    };
    /* Every pool; the two session rules are not sizes (a state from
     * before logic version 3 may hold more than the per-account bound). */
    CHECK_EQ_I64(sizeof fields / sizeof fields[0], sizeof(struct limits) / sizeof(uint32_t) - 2);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        small_limits(&t.limits);
        *fields[i] = 1;
        int rv = target_decode(&t, data, length);
        if (rv != ERR_CAPACITY)
            fprintf(stderr, "  limit %zu: %s (%s)\n", i, err_name(rv), t.errmsg);
        CHECK_EQ_I64(rv, ERR_CAPACITY);
        CHECK(t.errmsg[0] != '\0');
    }
    small_limits(&t.limits);
    CHECK_EQ_I64(target_decode(&t, data, length), 0);
    target_free(&t);
    free(data);
}

/* A statement values holdings at the day's mark; three grants of
 * QUANTITY_MAX at a price near PRICE_TICKS_MAX and the largest tick are
 * worth more than int64_t holds (found by UBSan here), so the value
 * saturates: at INT64_MAX for the member, INT64_MIN for the house. */
TEST(statement_value_of_large_holdings)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct command c = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
    memcpy(c.u.instrument_create.symbol, "BIG", 3);
    c.u.instrument_create.tick_size_minor = TICK_SIZE_MINOR_MAX;
    c.u.instrument_create.lot_size = 1;
    c.u.instrument_create.reference_price_ticks = PRICE_TICKS_MAX - 1000;
    c.u.instrument_create.band_bp = 10;
    uint32_t id = (uint32_t)fixture_ok(&fx, &c).id;
    for (int i = 0; i < 3; i++) {
        struct command g = fixture_command(COMMAND_POSITION_GRANT, 0);
        g.u.position_grant.account_id = tree.member_id;
        g.u.position_grant.instrument_id = id;
        g.u.position_grant.quantity = QUANTITY_MAX;
        CHECK_EQ_I64(fixture_apply(&fx, &g).result, RESULT_OK);
    }
    struct command day = fixture_command(COMMAND_DAY_START, 0);
    day.u.day.trading_date = 20260102;
    fixture_ok(&fx, &day);
    day = fixture_command(COMMAND_DAY_END, 0);
    day.u.day.trading_date = 20260102;
    fixture_ok(&fx, &day);
    const struct event *house = fixture_event(&fx, EVENT_STATEMENT, 0);
    CHECK(house != NULL);
    CHECK_EQ_I64(house->account_id, 0);
    CHECK(house->u.statement.positions_value_minor == INT64_MIN);
    const struct event *member = NULL;
    for (uint32_t n = 0; (house = fixture_event(&fx, EVENT_STATEMENT, n)) != NULL; n++) {
        if (house->account_id == tree.member_id)
            member = house;
    }
    CHECK(member != NULL);
    CHECK(member->u.statement.positions_value_minor == INT64_MAX);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST_MAIN()
