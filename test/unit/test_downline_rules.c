/* Unit tests for logic version 3's downline rules (account.c, auth.c,
 * trading.c, gateway/query.c; docs/authorization.md):
 *
 *   - suspending or closing an account cancels the orders resting or
 *     queued for it and its downline, one EVENT_ORDER_DONE
 *     (DONE_ACCOUNT_INACTIVE) each, in canonical order; a member with
 *     orders resting may be closed;
 *   - lowering an account's credit or PT maximum caps every account below
 *     it that holds more, one EVENT_ACCOUNT_CAPPED each; accepted bets
 *     keep their shares;
 *   - a sender or reader that may not see an account or order is told the
 *     same whether it exists or not.
 *
 * Before ACTIVATE_LOGIC 3 every build decides as before: the fixed log of
 * rules_log.h ends with the digests the build before these rules computed.
 */
#include <stdlib.h>

#include "core/snapshot.h"
#include "gateway/query.h"
#include "rules_log.h"
#include "test.h"

/* Digests of rules_log.h's log, computed by the build before these rules
 * (commit df59990): never activated, and activated up to 2. */
static const struct digest RULES_OLD_DIGESTS[2] = {
    {0xe16a9804a424b9beull, 0x327761f69721bd57ull},
    {0x8aa21592a3b4b769ull, 0x378b03651d915f4full},
};

/* The same build's digest with logic 3 activated: these rules change it. */
static const struct digest RULES_OLD_DIGEST_3 = {0x435247202e995701ull, 0xf6799a05d1988800ull};

static struct fixture *rules_new(void)
{
    struct fixture *fx = malloc(sizeof *fx);
    if (fx == NULL)
        abort();
    fixture_init(fx);
    return fx;
}

static void rules_free(struct fixture *fx)
{
    fixture_free(fx);
    free(fx);
}

static void rules_activate(struct fixture *fx, uint32_t version)
{
    struct command activate = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    activate.u.activate_logic.logic_version = version;
    fixture_ok(fx, &activate);
}

/* A fresh engine with rules_log.h's business in place, then logic
 * activated. */
static struct fixture *rules_start(struct rules_log *log, uint32_t logic)
{
    struct fixture *fx = rules_new();
    rules_log_setup(fx, log);
    rules_activate(fx, logic);
    return fx;
}

static uint32_t rules_open_orders(const struct fixture *fx)
{
    return pool_used(&fx->engine.order_pool);
}

TEST(before_logic_3_every_decision_is_as_before)
{
    const uint32_t logics[2] = {0, 2};
    for (uint32_t i = 0; i < 2; i++) {
        struct fixture *fx = rules_new();
        struct rules_log log;
        rules_log_replay(fx, &log, logics[i]);
        struct digest digest;
        engine_digest(&fx->engine, &digest);
        CHECK(digest.high == RULES_OLD_DIGESTS[i].high);
        CHECK(digest.low == RULES_OLD_DIGESTS[i].low);
        CHECK(fixture_check(fx) == 0);
        rules_free(fx);
    }
    struct fixture *fx = rules_new();
    struct rules_log log;
    rules_log_replay(fx, &log, 3);
    struct digest three;
    engine_digest(&fx->engine, &three);
    CHECK(three.high != RULES_OLD_DIGEST_3.high || three.low != RULES_OLD_DIGEST_3.low);
    CHECK(fixture_check(fx) == 0);
    rules_free(fx);
}

/* A member suspended: its two bids go, one event each, best first; the
 * other members' orders stay. Under logic 2 nothing is cancelled. */
TEST(suspending_a_member_cancels_its_orders)
{
    for (uint32_t logic = 2; logic <= 3; logic++) {
        struct rules_log log;
        struct fixture *fx = rules_start(&log, logic);
        uint32_t member = log.tree.member_id;
        struct outcome o = rules_log_status(fx, log.tree.agent_id, member,
                                            ACCOUNT_STATUS_SUSPENDED);
        CHECK_EQ_I64(o.result, RESULT_OK);
        if (logic == 3) {
            CHECK_EQ_I64(o.value, 2);
            CHECK_EQ_I64(fixture_count(fx, EVENT_ORDER_DONE), 2);
            const int64_t prices[2] = {950, 940};
            for (uint32_t n = 0; n < 2; n++) {
                const struct event *done = fixture_event(fx, EVENT_ORDER_DONE, n);
                CHECK_EQ_I64(done->code, DONE_ACCOUNT_INACTIVE);
                CHECK_EQ_I64(done->account_id, member);
                CHECK_EQ_I64(done->u.order.price_ticks, prices[n]);
                CHECK_EQ_I64(done->u.order.quantity_open, 0);
            }
            CHECK_EQ_I64(fx->engine.accounts[member].reserved_minor, 0);
            CHECK_EQ_I64(fx->engine.accounts[member].position_head, INDEX_NONE);
            CHECK_EQ_I64(rules_open_orders(fx), 4);
        } else {
            CHECK_EQ_I64(o.value, 0);
            CHECK_EQ_I64(fx->event_count, 0);
            CHECK_EQ_I64(rules_open_orders(fx), 6);
        }
        /* Resuming cancels nothing and brings nothing back. */
        o = rules_log_status(fx, log.tree.agent_id, member, ACCOUNT_STATUS_ACTIVE);
        CHECK_EQ_I64(o.value, 0);
        CHECK_EQ_I64(fx->event_count, 0);
        CHECK(fixture_check(fx) == 0);
        rules_free(fx);
    }
}

/* A master suspended: every order of its two agents' four members goes,
 * booked and queued, one event each in canonical order (instruments by
 * id; bids best first, then asks, then the pre-open queue). A member of
 * another super keeps its order, and the open bets stay. */
TEST(suspending_a_master_cancels_every_order_of_its_downline)
{
    struct fixture *fx = rules_new();
    struct rules_log log;
    rules_log_setup(fx, &log);
    uint32_t super2 = fixture_account(fx, 0, 0, ACCOUNT_KIND_SUPER, 1000000);
    uint32_t master2 = fixture_account(fx, 0, super2, ACCOUNT_KIND_MASTER, 1000000);
    uint32_t agent3 = fixture_account(fx, 0, master2, ACCOUNT_KIND_AGENT, 1000000);
    uint32_t stranger = fixture_account(fx, 0, agent3, ACCOUNT_KIND_MEMBER, 1000000);
    uint64_t kept = fixture_order(fx, stranger, log.instrument_id, SIDE_BUY, 945, 1, TIF_GTC).id;
    rules_activate(fx, 3);
    int64_t stakes = fx->engine.accounts[log.tree.member_id].stake_open_minor;
    struct outcome o = rules_log_status(fx, log.tree.super_id, log.tree.master_id,
                                        ACCOUNT_STATUS_SUSPENDED);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 6);
    CHECK_EQ_I64(fixture_count(fx, EVENT_ORDER_DONE), 6);
    CHECK_EQ_I64(fx->event_count, 6);
    /* Order ids in placing order: 1 950 and 2 940 of member, 3 the sell
     * of member2, 4 960 and 5 queued of member3, 6 930 of member4. */
    const uint64_t expected[6] = {4, 1, 2, 6, 3, 5};
    const uint32_t owners[6] = {log.member3_id, log.tree.member_id, log.tree.member_id,
                                log.member4_id, log.member2_id, log.member3_id};
    for (uint32_t n = 0; n < 6; n++) {
        const struct event *done = fixture_event(fx, EVENT_ORDER_DONE, n);
        CHECK_EQ_I64(done->id, expected[n]);
        CHECK_EQ_I64(done->account_id, owners[n]);
        CHECK_EQ_I64(done->code, DONE_ACCOUNT_INACTIVE);
    }
    CHECK_EQ_I64(rules_open_orders(fx), 1);
    CHECK(rules_log_cancel(fx, stranger, kept).result == RESULT_OK);
    CHECK_EQ_I64(fx->engine.instruments[log.queued_instrument_id].queue_count, 0);
    CHECK_EQ_I64(fx->engine.accounts[log.tree.member_id].stake_open_minor, stakes);
    /* The downline cannot send; its position kept by the sell's holding
     * stays, with nothing reserved. */
    CHECK_EQ_I64(fixture_order(fx, log.member3_id, log.instrument_id, SIDE_BUY, 950, 1,
                               TIF_GTC).result, REJECT_SENDER_INACTIVE);
    CHECK_EQ_I64(engine_position(&fx->engine, log.member2_id, log.instrument_id), 100);
    CHECK(fixture_check(fx) == 0);
    rules_free(fx);
}

/* Closing a member with an order resting: refused before logic 3; from
 * it, the order is cancelled and the account closed. A member that holds
 * a position is still refused, and nothing is cancelled. */
TEST(closing_a_member_cancels_its_orders)
{
    for (uint32_t logic = 2; logic <= 3; logic++) {
        struct rules_log log;
        struct fixture *fx = rules_start(&log, logic);
        struct outcome o = rules_log_status(fx, log.tree.agent_id, log.member4_id,
                                            ACCOUNT_STATUS_CLOSED);
        struct outcome held = rules_log_status(fx, log.agent2_id, log.member2_id,
                                               ACCOUNT_STATUS_CLOSED);
        CHECK_EQ_I64(held.result, REJECT_ACCOUNT_NOT_EMPTY);
        CHECK_EQ_I64(fx->event_count, 0);
        if (logic == 3) {
            CHECK_EQ_I64(o.result, RESULT_OK);
            CHECK_EQ_I64(o.value, 1);
            CHECK_EQ_I64(fx->engine.accounts[log.member4_id].position_head, INDEX_NONE);
            CHECK_EQ_I64(fx->engine.accounts[log.member4_id].reserved_minor, 0);
            CHECK_EQ_I64(rules_open_orders(fx), 5);
        } else {
            CHECK_EQ_I64(o.result, REJECT_ACCOUNT_NOT_EMPTY);
            CHECK_EQ_I64(rules_open_orders(fx), 6);
        }
        CHECK(fixture_check(fx) == 0);
        rules_free(fx);
    }
}

/* An activation with orders resting for a member already suspended and
 * bets open: the migration cancels nothing and moves no bet; the rule
 * applies to the next change of status. A snapshot taken after the
 * activation restores to the same digest. */
TEST(activation_with_resting_orders_and_open_bets)
{
    struct fixture *fx = rules_new();
    struct rules_log log;
    rules_log_setup(fx, &log);
    rules_log_status(fx, log.tree.agent_id, log.tree.member_id, ACCOUNT_STATUS_SUSPENDED);
    CHECK_EQ_I64(rules_open_orders(fx), 6);
    uint32_t bets = pool_used(&fx->engine.bet_pool);
    struct command activate = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    activate.u.activate_logic.logic_version = 3;
    CHECK_EQ_I64(fixture_apply(fx, &activate).result, RESULT_OK);
    CHECK_EQ_I64(fx->event_count, 0);
    CHECK_EQ_I64(rules_open_orders(fx), 6);
    CHECK_EQ_I64(pool_used(&fx->engine.bet_pool), bets);
    size_t size = snapshot_size(&fx->engine);
    uint8_t *image = malloc(size);
    size_t length = 0;
    CHECK(image != NULL && snapshot_encode(&fx->engine, image, size, &length) == 0);
    struct fixture *restored = rules_new();
    char errmsg[256];
    CHECK_EQ_I64(snapshot_decode(&restored->engine, image, length, errmsg, sizeof errmsg), 0);
    free(image);
    restored->time_ns = fx->time_ns;
    restored->seq = fx->seq;
    struct fixture *engines[2] = {fx, restored};
    for (uint32_t e = 0; e < 2; e++) {
        struct outcome o = rules_log_status(engines[e], log.tree.agent_id, log.tree.member_id,
                                            ACCOUNT_STATUS_SUSPENDED);
        CHECK_EQ_I64(o.value, 2);
        CHECK_EQ_I64(rules_open_orders(engines[e]), 4);
    }
    struct digest a, b;
    engine_digest(&fx->engine, &a);
    engine_digest(&restored->engine, &b);
    CHECK(a.high == b.high && a.low == b.low);
    CHECK(fixture_check(restored) == 0);
    rules_free(restored);
    rules_free(fx);
}

/* The master's 1X2 maximum lowered from 8000 to 3000: its agents (4000 of
 * 6000, and 5000 of 5000) are capped to 3000 of 3000, one event each;
 * the open bets keep their shares and the next bet takes the new ones.
 * Under logic 2 the agents keep theirs. A raise caps nothing. */
TEST(lowering_a_pt_maximum_caps_the_downline)
{
    for (uint32_t logic = 2; logic <= 3; logic++) {
        struct rules_log log;
        struct fixture *fx = rules_start(&log, logic);
        const struct market *market = &fx->engine.markets[log.market_id];
        uint16_t agent_share_before = fx->engine.bets[market->bet_head].shares_bp[0];
        CHECK_EQ_I64(agent_share_before, 4000);
        struct outcome o = rules_log_pt(fx, log.tree.super_id, log.tree.master_id, 2500, 3000);
        CHECK_EQ_I64(o.result, RESULT_OK);
        const struct account *agent = &fx->engine.accounts[log.tree.agent_id];
        const struct account *agent2 = &fx->engine.accounts[log.agent2_id];
        if (logic == 3) {
            CHECK_EQ_I64(fixture_count(fx, EVENT_ACCOUNT_CAPPED), 2);
            const uint32_t ids[2] = {log.tree.agent_id, log.agent2_id};
            for (uint32_t n = 0; n < 2; n++) {
                const struct event *cap = fixture_event(fx, EVENT_ACCOUNT_CAPPED, n);
                CHECK_EQ_I64(cap->account_id, ids[n]);
                CHECK_EQ_I64(cap->id, log.tree.master_id);
                CHECK_EQ_I64(cap->code, CAP_PT);
                CHECK_EQ_I64(cap->u.cap.market_type, MARKET_TYPE_1X2);
                CHECK_EQ_I64(cap->u.cap.pt_share_bp, 3000);
                CHECK_EQ_I64(cap->u.cap.pt_max_bp, 3000);
            }
            CHECK_EQ_I64(agent->pt_share_bp[MARKET_TYPE_1X2], 3000);
            CHECK_EQ_I64(agent->pt_max_bp[MARKET_TYPE_1X2], 3000);
            CHECK_EQ_I64(agent2->pt_share_bp[MARKET_TYPE_1X2], 3000);
            CHECK_EQ_I64(agent2->pt_max_bp[MARKET_TYPE_1X2], 3000);
        } else {
            CHECK_EQ_I64(fx->event_count, 0);
            CHECK_EQ_I64(agent->pt_share_bp[MARKET_TYPE_1X2], 4000);
            CHECK_EQ_I64(agent->pt_max_bp[MARKET_TYPE_1X2], 6000);
        }
        /* Other market types are not touched. */
        CHECK_EQ_I64(agent->pt_max_bp[MARKET_TYPE_HANDICAP], 0);
        CHECK_EQ_I64(fx->engine.bets[market->bet_head].shares_bp[0], agent_share_before);
        CHECK_EQ_I64(rules_log_bet(fx, log.tree.member_id, log.market_id, 100).result,
                     RESULT_OK);
        CHECK_EQ_I64(fx->engine.bets[market->bet_tail].shares_bp[0], logic == 3 ? 3000 : 4000);
        o = rules_log_pt(fx, log.tree.super_id, log.tree.master_id, 2500, 3500);
        CHECK_EQ_I64(o.result, RESULT_OK);
        CHECK_EQ_I64(fx->event_count, 0);
        CHECK(fixture_check(fx) == 0);
        rules_free(fx);
    }
}

/* The master's credit lowered from 1 000 000.00 to 500 000.00: both agents
 * and the four members below are capped to it, in id order, each parent's
 * credit given kept right (engine_check); a closed member is left as it
 * is. Under logic 2 nothing moves. A raise caps nothing. */
TEST(lowering_a_credit_limit_caps_the_downline)
{
    for (uint32_t logic = 2; logic <= 3; logic++) {
        struct fixture *fx = rules_new();
        struct rules_log log;
        rules_log_setup(fx, &log);
        uint32_t closed = fixture_account(fx, 0, log.agent2_id, ACCOUNT_KIND_MEMBER, 90000000);
        rules_log_status(fx, log.agent2_id, closed, ACCOUNT_STATUS_CLOSED);
        rules_activate(fx, logic);
        struct outcome o = rules_log_credit(fx, log.tree.super_id, log.tree.master_id,
                                            50000000);
        CHECK_EQ_I64(o.result, RESULT_OK);
        const uint32_t ids[5] = {log.tree.agent_id, log.tree.member_id, log.agent2_id,
                                 log.member2_id, log.member3_id};
        if (logic == 3) {
            CHECK_EQ_I64(fx->event_count, 5);
            for (uint32_t n = 0; n < 5; n++) {
                const struct event *cap = fixture_event(fx, EVENT_ACCOUNT_CAPPED, n);
                CHECK_EQ_I64(cap->account_id, ids[n]);
                CHECK_EQ_I64(cap->id, log.tree.master_id);
                CHECK_EQ_I64(cap->code, CAP_CREDIT);
                CHECK_EQ_I64(cap->u.cap.credit_limit_minor, 50000000);
                CHECK_EQ_I64(fx->engine.accounts[ids[n]].credit_limit_minor, 50000000);
            }
            /* member4's 5 000 is below the ceiling already. */
            CHECK_EQ_I64(fx->engine.accounts[log.member4_id].credit_limit_minor, 5000);
        } else {
            CHECK_EQ_I64(fx->event_count, 0);
            CHECK_EQ_I64(fx->engine.accounts[log.tree.agent_id].credit_limit_minor, 100000000);
        }
        CHECK_EQ_I64(fx->engine.accounts[closed].credit_limit_minor, 90000000);
        o = rules_log_credit(fx, log.tree.super_id, log.tree.master_id, 60000000);
        CHECK_EQ_I64(o.result, RESULT_OK);
        CHECK_EQ_I64(fx->event_count, 0);
        CHECK(fixture_check(fx) == 0);
        rules_free(fx);
    }
}

/* One pair of commands: the same command naming an account or order the
 * sender may not see, and one that does not exist. */
struct rules_pair {
    struct command other;
    struct command unknown;
};

static uint32_t rules_pairs(const struct rules_log *log, struct rules_pair *pairs)
{
    uint32_t member = log->tree.member_id;
    uint32_t agent = log->tree.agent_id;
    uint32_t count = 0;
    const uint32_t senders[2] = {member, log->member3_id};
    for (uint32_t i = 0; i < 2; i++) {
        struct command cancel = fixture_command(COMMAND_ORDER_CANCEL, senders[i]);
        cancel.u.order_cancel.order_id = log->member2_order_id;
        pairs[count].other = cancel;
        cancel.u.order_cancel.order_id = 999999;
        pairs[count++].unknown = cancel;
    }
    struct command replace = fixture_command(COMMAND_ORDER_REPLACE, member);
    replace.u.order_replace.order_id = log->member2_order_id;
    replace.u.order_replace.price_ticks = 1040;
    replace.u.order_replace.quantity = 5;
    pairs[count].other = replace;
    replace.u.order_replace.order_id = 999999;
    pairs[count++].unknown = replace;
    const uint16_t types[6] = {COMMAND_ACCOUNT_SET_STATUS, COMMAND_ACCOUNT_SET_CREDIT,
                               COMMAND_ACCOUNT_SET_LIMITS, COMMAND_ACCOUNT_SET_SECRET,
                               COMMAND_PT_SET, COMMAND_ACCOUNT_CREATE};
    for (uint32_t i = 0; i < 6; i++) {
        /* An agent names the other agent's member, or a stranger's id. */
        struct command c = fixture_command((enum command_type)types[i], agent);
        c.u.account_set_status.account_id = types[i] == COMMAND_ACCOUNT_CREATE
                                                 ? log->agent2_id
                                                 : log->member2_id;
        c.u.account_create.kind = ACCOUNT_KIND_MEMBER;
        pairs[count].other = c;
        c.u.account_set_status.account_id = 9999;
        pairs[count++].unknown = c;
        /* A member names its own parent, or INDEX_NONE. */
        c.sender_account_id = member;
        c.u.account_set_status.account_id = agent;
        pairs[count].other = c;
        c.u.account_set_status.account_id = INDEX_NONE;
        pairs[count++].unknown = c;
    }
    return count;
}

/* Every command that named another's account or order before its rights
 * were checked: under logic 2 "not yours" and "no such" differ; from
 * logic 3 each pair is answered alike. Neither changes anything but the
 * session. */
TEST(a_hidden_account_or_order_is_answered_as_an_unknown_one)
{
    for (uint32_t logic = 2; logic <= 3; logic++) {
        struct rules_log log;
        struct fixture *fx = rules_start(&log, logic);
        struct rules_pair pairs[16];
        uint32_t count = rules_pairs(&log, pairs);
        CHECK_EQ_I64(count, 15);
        for (uint32_t i = 0; i < count; i++) {
            struct outcome other = fixture_apply(fx, &pairs[i].other);
            CHECK_EQ_I64(fx->event_count, 0);
            struct outcome unknown = fixture_apply(fx, &pairs[i].unknown);
            bool order = pairs[i].other.type == COMMAND_ORDER_CANCEL ||
                         pairs[i].other.type == COMMAND_ORDER_REPLACE;
            if (logic == 3) {
                CHECK_EQ_I64(other.result, unknown.result);
                CHECK_EQ_I64(other.result, order ? REJECT_ORDER_UNKNOWN : REJECT_NOT_AUTHORIZED);
            } else {
                CHECK(other.result != unknown.result);
                CHECK_EQ_I64(other.result, REJECT_NOT_AUTHORIZED);
            }
        }
        CHECK_EQ_I64(rules_open_orders(fx), 6);
        CHECK(fixture_check(fx) == 0);
        rules_free(fx);
    }
}

/* Those who may see the target are still told which: an agent cancelling
 * its own member's order is not authorized; an operator is told that an
 * account or order does not exist, and may cancel any order. */
TEST(who_may_see_the_target_is_still_told_which)
{
    struct rules_log log;
    struct fixture *fx = rules_start(&log, 3);
    struct command cancel = fixture_command(COMMAND_ORDER_CANCEL, log.tree.agent_id);
    cancel.u.order_cancel.order_id = 1; /* its member's 950 bid */
    CHECK_EQ_I64(fixture_apply(fx, &cancel).result, REJECT_NOT_AUTHORIZED);
    struct command limits = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, log.tree.operator_id);
    limits.u.account_set_limits.account_id = 9999;
    CHECK_EQ_I64(fixture_apply(fx, &limits).result, REJECT_ACCOUNT_UNKNOWN);
    struct command self = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, log.tree.agent_id);
    self.u.account_set_limits.account_id = log.tree.agent_id;
    CHECK_EQ_I64(fixture_apply(fx, &self).result, REJECT_NOT_AUTHORIZED);
    cancel = fixture_command(COMMAND_ORDER_CANCEL, log.tree.operator_id);
    cancel.u.order_cancel.order_id = 999999;
    CHECK_EQ_I64(fixture_apply(fx, &cancel).result, REJECT_ORDER_UNKNOWN);
    cancel.client_seq = 0;
    cancel.u.order_cancel.order_id = log.member2_order_id;
    CHECK_EQ_I64(fixture_apply(fx, &cancel).result, RESULT_OK);
    CHECK(fixture_check(fx) == 0);
    rules_free(fx);
}

static int rules_ask(const struct fixture *fx, const struct orders_done *done, uint32_t reader,
                     uint16_t type, uint64_t id)
{
    struct frame_query query;
    memset(&query, 0, sizeof query);
    query.query_type = type;
    query.request_id = 1;
    if (type == QUERY_ORDER)
        query.u.order.order_id = id;
    else if (type == QUERY_POSITIONS)
        query.u.positions.account_id = (uint32_t)id;
    else if (type == QUERY_EXPOSURE)
        query.u.exposure.account_id = (uint32_t)id;
    else
        query.u.account.account_id = (uint32_t)id;
    static struct frame_query_result result;
    int rv = gateway_query_answer(&fx->engine, done, reader, &query, &result);
    return rv != 0 ? rv : result.result;
}

/* The queries of the native protocol: an account, its positions or
 * exposure, an open or a finished order; from logic 3 a reader that may
 * not read them gets the same answer for an unknown one. */
TEST(queries_answer_a_hidden_account_or_order_as_an_unknown_one)
{
    for (uint32_t logic = 2; logic <= 3; logic++) {
        struct rules_log log;
        struct fixture *fx = rules_start(&log, logic);
        struct orders_done done;
        CHECK_EQ_I64(orders_done_init(&done), 0);
        uint64_t finished = fixture_order(fx, log.member3_id, log.instrument_id, SIDE_BUY, 900,
                                          1, TIF_GTC).id;
        rules_log_cancel(fx, log.member3_id, finished);
        for (uint32_t i = 0; i < fx->event_count; i++)
            orders_done_note(&done, &fx->events[i]);
        uint32_t member = log.tree.member_id;
        const uint16_t account_types[3] = {QUERY_ACCOUNT, QUERY_POSITIONS, QUERY_EXPOSURE};
        for (uint32_t i = 0; i < 3; i++) {
            int other = rules_ask(fx, &done, member, account_types[i], log.member2_id);
            int unknown = rules_ask(fx, &done, member, account_types[i], 9999);
            CHECK_EQ_I64(other, REJECT_NOT_AUTHORIZED);
            CHECK_EQ_I64(unknown, logic == 3 ? REJECT_NOT_AUTHORIZED : REJECT_ACCOUNT_UNKNOWN);
            /* An operator sees every account: it is told. */
            CHECK_EQ_I64(rules_ask(fx, &done, log.tree.operator_id, account_types[i], 9999),
                         REJECT_ACCOUNT_UNKNOWN);
        }
        int open = rules_ask(fx, &done, member, QUERY_ORDER, log.member2_order_id);
        int closed = rules_ask(fx, &done, member, QUERY_ORDER, finished);
        int unknown = rules_ask(fx, &done, member, QUERY_ORDER, 999999);
        CHECK_EQ_I64(unknown, REJECT_ORDER_UNKNOWN);
        CHECK_EQ_I64(open, logic == 3 ? REJECT_ORDER_UNKNOWN : REJECT_NOT_AUTHORIZED);
        CHECK_EQ_I64(closed, logic == 3 ? REJECT_ORDER_UNKNOWN : REJECT_NOT_AUTHORIZED);
        /* Its owner, and the owner's agent, still read both. */
        CHECK_EQ_I64(rules_ask(fx, &done, log.member3_id, QUERY_ORDER, finished), RESULT_OK);
        CHECK_EQ_I64(rules_ask(fx, &done, log.tree.agent_id, QUERY_ORDER, finished), RESULT_OK);
        orders_done_free(&done);
        rules_free(fx);
    }
}

/* An order cancelled by a suspension is remembered as done for that
 * reason, and answered to its owner as cancelled (done byte 2), a value
 * every protocol version 3 client decodes. */
TEST(a_suspension_cancel_is_answered_as_cancelled)
{
    struct rules_log log;
    struct fixture *fx = rules_start(&log, 3);
    struct orders_done done;
    CHECK_EQ_I64(orders_done_init(&done), 0);
    rules_log_status(fx, log.agent2_id, log.member2_id, ACCOUNT_STATUS_SUSPENDED);
    CHECK_EQ_I64(fx->event_count, 1);
    orders_done_note(&done, &fx->events[0]);
    CHECK_EQ_I64(orders_done_find(&done, log.member2_order_id)->reason, DONE_ACCOUNT_INACTIVE);
    struct frame_query query;
    memset(&query, 0, sizeof query);
    query.query_type = QUERY_ORDER;
    query.u.order.order_id = log.member2_order_id;
    static struct frame_query_result result;
    CHECK_EQ_I64(gateway_query_answer(&fx->engine, &done, log.member2_id, &query, &result), 0);
    CHECK_EQ_I64(result.result, RESULT_OK);
    CHECK_EQ_I64(result.u.order.done, 1 + DONE_CANCELLED);
    orders_done_free(&done);
    rules_free(fx);
}

TEST_MAIN()
