/* Unit tests of agent commission on turnover (src/core/commission.c,
 * docs/sportsbook.md "Commission"): COMMISSION_SET does not exist before
 * logic version 3 (a log with it replays to the digests of the build
 * before), its bounds and authority after; a settlement pays exactly the
 * documented shares along the whole five-level path, rounding down each
 * level's part and letting the house take the rest; money is conserved;
 * a bet keeps the vector it froze whatever the rates do later, and a bet
 * accepted before the activation earns nothing; the state survives a
 * snapshot at logic 3, and a snapshot taken before the activation,
 * restored and continued across it, ends with the digest of a line that
 * never went through a snapshot.
 *
 * The amounts were worked out by hand from the rules: a level earns
 * floor(turnover * its bp / 10000), the PT levels pay the total by
 * sportsbook_split() (agent, master, super rounded down, the house the
 * rest).
 */
#include <stdlib.h>

#include "core/snapshot.h"
#include "fixture.h"
#include "test.h"

#define BALANCE(fx_, id_) ((fx_)->engine.accounts[(id_)].balance_minor)

/* A line of the tree with auto PT agent 25 %, master 30 %, super 20 % (the
 * house 25 %) on every market type, one event, a handicap and a 1X2
 * market. */
struct line {
    struct fixture fx;
    struct fixture_tree tree;
    uint32_t handicap_id;
    uint32_t x12_id;
};

static void line_pt(struct line *l)
{
    const uint32_t senders[3] = {0, l->tree.super_id, l->tree.master_id};
    const uint32_t targets[3] = {l->tree.super_id, l->tree.master_id, l->tree.agent_id};
    const uint16_t shares_bp[3] = {2000, 3000, 2500};
    for (uint32_t i = 0; i < 3; i++) {
        for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
            struct command c = fixture_command(COMMAND_PT_SET, senders[i]);
            c.u.pt_set.account_id = targets[i];
            c.u.pt_set.market_type = type;
            c.u.pt_set.share_bp = shares_bp[i];
            c.u.pt_set.max_bp = i == 2 ? 5000 : 10000;
            fixture_ok(&l->fx, &c);
        }
    }
}

static uint32_t line_market(struct line *l, uint32_t event_id, uint8_t type)
{
    struct command m = fixture_command(COMMAND_MARKET_CREATE, l->tree.operator_id);
    m.u.market_create.sport_event_id = event_id;
    m.u.market_create.market_type = type;
    m.u.market_create.line_quarters = type == MARKET_TYPE_HANDICAP ? -2 : 0;
    m.u.market_create.odds_milli[0] = type == MARKET_TYPE_HANDICAP ? 1950 : 2100;
    m.u.market_create.odds_milli[1] = type == MARKET_TYPE_HANDICAP ? 1870 : 3300;
    m.u.market_create.odds_milli[2] = type == MARKET_TYPE_HANDICAP ? 0 : 3600;
    m.u.market_create.stake_min_minor = 1;
    m.u.market_create.stake_max_minor = 1000000;
    m.u.market_create.odds_count = type == MARKET_TYPE_HANDICAP ? 2 : 3;
    return (uint32_t)fixture_ok(&l->fx, &m).id;
}

static void line_init(struct line *l)
{
    fixture_init(&l->fx);
    fixture_tree(&l->fx, &l->tree);
    line_pt(l);
    struct command ev = fixture_command(COMMAND_SPORT_EVENT_CREATE, l->tree.operator_id);
    uint32_t event_id = (uint32_t)fixture_ok(&l->fx, &ev).id;
    l->handicap_id = line_market(l, event_id, MARKET_TYPE_HANDICAP);
    l->x12_id = line_market(l, event_id, MARKET_TYPE_1X2);
}

static struct outcome activate(struct fixture *fx, uint32_t version)
{
    struct command c = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    c.u.activate_logic.logic_version = version;
    return fixture_apply(fx, &c);
}

static struct outcome rate_set(struct fixture *fx, uint32_t sender, uint32_t account_id,
                               uint8_t market_type, uint16_t rate_bp)
{
    struct command c = fixture_command(COMMAND_COMMISSION_SET, sender);
    c.u.commission_set.account_id = account_id;
    c.u.commission_set.market_type = market_type;
    c.u.commission_set.rate_bp = rate_bp;
    return fixture_apply(fx, &c);
}

/* Handicap rates, each given by the parent: super 87, master 61, agent
 * 40, member 13 bp. The levels earn 13, 27, 21 and 26 bp. */
static void line_rates(struct line *l)
{
    const uint32_t senders[4] = {0, l->tree.super_id, l->tree.master_id, l->tree.agent_id};
    const uint32_t targets[4] = {l->tree.super_id, l->tree.master_id, l->tree.agent_id,
                                 l->tree.member_id};
    const uint16_t rates_bp[4] = {87, 61, 40, 13};
    for (uint32_t i = 0; i < 4; i++) {
        struct outcome o = rate_set(&l->fx, senders[i], targets[i], MARKET_TYPE_HANDICAP,
                                    rates_bp[i]);
        if (o.result != RESULT_OK) {
            fprintf(stderr, "line_rates: %s\n", result_name(o.result));
            abort();
        }
    }
}

static struct outcome place(struct line *l, uint32_t market_id, uint8_t selection,
                            int32_t odds_milli, int64_t stake_minor)
{
    struct command c = fixture_command(COMMAND_BET_PLACE, l->tree.member_id);
    c.u.bet_place.market_id = market_id;
    c.u.bet_place.selection = selection;
    c.u.bet_place.odds_milli = odds_milli;
    c.u.bet_place.stake_minor = stake_minor;
    return fixture_apply(&l->fx, &c);
}

static struct outcome settle(struct line *l, uint32_t market_id, uint8_t r0, uint8_t r1,
                             uint8_t r2)
{
    struct command c = fixture_command(COMMAND_MARKET_SETTLE, l->tree.operator_id);
    c.u.market_settle.market_id = market_id;
    c.u.market_settle.results[0] = r0;
    c.u.market_settle.results[1] = r1;
    c.u.market_settle.results[2] = r2;
    c.u.market_settle.result_count = market_id == l->x12_id ? 3 : 2;
    return fixture_apply(&l->fx, &c);
}

/* Is the n-th EVENT_COMMISSION of the last command as given? */
static int commission_is(const struct fixture *fx, uint32_t n, int64_t turnover_minor,
                         const int64_t earned[COMMISSION_LEVELS], const int64_t paid[PT_LEVELS])
{
    const struct event *e = fixture_event(fx, EVENT_COMMISSION, n);
    if (e == NULL) {
        fprintf(stderr, "  no commission event %u\n", n);
        return 0;
    }
    int same = e->u.commission.turnover_minor == turnover_minor;
    for (uint32_t i = 0; i < COMMISSION_LEVELS; i++)
        same = same && e->u.commission.earned_minor[i] == earned[i];
    for (uint32_t i = 0; i < PT_LEVELS; i++)
        same = same && e->u.commission.paid_minor[i] == paid[i];
    if (!same) {
        const int64_t *x = e->u.commission.earned_minor;
        const int64_t *y = e->u.commission.paid_minor;
        fprintf(stderr, "  turnover %lld earned {%lld,%lld,%lld,%lld} paid {%lld,%lld,%lld,%lld}\n",
                (long long)e->u.commission.turnover_minor, (long long)x[0], (long long)x[1],
                (long long)x[2], (long long)x[3], (long long)y[0], (long long)y[1],
                (long long)y[2], (long long)y[3]);
    }
    return same;
}

/* ---- Before logic version 3. ---- */

/* Digests of this file's log, computed by the build before commission
 * (commit df59990, where command type 26 did not exist): never activated,
 * and activated up to 2 in the middle. */
static const struct digest COMMISSION_OLD_DIGESTS[2] = {
    {0x971c753338345c71ull, 0x263c4b443dd7d672ull},
    {0x99e4fb9805255ba8ull, 0xd3ec781b9c2adb78ull},
};

/* Bets, a COMMISSION_SET, more bets and both markets settled. */
static void old_log(struct line *l, uint32_t logic)
{
    CHECK_EQ_I64(place(l, l->handicap_id, 0, 1950, 12345).result, RESULT_OK);
    CHECK_EQ_I64(place(l, l->handicap_id, 1, 1870, 777).result, RESULT_OK);
    CHECK_EQ_I64(place(l, l->x12_id, 2, 3600, 5003).result, RESULT_OK);
    if (logic != 0)
        CHECK_EQ_I64(activate(&l->fx, logic).result, RESULT_OK);
    struct outcome o = rate_set(&l->fx, l->tree.master_id, l->tree.agent_id,
                                MARKET_TYPE_HANDICAP, 50);
    CHECK_EQ_I64(o.result, REJECT_COMMAND_UNKNOWN);
    CHECK_EQ_I64(o.id, 0);
    CHECK_EQ_I64(l->fx.event_count, 0);
    CHECK_EQ_I64(place(l, l->handicap_id, 0, 1950, 1001).result, RESULT_OK);
    CHECK_EQ_I64(settle(l, l->handicap_id, BET_RESULT_HALF_WIN, BET_RESULT_HALF_LOSE, 0).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_count(&l->fx, EVENT_COMMISSION), 0);
    CHECK_EQ_I64(settle(l, l->x12_id, BET_RESULT_LOSE, BET_RESULT_LOSE, BET_RESULT_WIN).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_count(&l->fx, EVENT_COMMISSION), 0);
}

TEST(before_logic_3_commission_set_is_unknown_and_digests_as_before)
{
    const uint32_t logics[2] = {0, 2};
    for (uint32_t i = 0; i < 2; i++) {
        static struct line l;
        line_init(&l);
        old_log(&l, logics[i]);
        struct digest digest;
        engine_digest(&l.fx.engine, &digest);
        CHECK(fixture_check(&l.fx) == 0);
        fixture_free(&l.fx);
        if (digest.high != COMMISSION_OLD_DIGESTS[i].high ||
            digest.low != COMMISSION_OLD_DIGESTS[i].low)
            fprintf(stderr, "  logic %u: {0x%016llxull, 0x%016llxull}\n", logics[i],
                    (unsigned long long)digest.high, (unsigned long long)digest.low);
        CHECK(digest.high == COMMISSION_OLD_DIGESTS[i].high);
        CHECK(digest.low == COMMISSION_OLD_DIGESTS[i].low);
    }
}

/* ---- COMMISSION_SET from logic version 3. ---- */

TEST(commission_set_bounds_and_authority)
{
    static struct line l;
    line_init(&l);
    struct fixture *fx = &l.fx;
    const struct fixture_tree *t = &l.tree;
    CHECK_EQ_I64(activate(fx, 3).result, RESULT_OK);
    const uint8_t h = MARKET_TYPE_HANDICAP;
    /* Under the house: up to the maximum, set by an operator. */
    CHECK_EQ_I64(rate_set(fx, t->operator_id, t->super_id, h, COMMISSION_BP_MAX + 1).result,
                 REJECT_COMMISSION_INVALID);
    struct outcome o = rate_set(fx, t->operator_id, t->super_id, h, COMMISSION_BP_MAX);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, t->super_id);
    CHECK_EQ_I64(o.value, COMMISSION_BP_MAX);
    CHECK_EQ_I64(rate_set(fx, 0, t->super_id, h, 80).result, RESULT_OK);
    /* Below: at most the parent's own, whoever above sends it. */
    o = rate_set(fx, t->super_id, t->master_id, h, 81);
    CHECK_EQ_I64(o.result, REJECT_COMMISSION_ABOVE_PARENT);
    CHECK_EQ_I64(o.value, 80);
    CHECK_EQ_I64(rate_set(fx, t->super_id, t->master_id, h, 80).result, RESULT_OK);
    CHECK_EQ_I64(rate_set(fx, t->super_id, t->agent_id, h, 60).result, RESULT_OK);
    CHECK_EQ_I64(rate_set(fx, t->agent_id, t->member_id, h, 61).result,
                 REJECT_COMMISSION_ABOVE_PARENT);
    CHECK_EQ_I64(rate_set(fx, t->agent_id, t->member_id, h, 20).result, RESULT_OK);
    /* Another market type has rates of its own, 0 so far. */
    CHECK_EQ_I64(rate_set(fx, t->agent_id, t->member_id, MARKET_TYPE_1X2, 1).result,
                 REJECT_COMMISSION_ABOVE_PARENT);
    CHECK_EQ_I64(rate_set(fx, t->agent_id, t->member_id, MARKET_TYPE_COUNT, 1).result,
                 REJECT_MARKET_TYPE_INVALID);
    /* DOWNLINE: nobody sets its own rate, nor a stranger's. */
    CHECK_EQ_I64(rate_set(fx, t->member_id, t->member_id, h, 1).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(rate_set(fx, t->agent_id, t->agent_id, h, 1).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(rate_set(fx, t->member_id, t->agent_id, h, 1).result, REJECT_NOT_AUTHORIZED);
    /* The house and operators earn none; an unknown account is unknown. */
    CHECK_EQ_I64(rate_set(fx, 0, 0, h, 1).result, REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(rate_set(fx, 0, t->operator_id, h, 1).result, REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(rate_set(fx, 0, 9999, h, 1).result, REJECT_ACCOUNT_UNKNOWN);
    /* Lowering a parent below its children is never refused. */
    CHECK_EQ_I64(rate_set(fx, 0, t->super_id, h, 10).result, RESULT_OK);
    CHECK_EQ_I64(fx->engine.commissions[t->agent_id].rate_bp[h], 60);
    CHECK_EQ_I64(fx->engine.commissions[t->member_id].rate_bp[h], 20);
    CHECK(fixture_check(fx) == 0);
    fixture_free(fx);
}

/* ---- Settlement. ---- */

TEST(settlement_pays_each_level_its_share)
{
    static struct line l;
    line_init(&l);
    struct fixture *fx = &l.fx;
    const struct fixture_tree *t = &l.tree;
    CHECK_EQ_I64(activate(fx, 3).result, RESULT_OK);
    line_rates(&l);
    const uint32_t ids[5] = {t->member_id, t->agent_id, t->master_id, t->super_id, 0};
    CHECK_EQ_I64(place(&l, l.handicap_id, 0, 1950, 12345).result, RESULT_OK);
    CHECK_EQ_I64(place(&l, l.handicap_id, 1, 1870, 777).result, RESULT_OK);
    CHECK_EQ_I64(place(&l, l.x12_id, 0, 2100, 999).result, RESULT_OK);
    int64_t before[5];
    for (uint32_t i = 0; i < 5; i++)
        before[i] = BALANCE(fx, ids[i]);
    CHECK_EQ_I64(settle(&l, l.handicap_id, BET_RESULT_WIN, BET_RESULT_HALF_LOSE, 0).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_count(fx, EVENT_COMMISSION), 2);
    /* 12345 won: turnover 12345; earned floor(12345 * {13,27,21,26} /
     * 10000) = {16,33,25,32}, 106 in all; paid floor(106 * {25,30,20} %)
     * = {26,31,21}, the house 28. */
    const int64_t earned_win[4] = {16, 33, 25, 32};
    const int64_t paid_win[4] = {26, 31, 21, 28};
    CHECK(commission_is(fx, 0, 12345, earned_win, paid_win));
    /* 777 half lost: turnover 388; earned {0,1,0,1}: 2; paid {0,0,0,2}. */
    const int64_t earned_half[4] = {0, 1, 0, 1};
    const int64_t paid_half[4] = {0, 0, 0, 2};
    CHECK(commission_is(fx, 1, 388, earned_half, paid_half));
    /* The win W = floor(12345 * 0.95) = 11727 splits {2931,3518,2345,2933};
     * the half loss 388 splits {97,116,77,98}. Each balance moves by its
     * part of both results plus what it earns less what it pays. */
    const int64_t moved[5] = {
        11727 + 16 - 388 + 0,         /* member */
        -2931 + 33 - 26 + 97 + 1 - 0, /* agent */
        -3518 + 25 - 31 + 116 + 0,    /* master */
        -2345 + 32 - 21 + 77 + 1 - 0, /* super */
        -2933 - 28 + 98 - 2,          /* house */
    };
    int64_t total = 0;
    for (uint32_t i = 0; i < 5; i++) {
        CHECK_EQ_I64(BALANCE(fx, ids[i]) - before[i], moved[i]);
        total += moved[i];
    }
    CHECK_EQ_I64(total, 0);
    CHECK(fixture_check(fx) == 0);
    /* A void pays nothing; the 1X2 market has no rates anyway. */
    CHECK_EQ_I64(settle(&l, l.x12_id, BET_RESULT_VOID, BET_RESULT_LOSE, BET_RESULT_LOSE).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_count(fx, EVENT_COMMISSION), 0);
    fixture_free(fx);
}

TEST(void_and_half_win_turnover)
{
    static struct line l;
    line_init(&l);
    struct fixture *fx = &l.fx;
    CHECK_EQ_I64(activate(fx, 3).result, RESULT_OK);
    line_rates(&l);
    CHECK_EQ_I64(place(&l, l.handicap_id, 0, 1950, 10001).result, RESULT_OK);
    CHECK_EQ_I64(place(&l, l.handicap_id, 1, 1870, 10001).result, RESULT_OK);
    int64_t member_before = BALANCE(fx, l.tree.member_id);
    CHECK_EQ_I64(settle(&l, l.handicap_id, BET_RESULT_HALF_WIN, BET_RESULT_VOID, 0).result,
                 RESULT_OK);
    /* Half of 10001 is 5000: earned {6,13,10,13}, 42; paid {10,12,8}, the
     * house 12. The void earns nothing and says nothing. */
    CHECK_EQ_I64(fixture_count(fx, EVENT_COMMISSION), 1);
    const int64_t earned[4] = {6, 13, 10, 13};
    const int64_t paid[4] = {10, 12, 8, 12};
    CHECK(commission_is(fx, 0, 5000, earned, paid));
    /* Half win: floor(floor(10001 * 0.95) / 2) = floor(9500 / 2) = 4750. */
    CHECK_EQ_I64(BALANCE(fx, l.tree.member_id) - member_before, 4750 + 6);
    CHECK(fixture_check(fx) == 0);
    fixture_free(fx);
}

/* ---- Frozen vectors. ---- */

TEST(bet_keeps_its_frozen_vector)
{
    static struct line l;
    line_init(&l);
    struct fixture *fx = &l.fx;
    const struct fixture_tree *t = &l.tree;
    const uint8_t h = MARKET_TYPE_HANDICAP;
    CHECK_EQ_I64(activate(fx, 3).result, RESULT_OK);
    line_rates(&l);
    CHECK_EQ_I64(place(&l, l.handicap_id, 0, 1950, 10000).result, RESULT_OK);
    /* The super is cut to 30, below its master (61) and agent (40): the
     * next bet caps them, e = {13, 30, 30, 30}: it earns {13, 17, 0, 0}. */
    CHECK_EQ_I64(rate_set(fx, 0, t->super_id, h, 30).result, RESULT_OK);
    CHECK_EQ_I64(place(&l, l.handicap_id, 1, 1870, 10000).result, RESULT_OK);
    /* Then the member's rate goes to 0: bets already placed keep theirs. */
    CHECK_EQ_I64(rate_set(fx, t->agent_id, t->member_id, h, 0).result, RESULT_OK);
    CHECK_EQ_I64(settle(&l, l.handicap_id, BET_RESULT_LOSE, BET_RESULT_WIN, 0).result,
                 RESULT_OK);
    const int64_t earned_first[4] = {13, 27, 21, 26};
    const int64_t paid_first[4] = {21, 26, 17, 23};
    CHECK(commission_is(fx, 0, 10000, earned_first, paid_first));
    const int64_t earned_second[4] = {13, 17, 0, 0};
    const int64_t paid_second[4] = {7, 9, 6, 8};
    CHECK(commission_is(fx, 1, 10000, earned_second, paid_second));
    CHECK(fixture_check(fx) == 0);
    fixture_free(fx);
}

TEST(bet_from_before_activation_earns_nothing)
{
    static struct line l;
    line_init(&l);
    struct fixture *fx = &l.fx;
    CHECK_EQ_I64(place(&l, l.handicap_id, 0, 1950, 10000).result, RESULT_OK);
    CHECK_EQ_I64(activate(fx, 3).result, RESULT_OK);
    line_rates(&l);
    CHECK_EQ_I64(place(&l, l.handicap_id, 1, 1870, 10000).result, RESULT_OK);
    CHECK(fixture_check(fx) == 0);
    CHECK_EQ_I64(settle(&l, l.handicap_id, BET_RESULT_LOSE, BET_RESULT_LOSE, 0).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_count(fx, EVENT_COMMISSION), 1);
    const struct event *e = fixture_event(fx, EVENT_COMMISSION, 0);
    CHECK(e != NULL);
    CHECK_EQ_I64(e->id, 2); /* the second bet only */
    CHECK(fixture_check(fx) == 0);
    fixture_free(fx);
}

/* ---- Snapshots. ---- */

static uint8_t *snapshot_of(const struct engine *engine, size_t *length)
{
    size_t size = snapshot_size(engine);
    uint8_t *data = malloc(size);
    if (data == NULL || snapshot_encode(engine, data, size, length) != 0 || *length != size)
        abort();
    return data;
}

TEST(snapshot_round_trip_at_logic_3)
{
    static struct line l;
    static struct fixture restored;
    line_init(&l);
    struct fixture *fx = &l.fx;
    size_t length_2 = 0;
    CHECK_EQ_I64(place(&l, l.handicap_id, 0, 1950, 10000).result, RESULT_OK);
    CHECK_EQ_I64(activate(fx, 2).result, RESULT_OK);
    free(snapshot_of(&fx->engine, &length_2));
    CHECK_EQ_I64(activate(fx, 3).result, RESULT_OK);
    size_t length_3 = 0;
    free(snapshot_of(&fx->engine, &length_3));
    /* Logic 3 adds 6 bytes an account and 8 a bet, beside the session
     * fields: 9 an account, 12 a session and 12 in the globals. */
    CHECK_EQ_I64(length_3 - length_2,
                 12 + 15 * fx->engine.account_count + 8 + 12 * fx->engine.session_count);
    line_rates(&l);
    CHECK_EQ_I64(place(&l, l.handicap_id, 1, 1870, 4321).result, RESULT_OK);
    size_t length = 0;
    uint8_t *data = snapshot_of(&fx->engine, &length);
    fixture_init(&restored);
    char errmsg[256];
    CHECK_EQ_I64(snapshot_decode(&restored.engine, data, length, errmsg, sizeof errmsg), 0);
    free(data);
    struct digest a, b;
    engine_digest(&fx->engine, &a);
    engine_digest(&restored.engine, &b);
    CHECK(a.high == b.high && a.low == b.low);
    CHECK_EQ_I64(restored.engine.commissions[l.tree.member_id].rate_bp[MARKET_TYPE_HANDICAP], 13);
    /* Both settle alike. */
    restored.time_ns = fx->time_ns;
    restored.seq = fx->seq;
    struct command c = fixture_command(COMMAND_MARKET_SETTLE, l.tree.operator_id);
    c.u.market_settle.market_id = l.handicap_id;
    c.u.market_settle.results[0] = BET_RESULT_WIN;
    c.u.market_settle.results[1] = BET_RESULT_LOSE;
    c.u.market_settle.result_count = 2;
    struct command same = c;
    CHECK_EQ_I64(fixture_apply(fx, &c).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(fx, EVENT_COMMISSION), 1);
    CHECK_EQ_I64(fixture_apply(&restored, &same).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&restored, EVENT_COMMISSION), 1);
    engine_digest(&fx->engine, &a);
    engine_digest(&restored.engine, &b);
    CHECK(a.high == b.high && a.low == b.low);
    CHECK(fixture_check(&restored) == 0);
    fixture_free(&restored);
    fixture_free(fx);
}

/* The same history from the same point, by a line that went through a
 * snapshot taken before the activation (restored as a new build would
 * load it) and by one that never did: ACTIVATE_LOGIC 3, rates, bets,
 * a settlement. Returns 0 when both end with one digest. */
static void continue_across_activation(struct line *l)
{
    CHECK_EQ_I64(activate(&l->fx, 3).result, RESULT_OK);
    line_rates(l);
    CHECK_EQ_I64(place(l, l->handicap_id, 1, 1870, 4321).result, RESULT_OK);
    CHECK_EQ_I64(place(l, l->x12_id, 2, 3600, 777).result, RESULT_OK);
    struct command c = fixture_command(COMMAND_MARKET_SETTLE, l->tree.operator_id);
    c.u.market_settle.market_id = l->handicap_id;
    c.u.market_settle.results[0] = BET_RESULT_HALF_WIN;
    c.u.market_settle.results[1] = BET_RESULT_LOSE;
    c.u.market_settle.result_count = 2;
    CHECK_EQ_I64(fixture_apply(&l->fx, &c).result, RESULT_OK);
}

TEST(snapshot_before_activation_continues_to_the_same_digest)
{
    static struct line never, through;
    line_init(&never);
    CHECK_EQ_I64(place(&never, never.handicap_id, 0, 1950, 10000).result, RESULT_OK);
    CHECK_EQ_I64(activate(&never.fx, 2).result, RESULT_OK);
    size_t length = 0;
    uint8_t *data = snapshot_of(&never.fx.engine, &length); /* at logic 2 */
    fixture_init(&through.fx);
    char errmsg[256];
    CHECK_EQ_I64(snapshot_decode(&through.fx.engine, data, length, errmsg, sizeof errmsg), 0);
    free(data);
    CHECK_EQ_I64(through.fx.engine.logic_version, 2);
    through.tree = never.tree;
    through.handicap_id = never.handicap_id;
    through.x12_id = never.x12_id;
    through.fx.time_ns = never.fx.time_ns;
    through.fx.seq = never.fx.seq;
    continue_across_activation(&never);
    continue_across_activation(&through);
    CHECK_EQ_I64(fixture_count(&through.fx, EVENT_COMMISSION), 1);
    struct digest a, b;
    engine_digest(&never.fx.engine, &a);
    engine_digest(&through.fx.engine, &b);
    CHECK(a.high == b.high && a.low == b.low);
    CHECK(fixture_check(&through.fx) == 0);
    fixture_free(&through.fx);
    fixture_free(&never.fx);
}

TEST_MAIN()
