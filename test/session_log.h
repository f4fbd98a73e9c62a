/* A fixed log of sessions for comparing builds: seven trading days on
 * which one member spreads its commands over 90 client ids, resends some,
 * and has its secret reset by its agent and then set by itself; the other
 * accounts act beside it. It uses only what builds before logic version 3
 * had, so the digest it ends with can be computed by an old build and
 * written into a test of a new one (test_session_bounds.c): before
 * ACTIVATE_LOGIC 3 every build must decide the same.
 *
 * activate_at_day: the day (0..6) at which the house activates logic
 * version `logic` (0: never).
 */
#ifndef NODOWN_TEST_SESSION_LOG_H
#define NODOWN_TEST_SESSION_LOG_H

#include "fixture.h"

#define SESSION_LOG_CLIENTS 90u

static inline struct outcome session_log_send(struct fixture *fx, struct command *c,
                                              uint64_t client_id, uint64_t client_seq)
{
    c->client_id = client_id;
    c->client_seq = client_seq;
    return fixture_apply(fx, c);
}

static inline void session_log_replay(struct fixture *fx, uint32_t activate_at_day,
                                      uint32_t logic)
{
    struct fixture_tree tree;
    fixture_tree(fx, &tree);
    uint32_t instrument = fixture_instrument(fx, "ACME");
    fixture_deposit(fx, tree.member_id, 10000000);
    uint64_t seqs[SESSION_LOG_CLIENTS] = {0};
    for (uint32_t day = 0; day < 7; day++) {
        if (logic != 0 && day == activate_at_day) {
            struct command activate = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
            activate.u.activate_logic.logic_version = logic;
            fixture_apply(fx, &activate);
        }
        struct command start = fixture_command(COMMAND_DAY_START, 0);
        start.u.day.trading_date = 20260105 + day;
        fixture_apply(fx, &start);
        for (uint32_t k = 0; k < 40; k++) {
            uint32_t client = (day * 17 + k * 7) % SESSION_LOG_CLIENTS;
            struct command buy = fixture_command(COMMAND_ORDER_PLACE, tree.member_id);
            buy.u.order_place.instrument_id = instrument;
            buy.u.order_place.side = SIDE_BUY;
            buy.u.order_place.order_type = ORDER_TYPE_LIMIT;
            buy.u.order_place.time_in_force = TIF_DAY;
            buy.u.order_place.price_ticks = 900 + (int64_t)k;
            buy.u.order_place.quantity = 1 + k % 3;
            session_log_send(fx, &buy, 1000 + client, ++seqs[client]);
            if (k % 5 == 0) /* a resend */
                session_log_send(fx, &buy, 1000 + client, seqs[client]);
        }
        struct command secret = fixture_command(COMMAND_ACCOUNT_SET_SECRET, tree.agent_id);
        secret.u.account_set_secret.account_id = tree.member_id;
        secret.u.account_set_secret.salt[0] = (uint8_t)day;
        if (day == 2)
            session_log_send(fx, &secret, 7, day + 1);
        if (day == 4) {
            secret.sender_account_id = tree.member_id;
            session_log_send(fx, &secret, 1000, ++seqs[0]);
        }
        struct command limits = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, tree.agent_id);
        limits.u.account_set_limits.account_id = tree.member_id;
        limits.u.account_set_limits.order_quantity_max = 100 + day;
        session_log_send(fx, &limits, 8 + day % 2, day + 1);
        struct command end = fixture_command(COMMAND_DAY_END, 0);
        end.u.day.trading_date = 20260105 + day;
        fixture_apply(fx, &end);
    }
}

#endif
