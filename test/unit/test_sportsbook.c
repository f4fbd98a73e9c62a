/* Unit tests of the fixed-odds sportsbook (src/core/sportsbook.c): market
 * creation and its validation, auto PT set by ancestors and its capping,
 * the frozen share vector of a bet, every settlement result with its exact
 * rounding, odds and stake checks, credit, live exposure per PT level and
 * its limits, manual PT overrides, and the pools running full.
 *
 * Every amount below was worked out by hand from the rules in
 * sportsbook.h and sportsbook.c (the member wins floor(stake * (odds - 1000) / 1000);
 * agent, master and super take floor(amount * share / 10000) and the house
 * the rest), so that a change in the arithmetic makes a test fail instead
 * of agreeing with itself.
 */
#include "core/snapshot.h"
#include "core/sportsbook.h"
#include "fixture.h"
#include "test.h"

/* A fixture with one line of the tree and one sport event. */
struct sb {
    struct fixture fx;
    struct fixture_tree tree;
    uint32_t event_id;
};

#define BALANCE(sb_, id_) ((sb_)->fx.engine.accounts[(id_)].balance_minor)
#define STAKE_OPEN(sb_, id_) ((sb_)->fx.engine.accounts[(id_)].stake_open_minor)

static void sb_init_limits(struct sb *sb, const struct limits *limits)
{
    fixture_init_limits(&sb->fx, limits);
    fixture_tree(&sb->fx, &sb->tree);
    struct command c = fixture_command(COMMAND_SPORT_EVENT_CREATE, sb->tree.operator_id);
    c.u.sport_event_create.external_ref = 77;
    sb->event_id = (uint32_t)fixture_ok(&sb->fx, &c).id;
}

static void sb_init(struct sb *sb)
{
    struct limits limits;
    fixture_limits(&limits);
    sb_init_limits(sb, &limits);
}

static uint32_t sb_event(struct sb *sb)
{
    struct command c = fixture_command(COMMAND_SPORT_EVENT_CREATE, sb->tree.operator_id);
    return (uint32_t)fixture_ok(&sb->fx, &c).id;
}

static struct outcome pt_set(struct sb *sb, uint32_t sender, uint32_t account_id, uint8_t type,
                             uint16_t share_bp, uint16_t max_bp)
{
    struct command c = fixture_command(COMMAND_PT_SET, sender);
    c.u.pt_set.account_id = account_id;
    c.u.pt_set.market_type = type;
    c.u.pt_set.share_bp = share_bp;
    c.u.pt_set.max_bp = max_bp;
    return fixture_apply(&sb->fx, &c);
}

/* Auto PT for every market type, each level set by its parent: the house
 * gives the super up to 100 %, the super the master up to 100 %, and the
 * master the agent up to agent_max_bp. */
static void pt_chain(struct sb *sb, uint16_t super_bp, uint16_t master_bp, uint16_t agent_bp,
                     uint16_t agent_max_bp)
{
    for (uint8_t type = 0; type < MARKET_TYPE_COUNT; type++) {
        struct outcome o1 = pt_set(sb, 0, sb->tree.super_id, type, super_bp, 10000);
        struct outcome o2 = pt_set(sb, sb->tree.super_id, sb->tree.master_id, type, master_bp,
                                   10000);
        struct outcome o3 = pt_set(sb, sb->tree.master_id, sb->tree.agent_id, type, agent_bp,
                                   agent_max_bp);
        if (o1.result != RESULT_OK || o2.result != RESULT_OK || o3.result != RESULT_OK) {
            fprintf(stderr, "pt_chain: %s %s %s\n", result_name(o1.result),
                    result_name(o2.result), result_name(o3.result));
            abort();
        }
    }
}

static struct outcome market_try(struct sb *sb, uint32_t event_id, uint8_t type,
                                 int32_t line_quarters, const int32_t odds_milli[3],
                                 int64_t stake_min_minor, int64_t stake_max_minor)
{
    struct command c = fixture_command(COMMAND_MARKET_CREATE, sb->tree.operator_id);
    c.u.market_create.sport_event_id = event_id;
    c.u.market_create.market_type = type;
    c.u.market_create.line_quarters = line_quarters;
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++)
        c.u.market_create.odds_milli[s] = odds_milli[s];
    c.u.market_create.stake_min_minor = stake_min_minor;
    c.u.market_create.stake_max_minor = stake_max_minor;
    return fixture_apply(&sb->fx, &c);
}

/* A handicap market (home -0.5) in event_id, stakes 1 .. 1 000 000. */
static uint32_t market_handicap(struct sb *sb, uint32_t event_id, int32_t odds0, int32_t odds1)
{
    const int32_t odds[3] = {odds0, odds1, 0};
    struct outcome o = market_try(sb, event_id, MARKET_TYPE_HANDICAP, -2, odds, 1, 1000000);
    if (o.result != RESULT_OK)
        abort();
    return (uint32_t)o.id;
}

static uint32_t market_1x2(struct sb *sb, int32_t odds0, int32_t odds1, int32_t odds2)
{
    const int32_t odds[3] = {odds0, odds1, odds2};
    struct outcome o = market_try(sb, sb->event_id, MARKET_TYPE_1X2, 0, odds, 1, 1000000);
    if (o.result != RESULT_OK)
        abort();
    return (uint32_t)o.id;
}

static struct outcome bet_full(struct sb *sb, uint32_t member_id, uint32_t market_id,
                               uint8_t selection, int32_t odds_milli, int64_t stake_minor,
                               uint8_t accept_better_odds)
{
    struct command c = fixture_command(COMMAND_BET_PLACE, member_id);
    c.u.bet_place.market_id = market_id;
    c.u.bet_place.selection = selection;
    c.u.bet_place.odds_milli = odds_milli;
    c.u.bet_place.stake_minor = stake_minor;
    c.u.bet_place.accept_better_odds = accept_better_odds;
    return fixture_apply(&sb->fx, &c);
}

static struct outcome bet(struct sb *sb, uint32_t market_id, uint8_t selection,
                          int32_t odds_milli, int64_t stake_minor)
{
    return bet_full(sb, sb->tree.member_id, market_id, selection, odds_milli, stake_minor, 0);
}

static struct outcome settle(struct sb *sb, uint32_t market_id, uint8_t r0, uint8_t r1,
                             uint8_t r2)
{
    struct command c = fixture_command(COMMAND_MARKET_SETTLE, sb->tree.operator_id);
    c.u.market_settle.market_id = market_id;
    c.u.market_settle.results[0] = r0;
    c.u.market_settle.results[1] = r1;
    c.u.market_settle.results[2] = r2;
    return fixture_apply(&sb->fx, &c);
}

static struct outcome set_limits(struct sb *sb, uint32_t sender, uint32_t account_id,
                                 int64_t bet_stake_max_minor, int64_t exposure_limit_minor)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, sender);
    c.u.account_set_limits.account_id = account_id;
    c.u.account_set_limits.bet_stake_max_minor = bet_stake_max_minor;
    c.u.account_set_limits.exposure_limit_minor = exposure_limit_minor;
    return fixture_apply(&sb->fx, &c);
}

static struct outcome pt_override(struct sb *sb, uint32_t sender, uint32_t event_id,
                                  uint32_t market_id, uint16_t share_bp)
{
    struct command c = fixture_command(COMMAND_PT_OVERRIDE, sender);
    c.u.pt_override.sport_event_id = event_id;
    c.u.pt_override.market_id = market_id;
    c.u.pt_override.share_bp = share_bp;
    return fixture_apply(&sb->fx, &c);
}

static struct outcome set_odds(struct sb *sb, uint32_t market_id, int32_t odds0, int32_t odds1,
                               int32_t odds2)
{
    struct command c = fixture_command(COMMAND_MARKET_SET_ODDS, sb->tree.operator_id);
    c.u.market_set_odds.market_id = market_id;
    c.u.market_set_odds.odds_milli[0] = odds0;
    c.u.market_set_odds.odds_milli[1] = odds1;
    c.u.market_set_odds.odds_milli[2] = odds2;
    return fixture_apply(&sb->fx, &c);
}

static struct outcome set_status(struct sb *sb, uint32_t market_id, uint8_t status)
{
    struct command c = fixture_command(COMMAND_MARKET_SET_STATUS, sb->tree.operator_id);
    c.u.market_set_status.market_id = market_id;
    c.u.market_set_status.status = status;
    return fixture_apply(&sb->fx, &c);
}

/* Are the shares of the n-th event of type (agent, master, super, house)
 * as given? Prints what they are when not. */
static int shares_are(const struct sb *sb, enum event_type type, uint32_t n, uint16_t agent,
                      uint16_t master, uint16_t super, uint16_t house)
{
    const struct event *e = fixture_event(&sb->fx, type, n);
    if (e == NULL) {
        fprintf(stderr, "  no event %u of type %u\n", n, (unsigned)type);
        return 0;
    }
    const uint16_t *s = e->u.bet.shares_bp;
    if (s[0] == agent && s[1] == master && s[2] == super && s[3] == house)
        return 1;
    fprintf(stderr, "  shares {%u,%u,%u,%u}, expected {%u,%u,%u,%u}\n", s[0], s[1], s[2], s[3],
            agent, master, super, house);
    return 0;
}

/* Balances of member, agent, master, super and house, for deltas. */
struct balances {
    int64_t minor[5];
};

static struct balances balances_of(const struct sb *sb)
{
    const struct fixture_tree *t = &sb->tree;
    const uint32_t ids[5] = {t->member_id, t->agent_id, t->master_id, t->super_id, 0};
    struct balances b;
    for (uint32_t i = 0; i < 5; i++)
        b.minor[i] = sb->fx.engine.accounts[ids[i]].balance_minor;
    return b;
}

/* Did member, agent, master, super and house move by exactly these? */
static int deltas_are(const struct sb *sb, const struct balances *before, int64_t member,
                      int64_t agent, int64_t master, int64_t super, int64_t house)
{
    const int64_t want[5] = {member, agent, master, super, house};
    struct balances after = balances_of(sb);
    int ok = 1;
    for (uint32_t i = 0; i < 5; i++) {
        int64_t got = after.minor[i] - before->minor[i];
        if (got != want[i]) {
            fprintf(stderr, "  balance %u moved by %lld, expected %lld\n", i, (long long)got,
                    (long long)want[i]);
            ok = 0;
        }
    }
    return ok;
}

/* ---- Market creation. ---- */

TEST(market_create_validation)
{
    struct sb sb;
    sb_init(&sb);
    const int32_t good[3] = {2150, 3300, 3500};
    const int32_t low[3] = {2150, 1000, 3500};
    const int32_t high[3] = {1000001, 3300, 3500};
    const int32_t edges[3] = {1001, 1000000, 0};
    uint32_t event = sb.event_id;
    struct outcome o = market_try(&sb, event, MARKET_TYPE_1X2, 0, low, 1, 100);
    CHECK_EQ_I64(o.result, REJECT_ODDS_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 0, high, 1, 100).result,
                 REJECT_ODDS_INVALID);
    /* A 1X2 market needs its third odds too; a handicap ignores them. */
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 0, edges, 1, 100).result,
                 REJECT_ODDS_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 0, good, 0, 100).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 0, good, -5, 100).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 0, good, 100, 99).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 0, good, 1, STAKE_MAX_MINOR + 1).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 1, good, 1, 100).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_OVER_UNDER, 0, good, 1, 100).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_OVER_UNDER, -2, good, 1, 100).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_HANDICAP, 401, good, 1, 100).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_HANDICAP, -401, good, 1, 100).result,
                 REJECT_MARKET_INVALID);
    CHECK_EQ_I64(market_try(&sb, event + 1, MARKET_TYPE_1X2, 0, good, 1, 100).result,
                 REJECT_EVENT_UNKNOWN);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_COUNT, 0, good, 1, 100).result,
                 REJECT_MARKET_TYPE_INVALID);
    CHECK_EQ_I64(sb.fx.engine.market_count, 0);
    CHECK_EQ_I64(sb.fx.engine.sport_events[event].market_count, 0);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_ODDS), 0);

    o = market_try(&sb, event, MARKET_TYPE_HANDICAP, -2, edges, 1, STAKE_MAX_MINOR);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, 0);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_ODDS), 1);
    const struct event *e = fixture_event(&sb.fx, EVENT_ODDS, 0);
    CHECK_EQ_I64(e->code, MARKET_STATUS_OPEN);
    CHECK_EQ_I64(e->u.odds.odds_milli[0], 1001);
    CHECK_EQ_I64(e->u.odds.odds_milli[1], 1000000);
    CHECK_EQ_I64(e->u.odds.odds_milli[2], 0);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_OVER_UNDER, 10, good, 100, 100).id, 1);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_HANDICAP, 400, good, 1, 1).result, RESULT_OK);
    CHECK_EQ_I64(market_try(&sb, event, MARKET_TYPE_1X2, 0, good, 1, 1).id, 3);
    CHECK_EQ_I64(sb.fx.engine.markets[3].selection_count, 3);
    CHECK_EQ_I64(sb.fx.engine.markets[1].selection_count, 2);
    CHECK_EQ_I64(sb.fx.engine.markets[1].line_quarters, 10);
    CHECK_EQ_I64(sb.fx.engine.sport_events[event].market_count, 4);

    /* Only the house or an operator creates markets. */
    struct command c = fixture_command(COMMAND_MARKET_CREATE, sb.tree.agent_id);
    c.u.market_create.sport_event_id = event;
    c.u.market_create.odds_milli[0] = c.u.market_create.odds_milli[1] = 2000;
    c.u.market_create.odds_milli[2] = 2000;
    c.u.market_create.stake_min_minor = c.u.market_create.stake_max_minor = 1;
    CHECK_EQ_I64(fixture_apply(&sb.fx, &c).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(sb.fx.engine.market_count, 4);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(markets_full)
{
    struct sb sb;
    struct limits limits;
    fixture_limits(&limits);
    limits.markets_max = 2;
    sb_init_limits(&sb, &limits);
    const int32_t odds[3] = {2000, 2000, 0};
    CHECK_EQ_I64(market_try(&sb, sb.event_id, MARKET_TYPE_HANDICAP, 0, odds, 1, 9).result,
                 RESULT_OK);
    CHECK_EQ_I64(market_try(&sb, sb.event_id, MARKET_TYPE_HANDICAP, 1, odds, 1, 9).result,
                 RESULT_OK);
    CHECK_EQ_I64(market_try(&sb, sb.event_id, MARKET_TYPE_HANDICAP, 2, odds, 1, 9).result,
                 REJECT_MARKETS_FULL);
    CHECK_EQ_I64(sb.fx.engine.market_count, 2);
    CHECK_EQ_I64(sb.fx.engine.sport_events[sb.event_id].market_count, 2);
    fixture_free(&sb.fx);
}

/* ---- Auto PT. ---- */

TEST(pt_set_authority)
{
    struct sb sb;
    sb_init(&sb);
    const struct fixture_tree *t = &sb.tree;
    const uint8_t type = MARKET_TYPE_HANDICAP;
    /* The master has no ceiling yet, so it can grant nothing. */
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, type, 0, 1).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(pt_set(&sb, 0, t->super_id, type, 1000, 6000).result, RESULT_OK);
    CHECK_EQ_I64(pt_set(&sb, t->super_id, t->master_id, type, 2000, 6001).result,
                 REJECT_SHARE_ABOVE_MAX);
    struct outcome o = pt_set(&sb, t->super_id, t->master_id, type, 2000, 6000);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, t->master_id);
    CHECK_EQ_I64(o.value, 2000);
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, type, 3000, 6001).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, type, 3001, 3000).result,
                 REJECT_SHARE_INVALID);
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, type, 10001, 10001).result,
                 REJECT_SHARE_INVALID);
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, type, 3000, 6000).result, RESULT_OK);
    /* An operator speaks for the house, whose ceiling is 100 %. */
    CHECK_EQ_I64(pt_set(&sb, t->operator_id, t->agent_id, type, 10000, 10000).result,
                 RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.accounts[t->agent_id].pt_share_bp[type], 10000);
    /* A grandparent grants within its own ceiling too. */
    CHECK_EQ_I64(pt_set(&sb, t->super_id, t->agent_id, type, 3000, 6001).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(pt_set(&sb, t->super_id, t->agent_id, type, 3000, 5000).result, RESULT_OK);
    CHECK_EQ_I64(pt_set(&sb, t->agent_id, t->master_id, type, 0, 0).result,
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(pt_set(&sb, t->agent_id, t->agent_id, type, 0, 0).result,
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(pt_set(&sb, t->agent_id, t->member_id, type, 0, 0).result,
                 REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, MARKET_TYPE_COUNT, 0, 0).result,
                 REJECT_MARKET_TYPE_INVALID);
    CHECK_EQ_I64(sb.fx.engine.accounts[t->agent_id].pt_share_bp[type], 3000);
    CHECK_EQ_I64(sb.fx.engine.accounts[t->agent_id].pt_max_bp[type], 5000);
    CHECK_EQ_I64(sb.fx.engine.accounts[t->master_id].pt_share_bp[type], 2000);
    CHECK_EQ_I64(sb.fx.engine.accounts[t->agent_id].pt_share_bp[MARKET_TYPE_1X2], 0);

    /* The shares apply to handicap markets only; a 1X2 bet goes whole to
     * the house. */
    uint32_t handicap = market_handicap(&sb, sb.event_id, 2000, 2000);
    uint32_t x12 = market_1x2(&sb, 2000, 3000, 4000);
    CHECK_EQ_I64(bet(&sb, handicap, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 2000, 1000, 4000));
    CHECK_EQ_I64(bet(&sb, x12, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 0, 0, 0, 10000));
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(pt_shares_frozen_in_bet)
{
    struct sb sb;
    sb_init(&sb);
    const struct fixture_tree *t = &sb.tree;
    pt_chain(&sb, 1000, 2000, 3000, 5000);
    uint32_t market = market_handicap(&sb, sb.event_id, 2000, 2000);
    struct outcome o = bet(&sb, market, 0, 2000, 10000);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 2000);
    CHECK_EQ_I64(sb.fx.event_count, 1);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_ACCEPTED), 1);
    const struct event *e = fixture_event(&sb.fx, EVENT_BET_ACCEPTED, 0);
    CHECK_EQ_I64(e->id, o.id);
    CHECK_EQ_I64(e->account_id, t->member_id);
    CHECK_EQ_I64(e->u.bet.market_id, market);
    CHECK_EQ_I64(e->u.bet.stake_minor, 10000);
    CHECK_EQ_I64(e->u.bet.odds_milli, 2000);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 2000, 1000, 4000));

    /* Every level changes its auto PT; the open bet keeps its vector. */
    const uint8_t type = MARKET_TYPE_HANDICAP;
    CHECK_EQ_I64(pt_set(&sb, 0, t->super_id, type, 0, 10000).result, RESULT_OK);
    CHECK_EQ_I64(pt_set(&sb, t->super_id, t->master_id, type, 500, 10000).result, RESULT_OK);
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, type, 1000, 5000).result, RESULT_OK);
    struct outcome o2 = bet(&sb, market, 0, 2000, 10000);
    CHECK_EQ_I64(o2.result, RESULT_OK);
    CHECK_EQ_I64(o2.id, o.id + 1);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 1000, 500, 0, 8500));
    CHECK(fixture_check(&sb.fx) == 0);

    /* Both win 10 000: the first bet splits 3000/2000/1000/4000, the
     * second 1000/500/0/8500. */
    struct balances before = balances_of(&sb);
    o = settle(&sb, market, BET_RESULT_WIN, BET_RESULT_LOSE, 0);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 2);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_SETTLED), 2);
    CHECK(shares_are(&sb, EVENT_BET_SETTLED, 0, 3000, 2000, 1000, 4000));
    CHECK(shares_are(&sb, EVENT_BET_SETTLED, 1, 1000, 500, 0, 8500));
    CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_BET_SETTLED, 0)->u.bet.payout_minor, 10000);
    CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_BET_SETTLED, 1)->u.bet.payout_minor, 10000);
    CHECK(deltas_are(&sb, &before, 20000, -4000, -2500, -1000, -12500));
    CHECK_EQ_I64(STAKE_OPEN(&sb, t->member_id), 0);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(pt_capped_going_up)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 3000, 5000, 6000, 10000);
    uint32_t market = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, market, 1, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 6000, 4000, 0, 0));
    /* Only the agent and the master carry exposure entries. */
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, sb.tree.agent_id, market), 600);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, sb.tree.master_id, market), 400);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, sb.tree.super_id, market), 0);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, 0, market), 0);
    CHECK(exposure_find(&sb.fx.engine, sb.tree.super_id, market) == INDEX_NONE);
    CHECK(exposure_find(&sb.fx.engine, 0, market) == INDEX_NONE);
    struct balances before = balances_of(&sb);
    CHECK_EQ_I64(settle(&sb, market, BET_RESULT_LOSE, BET_RESULT_LOSE, 0).result, RESULT_OK);
    CHECK(deltas_are(&sb, &before, -1000, 600, 400, 0, 0));
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* ---- Settlement. ---- */

struct settle_case {
    uint16_t agent_bp, master_bp, super_bp;
    int32_t odds_milli;
    uint8_t result;       /* of selection 0, where the bet is */
    int64_t payout_minor; /* the member's change */
    int64_t level_minor[4]; /* agent, master, super, house changes */
};

/* One bet of 1001 minor on selection 0 of a handicap market, settled. */
static const struct settle_case settle_cases[] = {
    {3000, 2000, 1000, 1950, BET_RESULT_WIN, 950, {-285, -190, -95, -380}},
    {3000, 2000, 1000, 1950, BET_RESULT_LOSE, -1001, {300, 200, 100, 401}},
    {3000, 2000, 1000, 1950, BET_RESULT_VOID, 0, {0, 0, 0, 0}},
    {3000, 2000, 1000, 1950, BET_RESULT_HALF_WIN, 475, {-142, -95, -47, -191}},
    {3000, 2000, 1000, 1950, BET_RESULT_HALF_LOSE, -500, {150, 100, 50, 200}},
    {3333, 2222, 1111, 1957, BET_RESULT_WIN, 957, {-318, -212, -106, -321}},
    {3333, 2222, 1111, 1957, BET_RESULT_LOSE, -1001, {333, 222, 111, 335}},
    {3333, 2222, 1111, 1957, BET_RESULT_VOID, 0, {0, 0, 0, 0}},
    {3333, 2222, 1111, 1957, BET_RESULT_HALF_WIN, 478, {-159, -106, -53, -160}},
    {3333, 2222, 1111, 1957, BET_RESULT_HALF_LOSE, -500, {166, 111, 55, 168}},
};

static uint8_t result_opposite(uint8_t result)
{
    switch (result) {
    case BET_RESULT_WIN: return BET_RESULT_LOSE;
    case BET_RESULT_LOSE: return BET_RESULT_WIN;
    case BET_RESULT_HALF_WIN: return BET_RESULT_HALF_LOSE;
    case BET_RESULT_HALF_LOSE: return BET_RESULT_HALF_WIN;
    default: return BET_RESULT_VOID;
    }
}

TEST(settle_every_result)
{
    uint32_t count = sizeof settle_cases / sizeof settle_cases[0];
    for (uint32_t i = 0; i < count; i++) {
        const struct settle_case *k = &settle_cases[i];
        struct sb sb;
        sb_init(&sb);
        pt_chain(&sb, k->super_bp, k->master_bp, k->agent_bp, 10000);
        uint32_t market = market_handicap(&sb, sb.event_id, k->odds_milli, 1900);
        CHECK_EQ_I64(bet(&sb, market, 0, k->odds_milli, 1001).result, RESULT_OK);
        CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, k->agent_bp, k->master_bp, k->super_bp,
                         (uint16_t)(10000 - k->agent_bp - k->master_bp - k->super_bp)));
        CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 1001);
        CHECK_EQ_I64(sb.fx.engine.markets[market].stake_total_minor, 1001);
        struct balances before = balances_of(&sb);
        struct outcome o = settle(&sb, market, k->result, result_opposite(k->result), 0);
        CHECK_EQ_I64(o.result, RESULT_OK);
        CHECK_EQ_I64(o.id, market);
        CHECK_EQ_I64(o.value, 1);
        CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_SETTLED), 1);
        const struct event *e = fixture_event(&sb.fx, EVENT_BET_SETTLED, 0);
        CHECK_EQ_I64(e->code, k->result);
        CHECK_EQ_I64(e->u.bet.payout_minor, k->payout_minor);
        CHECK_EQ_I64(e->u.bet.stake_minor, 1001);
        CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_ODDS), 1);
        CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_ODDS, 0)->code, MARKET_STATUS_SETTLED);
        CHECK(deltas_are(&sb, &before, k->payout_minor, k->level_minor[0], k->level_minor[1],
                         k->level_minor[2], k->level_minor[3]));
        CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 0);
        CHECK_EQ_I64(sb.fx.engine.markets[market].stake_total_minor, 0);
        CHECK_EQ_I64(sb.fx.engine.markets[market].bet_count, 0);
        CHECK_EQ_I64(sb.fx.engine.bet_pool.free_count, sb.fx.engine.limits.bets_max);
        CHECK_EQ_I64(sb.fx.engine.exposure_pool.free_count, sb.fx.engine.limits.exposures_max);
        CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, sb.tree.agent_id, market), 0);
        CHECK(fixture_check(&sb.fx) == 0);
        fixture_free(&sb.fx);
    }
}

/* Bets on both sides, settled together: each bet pays by its own result. */
TEST(settle_both_sides)
{
    /* Selection 0 at 1950 and selection 1 at 1957, 1001 each; the member's
     * and levels' changes are the sums of the two single-bet cases. */
    static const struct {
        uint8_t r0;
        int64_t minor[5]; /* member, agent, master, super, house */
    } cases[] = {
        {BET_RESULT_WIN, {-51, 15, 10, 5, 21}},
        {BET_RESULT_LOSE, {-44, 13, 9, 5, 17}},
        {BET_RESULT_VOID, {0, 0, 0, 0, 0}},
        {BET_RESULT_HALF_WIN, {-25, 8, 5, 3, 9}},
        {BET_RESULT_HALF_LOSE, {-22, 7, 5, 3, 7}},
    };
    for (uint32_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sb sb;
        sb_init(&sb);
        pt_chain(&sb, 1000, 2000, 3000, 10000);
        uint32_t market = market_handicap(&sb, sb.event_id, 1950, 1957);
        CHECK_EQ_I64(bet(&sb, market, 0, 1950, 1001).result, RESULT_OK);
        CHECK_EQ_I64(bet(&sb, market, 1, 1957, 1001).result, RESULT_OK);
        CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 2002);
        CHECK(fixture_check(&sb.fx) == 0);
        struct balances before = balances_of(&sb);
        uint8_t r1 = result_opposite(cases[i].r0);
        CHECK_EQ_I64(settle(&sb, market, cases[i].r0, r1, 0).result, RESULT_OK);
        CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_SETTLED), 2);
        CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_BET_SETTLED, 0)->code, cases[i].r0);
        CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_BET_SETTLED, 1)->code, r1);
        CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_BET_SETTLED, 1)->u.bet.selection, 1);
        const int64_t *m = cases[i].minor;
        CHECK(deltas_are(&sb, &before, m[0], m[1], m[2], m[3], m[4]));
        CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 0);
        CHECK(fixture_check(&sb.fx) == 0);
        fixture_free(&sb.fx);
    }
}

TEST(settle_rejects)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    uint32_t x12 = market_1x2(&sb, 2000, 3000, 4000);
    uint32_t handicap = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, x12, 1, 3000, 1000).result, RESULT_OK);
    struct balances before = balances_of(&sb);
    CHECK_EQ_I64(settle(&sb, x12, BET_RESULT_HALF_WIN, BET_RESULT_LOSE, BET_RESULT_LOSE).result,
                 REJECT_RESULT_INVALID);
    CHECK_EQ_I64(settle(&sb, x12, BET_RESULT_LOSE, BET_RESULT_LOSE, BET_RESULT_HALF_LOSE).result,
                 REJECT_RESULT_INVALID);
    CHECK_EQ_I64(settle(&sb, x12, BET_RESULT_LOSE, BET_RESULT_COUNT, BET_RESULT_LOSE).result,
                 REJECT_RESULT_INVALID);
    CHECK_EQ_I64(settle(&sb, handicap, BET_RESULT_WIN, 200, 0).result, REJECT_RESULT_INVALID);
    CHECK_EQ_I64(settle(&sb, 99, BET_RESULT_WIN, BET_RESULT_LOSE, 0).result,
                 REJECT_MARKET_UNKNOWN);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_SETTLED), 0);
    CHECK(deltas_are(&sb, &before, 0, 0, 0, 0, 0));
    CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 1000);
    CHECK_EQ_I64(sb.fx.engine.markets[x12].status, MARKET_STATUS_OPEN);

    /* Selection 1 (draw) wins at 3.000: +2000 for the member. */
    struct outcome o = settle(&sb, x12, BET_RESULT_LOSE, BET_RESULT_WIN, BET_RESULT_LOSE);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK(deltas_are(&sb, &before, 2000, -600, -400, -200, -800));
    before = balances_of(&sb);
    CHECK_EQ_I64(settle(&sb, x12, BET_RESULT_LOSE, BET_RESULT_WIN, BET_RESULT_LOSE).result,
                 REJECT_MARKET_SETTLED);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_SETTLED), 0);
    CHECK(deltas_are(&sb, &before, 0, 0, 0, 0, 0));
    CHECK_EQ_I64(bet(&sb, x12, 1, 3000, 1000).result, REJECT_MARKET_NOT_OPEN);
    CHECK_EQ_I64(set_odds(&sb, x12, 2000, 2000, 2000).result, REJECT_MARKET_SETTLED);
    CHECK_EQ_I64(set_status(&sb, x12, MARKET_STATUS_OPEN).result, REJECT_MARKET_SETTLED);
    /* Only the house or an operator settles. */
    struct command c = fixture_command(COMMAND_MARKET_SETTLE, sb.tree.super_id);
    c.u.market_settle.market_id = handicap;
    CHECK_EQ_I64(fixture_apply(&sb.fx, &c).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(sb.fx.engine.markets[handicap].status, MARKET_STATUS_OPEN);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* A handicap market has two selections: whatever sits in the third
 * result slot is no result, and must not be kept where the snapshot codec
 * would refuse it. */
TEST(settle_unused_result_slot)
{
    struct sb sb;
    sb_init(&sb);
    uint32_t market = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 1000).result, RESULT_OK);
    CHECK_EQ_I64(settle(&sb, market, BET_RESULT_WIN, BET_RESULT_LOSE, 0xEE).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.markets[market].results[0], BET_RESULT_WIN);
    CHECK_EQ_I64(sb.fx.engine.markets[market].results[1], BET_RESULT_LOSE);
    CHECK(sb.fx.engine.markets[market].results[2] < BET_RESULT_COUNT);
    size_t size = snapshot_size(&sb.fx.engine);
    uint8_t *buffer = malloc(size);
    CHECK(buffer != NULL);
    size_t length = 0;
    int rv = snapshot_encode(&sb.fx.engine, buffer, size, &length);
    struct engine copy;
    struct limits limits;
    fixture_limits(&limits);
    int rv_init = engine_init(&copy, &limits);
    char errmsg[256] = "";
    int rv_decode = rv == 0 && rv_init == 0
                        ? snapshot_decode(&copy, buffer, length, errmsg, sizeof errmsg)
                        : -1;
    if (rv_decode != 0)
        fprintf(stderr, "  snapshot_decode: %s\n", errmsg);
    struct digest d1, d2;
    memset(&d2, 0, sizeof d2);
    engine_digest(&sb.fx.engine, &d1);
    if (rv_decode == 0)
        engine_digest(&copy, &d2);
    free(buffer);
    if (rv_init == 0)
        engine_free(&copy);
    fixture_free(&sb.fx);
    CHECK_EQ_I64(rv, 0);
    CHECK_EQ_I64(rv_decode, 0);
    CHECK(d1.high == d2.high && d1.low == d2.low);
}

/* ---- One price and one result per selection (logic version 3). ---- */

static void sb_logic(struct sb *sb, uint32_t version)
{
    struct command c = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    c.u.activate_logic.logic_version = version;
    fixture_ok(&sb->fx, &c);
}

static struct outcome settle_n(struct sb *sb, uint32_t market_id, uint8_t count, uint8_t r0,
                               uint8_t r1, uint8_t r2)
{
    struct command c = fixture_command(COMMAND_MARKET_SETTLE, sb->tree.operator_id);
    c.u.market_settle.market_id = market_id;
    c.u.market_settle.results[0] = r0;
    c.u.market_settle.results[1] = r1;
    c.u.market_settle.results[2] = r2;
    c.u.market_settle.result_count = count;
    return fixture_apply(&sb->fx, &c);
}

static struct outcome set_odds_n(struct sb *sb, uint32_t market_id, uint8_t count,
                                 const int32_t odds_milli[3])
{
    struct command c = fixture_command(COMMAND_MARKET_SET_ODDS, sb->tree.operator_id);
    c.u.market_set_odds.market_id = market_id;
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++)
        c.u.market_set_odds.odds_milli[s] = odds_milli[s];
    c.u.market_set_odds.odds_count = count;
    return fixture_apply(&sb->fx, &c);
}

static struct outcome market_n(struct sb *sb, uint8_t type, uint8_t count,
                               const int32_t odds_milli[3])
{
    struct command c = fixture_command(COMMAND_MARKET_CREATE, sb->tree.operator_id);
    c.u.market_create.sport_event_id = sb->event_id;
    c.u.market_create.market_type = type;
    c.u.market_create.line_quarters = type == MARKET_TYPE_1X2 ? 0 : 2;
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++)
        c.u.market_create.odds_milli[s] = odds_milli[s];
    c.u.market_create.stake_min_minor = 1;
    c.u.market_create.stake_max_minor = 1000000;
    c.u.market_create.odds_count = count;
    return fixture_apply(&sb->fx, &c);
}

/* Before logic 3 a settlement cannot tell "no result" from "lose": two
 * results on a 1X2 market settle the third selection as a loss. That
 * stays so for old logs. */
TEST(settle_short_before_logic_3)
{
    struct sb sb;
    sb_init(&sb);
    uint32_t market = market_1x2(&sb, 2000, 3000, 4000);
    CHECK_EQ_I64(bet(&sb, market, 2, 4000, 1000).result, RESULT_OK);
    int64_t before = BALANCE(&sb, sb.tree.member_id);
    CHECK_EQ_I64(settle_n(&sb, market, 2, BET_RESULT_WIN, BET_RESULT_LOSE, 0).result, RESULT_OK);
    CHECK_EQ_I64(BALANCE(&sb, sb.tree.member_id), before - 1000);
    const int32_t three[3] = {2000, 2000, 3000};
    uint32_t handicap = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(set_odds_n(&sb, handicap, 3, three).result, RESULT_OK);
    CHECK_EQ_I64(market_n(&sb, MARKET_TYPE_HANDICAP, 3, three).result, RESULT_OK);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(settle_one_result_per_selection_from_logic_3)
{
    struct sb sb;
    sb_init(&sb);
    uint32_t market = market_1x2(&sb, 2000, 3000, 4000); /* created under logic 1 */
    uint32_t handicap = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, market, 2, 4000, 1000).result, RESULT_OK);
    sb_logic(&sb, 3);
    int64_t before = BALANCE(&sb, sb.tree.member_id);
    struct outcome o = settle_n(&sb, market, 2, BET_RESULT_WIN, BET_RESULT_LOSE, 0);
    CHECK_EQ_I64(o.result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(o.value, 3); /* what the market needs */
    /* A command of the first form says no count: refused too. */
    CHECK_EQ_I64(settle_n(&sb, market, 0, BET_RESULT_WIN, BET_RESULT_LOSE, 0).result,
                 REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(BALANCE(&sb, sb.tree.member_id), before);
    CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 1000);
    CHECK_EQ_I64(sb.fx.engine.markets[market].status, MARKET_STATUS_OPEN);
    o = settle_n(&sb, market, 3, BET_RESULT_LOSE, BET_RESULT_LOSE, BET_RESULT_WIN);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(BALANCE(&sb, sb.tree.member_id), before + 3000);

    /* A two-way market: one result is too few, three too many, and a slot
     * past the count must be empty. */
    CHECK_EQ_I64(settle_n(&sb, handicap, 1, BET_RESULT_WIN, 0, 0).result,
                 REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(settle_n(&sb, handicap, 3, BET_RESULT_WIN, 0, 0).result,
                 REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(settle_n(&sb, handicap, 2, BET_RESULT_WIN, 0, 0xEE).result,
                 REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(settle_n(&sb, handicap, 2, BET_RESULT_HALF_WIN, BET_RESULT_HALF_LOSE, 0).result,
                 RESULT_OK);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(odds_one_price_per_selection_from_logic_3)
{
    struct sb sb;
    sb_init(&sb);
    uint32_t handicap = market_handicap(&sb, sb.event_id, 2000, 2000);
    sb_logic(&sb, 3);
    const int32_t two[3] = {1910, 1950, 0};
    const int32_t three[3] = {1910, 1950, 3000};
    uint32_t events = fixture_count(&sb.fx, EVENT_ODDS);
    struct outcome o = set_odds_n(&sb, handicap, 3, three);
    CHECK_EQ_I64(o.result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(o.value, 2);
    CHECK_EQ_I64(set_odds_n(&sb, handicap, 2, three).result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(set_odds_n(&sb, handicap, 0, two).result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(set_odds_n(&sb, handicap, 1, two).result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_ODDS), events);
    CHECK_EQ_I64(sb.fx.engine.markets[handicap].odds_milli[0], 2000);
    CHECK_EQ_I64(set_odds_n(&sb, handicap, 2, two).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.markets[handicap].odds_milli[1], 1950);

    uint32_t markets = sb.fx.engine.market_count;
    o = market_n(&sb, MARKET_TYPE_OVER_UNDER, 3, three);
    CHECK_EQ_I64(o.result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(o.value, 2);
    CHECK_EQ_I64(market_n(&sb, MARKET_TYPE_1X2, 2, two).result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(market_n(&sb, MARKET_TYPE_1X2, 0, three).result, REJECT_SELECTION_COUNT);
    CHECK_EQ_I64(sb.fx.engine.market_count, markets);
    CHECK_EQ_I64(market_n(&sb, MARKET_TYPE_OVER_UNDER, 2, two).result, RESULT_OK);
    CHECK_EQ_I64(market_n(&sb, MARKET_TYPE_1X2, 3, three).result, RESULT_OK);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* ---- Odds and status. ---- */

/* Extreme stakes are refused without overflowing (under UBSan, which make
 * test runs, INT64_MIN overflowed the exposure check before issue 14);
 * the answers are the ones earlier builds gave. */
TEST(extreme_stakes)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    uint32_t market = market_1x2(&sb, 2000, 3000, 4000);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, INT64_MIN).result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, INT64_MIN + 1).result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, INT64_MAX).result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, -1).result, REJECT_STAKE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 0).result, REJECT_STAKE_LIMIT);
    CHECK_EQ_I64(sb.fx.event_count, 0);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(odds_checks)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    uint32_t market = market_1x2(&sb, 2000, 3000, 4000);
    uint32_t member = sb.tree.member_id;
    /* Seen lower than current: better for the member, only if accepted. */
    CHECK_EQ_I64(bet_full(&sb, member, market, 0, 1900, 1000, 0).result, REJECT_ODDS_CHANGED);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_ACCEPTED), 0);
    CHECK_EQ_I64(sb.fx.event_count, 0);
    struct outcome o = bet_full(&sb, member, market, 0, 1900, 1000, 1);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 2000);
    CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_BET_ACCEPTED, 0)->u.bet.odds_milli, 2000);
    /* Seen higher than current: never, flag or not. */
    CHECK_EQ_I64(bet_full(&sb, member, market, 1, 3001, 1000, 1).result, REJECT_ODDS_CHANGED);
    CHECK_EQ_I64(bet_full(&sb, member, market, 1, 3001, 1000, 0).result, REJECT_ODDS_CHANGED);
    CHECK_EQ_I64(bet(&sb, market, 1, 1000, 1000).result, REJECT_ODDS_INVALID);
    CHECK_EQ_I64(bet(&sb, market, 1, 1000001, 1000).result, REJECT_ODDS_INVALID);
    CHECK_EQ_I64(bet(&sb, market, 3, 4000, 1000).result, REJECT_SELECTION_INVALID);
    CHECK_EQ_I64(bet(&sb, market + 1, 0, 2000, 1000).result, REJECT_MARKET_UNKNOWN);

    /* New odds: the old ones are stale either way. */
    CHECK_EQ_I64(set_odds(&sb, market, 2100, 2900, 1000).result, REJECT_ODDS_INVALID);
    CHECK_EQ_I64(set_odds(&sb, market + 1, 2100, 2900, 4000).result, REJECT_MARKET_UNKNOWN);
    o = set_odds(&sb, market, 2100, 2900, 4000);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_ODDS), 1);
    CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_ODDS, 0)->u.odds.odds_milli[1], 2900);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 1000).result, REJECT_ODDS_CHANGED);
    CHECK_EQ_I64(bet(&sb, market, 1, 3000, 1000).result, REJECT_ODDS_CHANGED);
    CHECK_EQ_I64(bet_full(&sb, member, market, 1, 3000, 1000, 1).result, REJECT_ODDS_CHANGED);
    o = bet_full(&sb, member, market, 0, 2000, 1000, 1);
    CHECK_EQ_I64(o.value, 2100);
    CHECK_EQ_I64(bet(&sb, market, 1, 2900, 1000).value, 2900);
    CHECK_EQ_I64(STAKE_OPEN(&sb, member), 3000);

    /* Suspended: no bets, but odds may still move; resumed: bets again. */
    o = set_status(&sb, market, MARKET_STATUS_SUSPENDED);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(fixture_event(&sb.fx, EVENT_ODDS, 0)->code, MARKET_STATUS_SUSPENDED);
    CHECK_EQ_I64(bet(&sb, market, 1, 2900, 1000).result, REJECT_MARKET_NOT_OPEN);
    CHECK_EQ_I64(set_status(&sb, market, MARKET_STATUS_SETTLED).result, REJECT_STATUS_INVALID);
    CHECK_EQ_I64(set_status(&sb, market + 1, MARKET_STATUS_OPEN).result, REJECT_MARKET_UNKNOWN);
    CHECK_EQ_I64(set_odds(&sb, market, 2100, 2800, 4000).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.markets[market].status, MARKET_STATUS_SUSPENDED);
    CHECK_EQ_I64(set_status(&sb, market, MARKET_STATUS_OPEN).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, market, 1, 2900, 1000).result, REJECT_ODDS_CHANGED);
    CHECK_EQ_I64(bet(&sb, market, 1, 2800, 1000).result, RESULT_OK);
    CHECK_EQ_I64(STAKE_OPEN(&sb, member), 4000);

    /* A handicap market has no third selection. */
    uint32_t handicap = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, handicap, 2, 2000, 1000).result, REJECT_SELECTION_INVALID);
    CHECK_EQ_I64(bet(&sb, handicap, 255, 2000, 1000).result, REJECT_SELECTION_INVALID);
    /* Only members bet. */
    CHECK_EQ_I64(bet_full(&sb, sb.tree.agent_id, handicap, 0, 2000, 1000, 0).result,
                 REJECT_NOT_AUTHORIZED);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* ---- Stakes and credit. ---- */

TEST(stake_limits)
{
    struct sb sb;
    sb_init(&sb);
    const int32_t odds[3] = {2000, 2000, 0};
    uint32_t market = (uint32_t)market_try(&sb, sb.event_id, MARKET_TYPE_HANDICAP, 0, odds, 100,
                                           100000).id;
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 99).result, REJECT_STAKE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 0).result, REJECT_STAKE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, -100).result, REJECT_STAKE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 100001).result, REJECT_STAKE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 100).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 100000).result, RESULT_OK);
    CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 100100);

    /* The agent caps its member's stake; the member cannot lift it. */
    const struct fixture_tree *t = &sb.tree;
    CHECK_EQ_I64(set_limits(&sb, t->member_id, t->member_id, 0, 0).result,
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(set_limits(&sb, t->agent_id, t->member_id, -1, 0).result,
                 REJECT_AMOUNT_INVALID);
    CHECK_EQ_I64(set_limits(&sb, t->agent_id, t->member_id, 5000, 0).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.accounts[t->member_id].bet_stake_max_minor, 5000);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 5001).result, REJECT_STAKE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 1, 2000, 5000).result, RESULT_OK);
    CHECK_EQ_I64(set_limits(&sb, t->master_id, t->member_id, 0, 0).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 5001).result, RESULT_OK);
    CHECK_EQ_I64(STAKE_OPEN(&sb, t->member_id), 110101);
    CHECK_EQ_I64(sb.fx.engine.markets[market].bet_count, 4);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(credit_and_funds)
{
    struct sb sb;
    sb_init(&sb);
    uint32_t market = market_handicap(&sb, sb.event_id, 2000, 2000);
    uint32_t broke = fixture_account(&sb.fx, 0, sb.tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
    CHECK_EQ_I64(engine_available_minor(&sb.fx.engine, broke), 0);
    CHECK_EQ_I64(bet_full(&sb, broke, market, 0, 2000, 1, 0).result, REJECT_FUNDS_INSUFFICIENT);
    fixture_deposit(&sb.fx, broke, 300);
    CHECK_EQ_I64(bet_full(&sb, broke, market, 0, 2000, 301, 0).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(bet_full(&sb, broke, market, 0, 2000, 300, 0).result, RESULT_OK);
    CHECK_EQ_I64(engine_available_minor(&sb.fx.engine, broke), 0);
    CHECK_EQ_I64(bet_full(&sb, broke, market, 1, 2000, 1, 0).result, REJECT_FUNDS_INSUFFICIENT);

    /* On credit: 5000 of credit, no cash. */
    uint32_t credit = fixture_account(&sb.fx, 0, sb.tree.agent_id, ACCOUNT_KIND_MEMBER, 5000);
    CHECK_EQ_I64(bet_full(&sb, credit, market, 0, 2000, 5001, 0).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(bet_full(&sb, credit, market, 0, 2000, 3000, 0).result, RESULT_OK);
    CHECK_EQ_I64(engine_available_minor(&sb.fx.engine, credit), 2000);
    CHECK_EQ_I64(bet_full(&sb, credit, market, 1, 2000, 2001, 0).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(bet_full(&sb, credit, market, 1, 2000, 2000, 0).result, RESULT_OK);
    CHECK_EQ_I64(engine_available_minor(&sb.fx.engine, credit), 0);
    CHECK(fixture_check(&sb.fx) == 0);

    /* Selection 1 wins: broke loses its 300, credit wins 2000 on
     * selection 1 and loses 3000 on selection 0. */
    CHECK_EQ_I64(settle(&sb, market, BET_RESULT_LOSE, BET_RESULT_WIN, 0).result, RESULT_OK);
    CHECK_EQ_I64(BALANCE(&sb, broke), 0);
    CHECK_EQ_I64(BALANCE(&sb, credit), -1000);
    CHECK_EQ_I64(STAKE_OPEN(&sb, credit), 0);
    CHECK_EQ_I64(engine_available_minor(&sb.fx.engine, credit), 4000);
    CHECK_EQ_I64(engine_available_minor(&sb.fx.engine, broke), 0);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* A resent bet answers its first outcome and holds the stake once. */
TEST(bet_resend_once)
{
    struct sb sb;
    sb_init(&sb);
    uint32_t market = market_handicap(&sb, sb.event_id, 2000, 2000);
    struct command c = fixture_command(COMMAND_BET_PLACE, sb.tree.member_id);
    c.u.bet_place.market_id = market;
    c.u.bet_place.odds_milli = 2000;
    c.u.bet_place.stake_minor = 700;
    struct outcome first = fixture_apply(&sb.fx, &c);
    CHECK_EQ_I64(first.result, RESULT_OK);
    struct outcome again = fixture_apply(&sb.fx, &c);
    CHECK_EQ_I64(again.result, RESULT_OK);
    CHECK_EQ_I64(again.duplicate, 1);
    CHECK_EQ_I64(again.id, first.id);
    CHECK_EQ_I64(again.value, 2000);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_ACCEPTED), 0);
    CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 700);
    CHECK_EQ_I64(sb.fx.engine.markets[market].bet_count, 1);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* ---- Exposure. ---- */

TEST(exposure_by_hand)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    const struct fixture_tree *t = &sb.tree;
    const uint32_t levels[4] = {t->agent_id, t->master_id, t->super_id, 0};
    uint32_t market = market_1x2(&sb, 2000, 3000, 4000);
    /* loss(s) = liability(s) - stakes kept on the other selections; the
     * exposure is the worst of them. After each bet, per level: */
    static const struct {
        uint8_t selection;
        int32_t odds_milli;
        int64_t stake_minor;
        int64_t exposure_minor[4];
    } steps[] = {
        {0, 2000, 10000, {3000, 2000, 1000, 4000}},
        {1, 3000, 5000, {1500, 1000, 500, 2000}}, /* selection 0 still worst */
        {2, 4000, 2000, {900, 600, 300, 1200}},
        {0, 2000, 1001, {1200, 800, 400, 1601}},  /* 1001: 300/200/100/401 */
        {2, 4000, 333, {1101, 734, 367, 1466}},   /* wins 999, floors */
    };
    for (uint32_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        CHECK_EQ_I64(bet(&sb, market, steps[i].selection, steps[i].odds_milli,
                         steps[i].stake_minor).result, RESULT_OK);
        for (uint32_t level = 0; level < 4; level++)
            CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, levels[level], market),
                         steps[i].exposure_minor[level]);
    }
    const struct exposure *agent =
        &sb.fx.engine.exposures[exposure_find(&sb.fx.engine, t->agent_id, market)];
    CHECK_EQ_I64(agent->win_liability_minor[0], 3300);
    CHECK_EQ_I64(agent->win_liability_minor[2], 2099);
    CHECK_EQ_I64(agent->stake_in_minor[2], 699);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->member_id, market), 0);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, market + 1), 0);
    CHECK(fixture_check(&sb.fx) == 0);

    /* Selection 0 wins: each level loses exactly its exposure. */
    struct balances before = balances_of(&sb);
    CHECK_EQ_I64(settle(&sb, market, BET_RESULT_WIN, BET_RESULT_LOSE, BET_RESULT_LOSE).result,
                 RESULT_OK);
    CHECK(deltas_are(&sb, &before, 11001 - 7333, -1101, -734, -367, -1466));
    for (uint32_t level = 0; level < 4; level++)
        CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, levels[level], market), 0);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(exposure_limit_agent_and_hedge)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    const struct fixture_tree *t = &sb.tree;
    uint32_t market = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(set_limits(&sb, t->agent_id, t->agent_id, 0, 3000).result,
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(set_limits(&sb, t->master_id, t->agent_id, 0, 3000).result, RESULT_OK);
    /* Exactly at the limit is allowed; one minor of liability over is not. */
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 10000).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, market), 3000);
    struct balances before = balances_of(&sb);
    struct outcome o = bet(&sb, market, 0, 2000, 4);
    CHECK_EQ_I64(o.result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_ACCEPTED), 0);
    CHECK_EQ_I64(STAKE_OPEN(&sb, t->member_id), 10000);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, market), 3000);
    /* Stake 3 wins 3; the agent's part is floor(0.9) = 0: no change. */
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 3).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, market), 3000);

    /* The other side hedges: agent liability 3000 / 1200, kept 3000 /
     * 1200 (plus the 0 of stake 3), worst loss 3000 - 1200 = 1800. */
    CHECK_EQ_I64(bet(&sb, market, 1, 2000, 4000).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, market), 1800);
    /* Now the master lowers the limit below what the agent carries. */
    CHECK_EQ_I64(set_limits(&sb, t->master_id, t->agent_id, 0, 1000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 100).result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 1, 2000, 20000).result, REJECT_EXPOSURE_LIMIT);
    /* A hedge that lowers the worst loss (1800 -> 1500) is accepted even
     * though 1500 is still over 1000. */
    o = bet(&sb, market, 1, 2000, 1000);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, market), 1500);
    /* A hedge that overshoots: loss(1) = 1500 + 3000 - 3000 = 1500, not
     * above before (1500): still accepted, the worst did not grow. */
    CHECK_EQ_I64(bet(&sb, market, 1, 2000, 10000).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, market), 1500);
    CHECK_EQ_I64(bet(&sb, market, 1, 2000, 10).result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->master_id, market), 1000);
    CHECK_EQ_I64(STAKE_OPEN(&sb, t->member_id), 25003);
    CHECK(deltas_are(&sb, &before, 0, 0, 0, 0, 0));
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(exposure_limit_house)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    uint32_t market = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(set_limits(&sb, sb.tree.operator_id, 0, 0, 4000).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.accounts[0].exposure_limit_minor, 4000);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 10000).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, 0, market), 4000);
    /* Stake 1 wins 1, which the house takes whole (the levels floor to
     * 0): 4001 is over. */
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 1).result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(bet(&sb, market, 1, 2000, 1).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, 0, market), 3999);
    CHECK_EQ_I64(bet(&sb, market, 0, 2000, 1).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, 0, market), 4000);
    /* A second market is limited on its own. */
    uint32_t other = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, other, 1, 2000, 10001).result, REJECT_EXPOSURE_LIMIT);
    CHECK_EQ_I64(bet(&sb, other, 1, 2000, 10000).result, RESULT_OK);
    CHECK_EQ_I64(set_limits(&sb, 0, 0, 0, 0).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, other, 1, 2000, 10001).result, RESULT_OK);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, 0, other), 8001);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* ---- Manual PT. ---- */

TEST(pt_override_market_and_event)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 5000);
    const struct fixture_tree *t = &sb.tree;
    uint32_t e0 = sb.event_id;
    uint32_t e1 = sb_event(&sb);
    uint32_t m0 = market_handicap(&sb, e0, 2000, 2000);
    const int32_t odds[3] = {2000, 2000, 0};
    uint32_t m1 = (uint32_t)market_try(&sb, e0, MARKET_TYPE_OVER_UNDER, 10, odds, 1, 9999).id;
    uint32_t m2 = market_handicap(&sb, e1, 2000, 2000);
    struct outcome o = pt_override(&sb, t->agent_id, e0, m0, 4500);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 4500);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4500, 2000, 1000, 2500));
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, m0, 5001).result, REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, m0, 10001).result, REJECT_SHARE_INVALID);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4500, 2000, 1000, 2500));

    /* The whole event: every market of e0, none of e1; m0's own wins. */
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, INDEX_NONE, 4000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m1, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4000, 2000, 1000, 3000));
    CHECK_EQ_I64(bet(&sb, m2, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 2000, 1000, 4000));
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4500, 2000, 1000, 2500));

    /* A ceiling lowered after the override caps it at bet time. */
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, MARKET_TYPE_HANDICAP, 3000, 3500).result,
                 RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3500, 2000, 1000, 3500));
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, MARKET_TYPE_HANDICAP, 3000, 5000).result,
                 RESULT_OK);

    /* Removing: m0 falls back to the event's, then to auto. */
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, m0, PT_SHARE_NONE).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, m0, PT_SHARE_NONE).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4000, 2000, 1000, 3000));
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, INDEX_NONE, PT_SHARE_NONE).result,
                 RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.pt_override_pool.free_count, sb.fx.engine.limits.pt_overrides_max);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 2000, 1000, 4000));
    CHECK_EQ_I64(bet(&sb, m1, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 2000, 1000, 4000));
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(pt_override_rejects)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 5000);
    const struct fixture_tree *t = &sb.tree;
    uint32_t e0 = sb.event_id;
    uint32_t e1 = sb_event(&sb);
    uint32_t m0 = market_handicap(&sb, e0, 2000, 2000);
    uint32_t m1 = market_handicap(&sb, e1, 2000, 2000);
    CHECK_EQ_I64(pt_override(&sb, t->member_id, e0, m0, 100).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(pt_override(&sb, t->operator_id, e0, m0, 100).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(pt_override(&sb, 0, e0, m0, 100).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e1 + 1, INDEX_NONE, 100).result,
                 REJECT_EVENT_UNKNOWN);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, m1, 100).result, REJECT_MARKET_UNKNOWN);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, m1 + 1, 100).result, REJECT_MARKET_UNKNOWN);
    /* The event-wide ceiling is the lowest over the market types. */
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, MARKET_TYPE_1X2, 0, 2000).result,
                 RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, INDEX_NONE, 2001).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e0, INDEX_NONE, 2000).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.limits.pt_overrides_max - sb.fx.engine.pt_override_pool.free_count,
                 1);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e1, m1, 1500).result, RESULT_OK);
    CHECK_EQ_I64(settle(&sb, m1, BET_RESULT_VOID, BET_RESULT_VOID, 0).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e1, m1, 1000).result, REJECT_MARKET_SETTLED);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e1, m1, 0).result, REJECT_MARKET_SETTLED);
    CHECK_EQ_I64(sb.fx.engine.pt_overrides[pt_override_find(&sb.fx.engine, t->agent_id, e1,
                                                             m1)].share_bp, 1500);
    /* Removing it is still allowed, so the slot is not held for ever. */
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e1, m1, PT_SHARE_NONE).result, RESULT_OK);
    CHECK(pt_override_find(&sb.fx.engine, t->agent_id, e1, m1) == INDEX_NONE);
    CHECK_EQ_I64(sb.fx.engine.limits.pt_overrides_max - sb.fx.engine.pt_override_pool.free_count,
                 1);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(pt_override_upper_levels_capped)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 5000);
    const struct fixture_tree *t = &sb.tree;
    uint32_t m0 = market_handicap(&sb, sb.event_id, 2000, 2000);
    /* The master's own override, within its ceiling of 100 %. */
    CHECK_EQ_I64(pt_override(&sb, t->master_id, sb.event_id, m0, 6000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 6000, 1000, 0));
    /* The super asks for 20 % but only 10 % is left. */
    CHECK_EQ_I64(pt_override(&sb, t->super_id, sb.event_id, m0, 2000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 6000, 1000, 0));
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, sb.event_id, m0, 5000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 5000, 5000, 0, 0));
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* The agent and the master both change their PT on the same market while
 * the member bets: each bet keeps what it met. */
TEST(pt_changes_interleaved)
{
    struct sb sb;
    sb_init(&sb);
    pt_chain(&sb, 1000, 2000, 3000, 5000);
    const struct fixture_tree *t = &sb.tree;
    uint32_t e = sb.event_id;
    uint32_t m = market_handicap(&sb, e, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, m, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 3000, 2000, 1000, 4000));
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e, m, 4000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4000, 2000, 1000, 3000));
    CHECK_EQ_I64(pt_override(&sb, t->master_id, e, m, 3000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4000, 3000, 1000, 2000));
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e, INDEX_NONE, 1000).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e, m, PT_SHARE_NONE).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 1000, 3000, 1000, 5000));
    CHECK_EQ_I64(pt_override(&sb, t->master_id, e, m, 6000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 1000, 6000, 1000, 2000));
    CHECK_EQ_I64(pt_set(&sb, t->master_id, t->agent_id, MARKET_TYPE_HANDICAP, 500, 5000).result,
                 RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, t->agent_id, e, INDEX_NONE, PT_SHARE_NONE).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m, 0, 2000, 1000).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 500, 6000, 1000, 2500));

    /* Each bet wins 1000; the levels pay their frozen tenths. */
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->agent_id, m), 1350);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->master_id, m), 2200);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, t->super_id, m), 600);
    CHECK_EQ_I64(engine_exposure_minor(&sb.fx.engine, 0, m), 1850);
    CHECK(fixture_check(&sb.fx) == 0);
    CHECK_EQ_I64(pt_override(&sb, t->master_id, e, m, 0).result, RESULT_OK);
    struct balances before = balances_of(&sb);
    CHECK_EQ_I64(settle(&sb, m, BET_RESULT_WIN, BET_RESULT_LOSE, 0).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_SETTLED), 6);
    CHECK(shares_are(&sb, EVENT_BET_SETTLED, 3, 1000, 3000, 1000, 5000));
    CHECK(deltas_are(&sb, &before, 6000, -1350, -2200, -600, -1850));
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* A level's exposure sums are bounded by EXPOSURE_TOTAL_MAX_MINOR per
 * selection: three members with the maximum credit (2^52) each bet
 * STAKE_MAX_MINOR (2^34) at odds 1000.000 until refused; the house, which
 * takes 100 % here, is refused at the bound instead of overflowing int64_t
 * (this found the missing bound, under UBSan). */
TEST(exposure_sum_bounded)
{
    struct sb sb;
    struct limits limits;
    fixture_limits(&limits);
    limits.bets_max = 1u << 20;
    sb_init_limits(&sb, &limits);
    const int64_t credit_minor = (int64_t)1 << 52;
    uint32_t super = fixture_account(&sb.fx, 0, 0, ACCOUNT_KIND_SUPER, credit_minor);
    uint32_t master = fixture_account(&sb.fx, 0, super, ACCOUNT_KIND_MASTER, credit_minor);
    uint32_t agent = fixture_account(&sb.fx, 0, master, ACCOUNT_KIND_AGENT, credit_minor);
    const int32_t odds[3] = {1000000, 1000000, 0};
    uint32_t market = (uint32_t)market_try(&sb, sb.event_id, MARKET_TYPE_HANDICAP, 0, odds, 1,
                                           STAKE_MAX_MINOR).id;
    for (int i = 0; i < 3; i++) {
        uint32_t member = fixture_account(&sb.fx, 0, agent, ACCOUNT_KIND_MEMBER, credit_minor);
        struct outcome outcome;
        do
            outcome = bet_full(&sb, member, market, 0, 1000000, STAKE_MAX_MINOR, 0);
        while (outcome.result == RESULT_OK);
        CHECK_EQ_I64(outcome.result, REJECT_EXPOSURE_LIMIT);
    }
    CHECK(engine_exposure_minor(&sb.fx.engine, 0, market) > 0);
    CHECK(engine_exposure_minor(&sb.fx.engine, 0, market) <= EXPOSURE_TOTAL_MAX_MINOR);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

/* ---- Pools. ---- */

TEST(bets_full)
{
    struct sb sb;
    struct limits limits;
    fixture_limits(&limits);
    limits.bets_max = 2;
    sb_init_limits(&sb, &limits);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    uint32_t m0 = market_handicap(&sb, sb.event_id, 2000, 2000);
    uint32_t m1 = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m1, 0, 2000, 100).result, RESULT_OK);
    uint32_t exposures_free = sb.fx.engine.exposure_pool.free_count;
    struct balances before = balances_of(&sb);
    CHECK_EQ_I64(bet(&sb, m0, 1, 2000, 100).result, REJECT_BETS_FULL);
    CHECK_EQ_I64(fixture_count(&sb.fx, EVENT_BET_ACCEPTED), 0);
    CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 200);
    CHECK_EQ_I64(sb.fx.engine.exposure_pool.free_count, exposures_free);
    CHECK_EQ_I64(sb.fx.engine.markets[m0].bet_count, 1);
    CHECK(deltas_are(&sb, &before, 0, 0, 0, 0, 0));
    CHECK(fixture_check(&sb.fx) == 0);
    CHECK_EQ_I64(settle(&sb, m0, BET_RESULT_LOSE, BET_RESULT_WIN, 0).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m1, 1, 2000, 100).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m1, 1, 2000, 100).result, REJECT_BETS_FULL);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(exposures_full)
{
    struct sb sb;
    struct limits limits;
    fixture_limits(&limits);
    limits.exposures_max = 5;
    sb_init_limits(&sb, &limits);
    pt_chain(&sb, 1000, 2000, 3000, 10000);
    uint32_t m0 = market_handicap(&sb, sb.event_id, 2000, 2000);
    uint32_t m1 = market_handicap(&sb, sb.event_id, 2000, 2000);
    /* Each market needs four entries, one per level. */
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.exposure_pool.free_count, 1);
    CHECK_EQ_I64(bet(&sb, m1, 0, 2000, 100).result, REJECT_EXPOSURES_FULL);
    CHECK_EQ_I64(sb.fx.engine.exposure_pool.free_count, 1);
    CHECK_EQ_I64(sb.fx.engine.markets[m1].bet_count, 0);
    CHECK_EQ_I64(STAKE_OPEN(&sb, sb.tree.member_id), 100);
    CHECK_EQ_I64(bet(&sb, m0, 1, 2000, 100).result, RESULT_OK);
    /* With the agent at 100 % a bet on m1 needs one entry only. */
    CHECK_EQ_I64(pt_override(&sb, sb.tree.agent_id, sb.event_id, m1, 10000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m1, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 10000, 0, 0, 0));
    CHECK_EQ_I64(sb.fx.engine.exposure_pool.free_count, 0);
    CHECK(fixture_check(&sb.fx) == 0);
    CHECK_EQ_I64(settle(&sb, m0, BET_RESULT_WIN, BET_RESULT_LOSE, 0).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.exposure_pool.free_count, 4);
    CHECK_EQ_I64(pt_override(&sb, sb.tree.agent_id, sb.event_id, m1, PT_SHARE_NONE).result,
                 RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m1, 1, 2000, 100).result, RESULT_OK);
    CHECK_EQ_I64(sb.fx.engine.exposure_pool.free_count, 1);
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST(overrides_full)
{
    struct sb sb;
    struct limits limits;
    fixture_limits(&limits);
    limits.pt_overrides_max = 1;
    sb_init_limits(&sb, &limits);
    pt_chain(&sb, 1000, 2000, 3000, 5000);
    uint32_t m0 = market_handicap(&sb, sb.event_id, 2000, 2000);
    uint32_t agent = sb.tree.agent_id;
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, m0, 4000).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, m0, 4100).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, INDEX_NONE, 4000).result,
                 REJECT_OVERRIDES_FULL);
    CHECK_EQ_I64(pt_override(&sb, sb.tree.master_id, sb.event_id, m0, 4000).result,
                 REJECT_OVERRIDES_FULL);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4100, 2000, 1000, 2900));
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, m0, PT_SHARE_NONE).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, INDEX_NONE, 4000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m0, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4000, 2000, 1000, 3000));
    CHECK(fixture_check(&sb.fx) == 0);

    /* An override on a market that then settles holds its slot until it
     * is removed; removing frees it for the next market. */
    uint32_t m1 = market_handicap(&sb, sb.event_id, 2000, 2000);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, INDEX_NONE, PT_SHARE_NONE).result,
                 RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, m0, 4200).result, RESULT_OK);
    CHECK_EQ_I64(settle(&sb, m0, BET_RESULT_WIN, BET_RESULT_LOSE, 0).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, m1, 4000).result, REJECT_OVERRIDES_FULL);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, m0, PT_SHARE_NONE).result, RESULT_OK);
    CHECK_EQ_I64(pt_override(&sb, agent, sb.event_id, m1, 4000).result, RESULT_OK);
    CHECK_EQ_I64(bet(&sb, m1, 0, 2000, 100).result, RESULT_OK);
    CHECK(shares_are(&sb, EVENT_BET_ACCEPTED, 0, 4000, 2000, 1000, 3000));
    CHECK(fixture_check(&sb.fx) == 0);
    fixture_free(&sb.fx);
}

TEST_MAIN()
