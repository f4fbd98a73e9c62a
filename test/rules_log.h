/* A fixed log for comparing builds over logic version 3's downline rules:
 * resting and queued orders of members under two agents, open bets with
 * their PT allocation, then what the rules of test_downline_rules.c are
 * about, before or after an activation: accounts and orders named by
 * senders that may not see them (unknown ones and other accounts' alike),
 * a member, then a master, suspended with orders resting below them and
 * resumed, a master's PT ceiling and credit lowered below what its agents
 * and members hold, bets placed after that, and a member closed with an
 * order resting. It uses only commands builds before logic version 3's
 * downline rules had, so the digest it ends with can be computed by an
 * old build and written into a test of a new one: before ACTIVATE_LOGIC 3
 * every build must decide the same.
 *
 * logic: the version the house activates after the orders and bets are
 * in place (0: none).
 */
#ifndef NODOWN_TEST_RULES_LOG_H
#define NODOWN_TEST_RULES_LOG_H

#include "fixture.h"

/* The accounts and objects of the log, for the tests to look at. */
struct rules_log {
    struct fixture_tree tree;
    uint32_t agent2_id;  /* a second agent under the master */
    uint32_t member2_id; /* under agent2 */
    uint32_t member3_id; /* a second member of the first agent */
    uint32_t member4_id; /* no money: it buys on credit, then is closed */
    uint32_t instrument_id;
    uint32_t queued_instrument_id; /* in pre-open: its orders wait */
    uint32_t market_id;            /* 1X2 */
    uint64_t member2_order_id;     /* a resting sell of member2 */
};

static inline struct outcome rules_log_pt(struct fixture *fx, uint32_t sender, uint32_t target,
                                          uint16_t share_bp, uint16_t max_bp)
{
    struct command c = fixture_command(COMMAND_PT_SET, sender);
    c.u.pt_set.account_id = target;
    c.u.pt_set.market_type = MARKET_TYPE_1X2;
    c.u.pt_set.share_bp = share_bp;
    c.u.pt_set.max_bp = max_bp;
    return fixture_apply(fx, &c);
}

static inline struct outcome rules_log_bet(struct fixture *fx, uint32_t member,
                                           uint32_t market_id, int64_t stake_minor)
{
    struct command c = fixture_command(COMMAND_BET_PLACE, member);
    c.u.bet_place.market_id = market_id;
    c.u.bet_place.selection = 0;
    c.u.bet_place.odds_milli = 2000;
    c.u.bet_place.stake_minor = stake_minor;
    return fixture_apply(fx, &c);
}

static inline struct outcome rules_log_status(struct fixture *fx, uint32_t sender,
                                              uint32_t target, enum account_status status)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_STATUS, sender);
    c.u.account_set_status.account_id = target;
    c.u.account_set_status.status = (uint8_t)status;
    return fixture_apply(fx, &c);
}

static inline struct outcome rules_log_credit(struct fixture *fx, uint32_t sender,
                                              uint32_t target, int64_t credit_minor)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_CREDIT, sender);
    c.u.account_set_credit.account_id = target;
    c.u.account_set_credit.credit_limit_minor = credit_minor;
    return fixture_apply(fx, &c);
}

static inline struct outcome rules_log_cancel(struct fixture *fx, uint32_t sender,
                                              uint64_t order_id)
{
    struct command c = fixture_command(COMMAND_ORDER_CANCEL, sender);
    c.u.order_cancel.order_id = order_id;
    return fixture_apply(fx, &c);
}

/* Every member has orders resting or queued, and bets open. */
static inline void rules_log_setup(struct fixture *fx, struct rules_log *log)
{
    struct fixture_tree *tree = &log->tree;
    fixture_tree(fx, tree);
    log->agent2_id = fixture_account(fx, 0, tree->master_id, ACCOUNT_KIND_AGENT, 100000000);
    log->member2_id = fixture_account(fx, 0, log->agent2_id, ACCOUNT_KIND_MEMBER, 100000000);
    log->member3_id = fixture_account(fx, 0, tree->agent_id, ACCOUNT_KIND_MEMBER, 100000000);
    log->member4_id = fixture_account(fx, 0, tree->agent_id, ACCOUNT_KIND_MEMBER, 5000);
    log->instrument_id = fixture_instrument(fx, "ACME");
    log->queued_instrument_id = fixture_instrument(fx, "BETA");
    struct command phase = fixture_command(COMMAND_INSTRUMENT_SET_PHASE, 0);
    phase.u.instrument_set_phase.instrument_id = log->queued_instrument_id;
    phase.u.instrument_set_phase.phase = PHASE_PRE_OPEN;
    fixture_ok(fx, &phase);
    fixture_deposit(fx, tree->member_id, 10000000);
    fixture_deposit(fx, log->member2_id, 10000000);
    fixture_deposit(fx, log->member3_id, 10000000);
    struct command grant = fixture_command(COMMAND_POSITION_GRANT, 0);
    grant.u.position_grant.account_id = log->member2_id;
    grant.u.position_grant.instrument_id = log->instrument_id;
    grant.u.position_grant.quantity = 100;
    fixture_ok(fx, &grant);
    rules_log_pt(fx, 0, tree->super_id, 2000, 10000);
    rules_log_pt(fx, tree->super_id, tree->master_id, 3000, 8000);
    rules_log_pt(fx, tree->master_id, tree->agent_id, 4000, 6000);
    rules_log_pt(fx, tree->master_id, log->agent2_id, 5000, 5000);
    struct command event = fixture_command(COMMAND_SPORT_EVENT_CREATE, 0);
    uint32_t event_id = (uint32_t)fixture_ok(fx, &event).id;
    struct command market = fixture_command(COMMAND_MARKET_CREATE, 0);
    market.u.market_create.sport_event_id = event_id;
    market.u.market_create.market_type = MARKET_TYPE_1X2;
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++)
        market.u.market_create.odds_milli[s] = 2000;
    market.u.market_create.stake_min_minor = 1;
    market.u.market_create.stake_max_minor = 1000000;
    market.u.market_create.odds_count = 3;
    log->market_id = (uint32_t)fixture_ok(fx, &market).id;
    fixture_order(fx, tree->member_id, log->instrument_id, SIDE_BUY, 950, 3, TIF_GTC);
    fixture_order(fx, tree->member_id, log->instrument_id, SIDE_BUY, 940, 2, TIF_DAY);
    log->member2_order_id =
        fixture_order(fx, log->member2_id, log->instrument_id, SIDE_SELL, 1050, 5, TIF_GTC).id;
    fixture_order(fx, log->member3_id, log->instrument_id, SIDE_BUY, 960, 1, TIF_GTC);
    fixture_order(fx, log->member3_id, log->queued_instrument_id, SIDE_BUY, 990, 4, TIF_DAY);
    fixture_order(fx, log->member4_id, log->instrument_id, SIDE_BUY, 930, 1, TIF_GTC);
    rules_log_bet(fx, tree->member_id, log->market_id, 1000);
    rules_log_bet(fx, log->member2_id, log->market_id, 2000);
}

/* Senders naming accounts and orders they may not see, each both an
 * unknown one and another's. */
static inline void rules_log_probe(struct fixture *fx, const struct rules_log *log)
{
    const struct fixture_tree *tree = &log->tree;
    rules_log_cancel(fx, tree->member_id, log->member2_order_id);
    rules_log_cancel(fx, tree->member_id, 999999);
    rules_log_cancel(fx, tree->agent_id, log->member2_order_id);
    struct command replace = fixture_command(COMMAND_ORDER_REPLACE, tree->member_id);
    replace.u.order_replace.order_id = log->member2_order_id;
    replace.u.order_replace.price_ticks = 1040;
    replace.u.order_replace.quantity = 5;
    fixture_apply(fx, &replace);
    replace.u.order_replace.order_id = 999999;
    fixture_apply(fx, &replace);
    const uint32_t targets[2] = {log->member2_id, 9999};
    for (uint32_t i = 0; i < 2; i++) {
        struct command limits = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, tree->agent_id);
        limits.u.account_set_limits.account_id = targets[i];
        fixture_apply(fx, &limits);
        struct command secret = fixture_command(COMMAND_ACCOUNT_SET_SECRET, tree->member_id);
        secret.u.account_set_secret.account_id = targets[i];
        fixture_apply(fx, &secret);
        struct command create = fixture_command(COMMAND_ACCOUNT_CREATE, tree->agent_id);
        create.u.account_create.parent_id = targets[i] == 9999 ? 9999 : log->agent2_id;
        create.u.account_create.kind = ACCOUNT_KIND_MEMBER;
        fixture_apply(fx, &create);
        rules_log_credit(fx, tree->agent_id, targets[i], 1);
        rules_log_pt(fx, tree->agent_id, targets[i], 0, 0);
        rules_log_status(fx, tree->member_id, targets[i], ACCOUNT_STATUS_SUSPENDED);
    }
}

/* Suspensions, lowered ceilings and a close, with business in between. */
static inline void rules_log_changes(struct fixture *fx, const struct rules_log *log)
{
    const struct fixture_tree *tree = &log->tree;
    rules_log_status(fx, tree->agent_id, tree->member_id, ACCOUNT_STATUS_SUSPENDED);
    rules_log_status(fx, tree->agent_id, tree->member_id, ACCOUNT_STATUS_ACTIVE);
    fixture_order(fx, tree->member_id, log->instrument_id, SIDE_BUY, 955, 1, TIF_GTC);
    rules_log_status(fx, tree->super_id, tree->master_id, ACCOUNT_STATUS_SUSPENDED);
    rules_log_status(fx, tree->super_id, tree->master_id, ACCOUNT_STATUS_ACTIVE);
    fixture_order(fx, log->member2_id, log->instrument_id, SIDE_BUY, 1050, 2, TIF_GTC);
    rules_log_pt(fx, tree->super_id, tree->master_id, 2500, 3000);
    rules_log_bet(fx, tree->member_id, log->market_id, 3000);
    rules_log_bet(fx, log->member2_id, log->market_id, 4000);
    rules_log_credit(fx, tree->super_id, tree->master_id, 50000000);
    rules_log_bet(fx, log->member3_id, log->market_id, 5000);
    rules_log_status(fx, tree->agent_id, log->member4_id, ACCOUNT_STATUS_CLOSED);
    fixture_order(fx, log->member3_id, log->instrument_id, SIDE_SELL, 1000, 1, TIF_GTC);
    struct command end = fixture_command(COMMAND_DAY_END, 0);
    end.u.day.trading_date = fx->engine.trading_date;
    fixture_apply(fx, &end);
}

static inline void rules_log_replay(struct fixture *fx, struct rules_log *log, uint32_t logic)
{
    rules_log_setup(fx, log);
    if (logic != 0) {
        struct command activate = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
        activate.u.activate_logic.logic_version = logic;
        fixture_ok(fx, &activate);
    }
    rules_log_probe(fx, log);
    rules_log_changes(fx, log);
}

#endif
