/* Unit tests for exactly-once sessions (engine.c, session.h).
 *
 * A session is (sender account, client_id). Its commands carry client_seq
 * 1, 2, 3, ...; gaps are allowed, but a sequence at or below the last one
 * applied is a resend: it is answered with the first outcome (duplicate
 * set) if that is still among the last session_window() (8 under logic
 * version 1, 32 from version 2), else rejected as
 * stale, and in both cases nothing is applied: the digest does not move.
 * Rejects are outcomes like any other and are remembered; what is decided
 * before a session exists (sequence zero, unknown sender, a full session
 * table) is not. ACTIVATE_LOGIC of a version this build cannot run stops
 * the node without touching anything, the session included.
 *
 * Every command here sets client_id and client_seq itself and goes
 * through session_apply(), which calls engine_apply() directly.
 */
#include <stdlib.h>

#include "core/session.h"
#include "core/snapshot.h"
#include "fixture.h"
#include "test.h"

static int session_apply(struct fixture *fx, struct command *c, uint64_t client_id,
                         uint64_t client_seq, struct outcome *outcome)
{
    struct event_sink sink = {.emit_cb = fixture_emit, .context = fx};
    c->client_id = client_id;
    c->client_seq = client_seq;
    fx->event_count = 0;
    fx->time_ns += 1000;
    return engine_apply(&fx->engine, fx->time_ns, c, &sink, outcome);
}

/* As session_apply, for commands that must not stop the node. */
static struct outcome session_send(struct fixture *fx, struct command *c, uint64_t client_id,
                                   uint64_t client_seq)
{
    struct outcome outcome;
    int rv = session_apply(fx, c, client_id, client_seq, &outcome);
    assert(rv == 0);
    (void)rv;
    return outcome;
}

static struct command session_deposit(uint32_t account, int64_t amount_minor)
{
    struct command c = fixture_command(COMMAND_CASH_DEPOSIT, 0);
    c.u.cash.account_id = account;
    c.u.cash.amount_minor = amount_minor;
    return c;
}

static struct command session_buy(uint32_t member, uint32_t instrument, int64_t quantity)
{
    struct command c = fixture_command(COMMAND_ORDER_PLACE, member);
    c.u.order_place.instrument_id = instrument;
    c.u.order_place.side = SIDE_BUY;
    c.u.order_place.order_type = ORDER_TYPE_LIMIT;
    c.u.order_place.time_in_force = TIF_DAY;
    c.u.order_place.price_ticks = 950;
    c.u.order_place.quantity = quantity;
    return c;
}

static bool session_digest_equal(const struct fixture *fx, const struct digest *expected)
{
    struct digest now;
    engine_digest(&fx->engine, &now);
    return now.high == expected->high && now.low == expected->low;
}

/* The same outcome, but for the duplicate flag. */
static bool outcome_same(const struct outcome *a, const struct outcome *b)
{
    return a->result == b->result && a->command_type == b->command_type && a->id == b->id &&
           a->value == b->value;
}

TEST(resend_returns_first_outcome_and_applies_nothing)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    struct command deposit = session_deposit(tree.member_id, 1000);
    struct outcome first = session_send(&fx, &deposit, 5, 1);
    CHECK_EQ_I64(first.result, RESULT_OK);
    CHECK_EQ_I64(first.value, 1000);
    CHECK_EQ_I64(first.duplicate, 0);
    struct digest after_first;
    engine_digest(&fx.engine, &after_first);
    struct outcome again = session_send(&fx, &deposit, 5, 1);
    CHECK(outcome_same(&again, &first));
    CHECK_EQ_I64(again.duplicate, 1);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, 1000);
    CHECK(session_digest_equal(&fx, &after_first));
    /* A resend changes nothing, so it emits nothing: the outcome is all. */
    CHECK_EQ_I64(fx.event_count, 0);
    CHECK_EQ_I64(again.result, RESULT_OK);
    CHECK_EQ_I64(again.value, 1000);

    /* An order: the resend names the same order and places no second. */
    struct command buy = session_buy(tree.member_id, instrument, 3);
    struct outcome placed = session_send(&fx, &buy, 9, 1);
    CHECK_EQ_I64(placed.result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 1);
    struct digest after_order;
    engine_digest(&fx.engine, &after_order);
    for (int i = 0; i < 3; i++) {
        struct outcome resent = session_send(&fx, &buy, 9, 1);
        CHECK(outcome_same(&resent, &placed));
        CHECK_EQ_I64(resent.duplicate, 1);
        CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 0);
        CHECK(session_digest_equal(&fx, &after_order));
    }
    struct depth_level levels[2];
    CHECK_EQ_I64(engine_book_depth(&fx.engine, instrument, SIDE_BUY, levels, 2), 1);
    CHECK_EQ_I64(levels[0].quantity, 3);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].reserved_minor, 950 * 3);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* Outcomes 1..8 each carry the balance after their own deposit. */
TEST(resend_within_ring_then_stale)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct outcome outcomes[SESSION_WINDOW_V1 + 2];
    struct command deposits[SESSION_WINDOW_V1 + 2];
    int64_t balance = 0;
    for (uint64_t seq = 1; seq <= SESSION_WINDOW_V1; seq++) {
        deposits[seq] = session_deposit(tree.member_id, (int64_t)seq * 10);
        outcomes[seq] = session_send(&fx, &deposits[seq], 3, seq);
        balance += (int64_t)seq * 10;
        CHECK_EQ_I64(outcomes[seq].value, balance);
    }
    struct digest full;
    engine_digest(&fx.engine, &full);
    for (uint64_t seq = 1; seq <= SESSION_WINDOW_V1; seq++) {
        struct outcome resent = session_send(&fx, &deposits[seq], 3, seq);
        CHECK(outcome_same(&resent, &outcomes[seq]));
        CHECK_EQ_I64(resent.duplicate, 1);
    }
    CHECK(session_digest_equal(&fx, &full));

    /* The ninth pushes the first out of the ring. */
    deposits[9] = session_deposit(tree.member_id, 90);
    outcomes[9] = session_send(&fx, &deposits[9], 3, 9);
    CHECK_EQ_I64(outcomes[9].value, balance + 90);
    struct digest nine;
    engine_digest(&fx.engine, &nine);
    struct outcome stale = session_send(&fx, &deposits[1], 3, 1);
    CHECK_EQ_I64(stale.result, REJECT_SEQUENCE_STALE);
    CHECK_EQ_I64(stale.duplicate, 0);
    CHECK_EQ_I64(stale.command_type, COMMAND_CASH_DEPOSIT);
    CHECK_EQ_I64(fx.event_count, 0);
    CHECK(session_digest_equal(&fx, &nine));
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, balance + 90);
    for (uint64_t seq = 2; seq <= 9; seq++) {
        struct outcome resent = session_send(&fx, &deposits[seq], 3, seq);
        CHECK(outcome_same(&resent, &outcomes[seq]));
        CHECK_EQ_I64(resent.duplicate, 1);
    }
    CHECK(session_digest_equal(&fx, &nine));
    fixture_free(&fx);
}

/* Logic version 2 widens the window to 32 at the activation's place in
 * the log: the ring goes on from where it was, the last 32 outcomes are
 * answered, the 33rd is stale, and a snapshot keeps all of it. */
TEST(window_widens_with_logic_2)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    enum { BEFORE = 5, AFTER = 40, TOTAL = BEFORE + AFTER };
    struct command deposits[TOTAL + 1];
    struct outcome outcomes[TOTAL + 1];
    CHECK_EQ_I64(session_window(fx.engine.logic_version), SESSION_WINDOW_V1);
    for (uint64_t seq = 1; seq <= TOTAL; seq++) {
        if (seq == BEFORE + 1) {
            struct command activate = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
            activate.u.activate_logic.logic_version = 2;
            CHECK_EQ_I64(session_send(&fx, &activate, 77, 1).result, RESULT_OK);
            CHECK_EQ_I64(session_window(fx.engine.logic_version), SESSION_WINDOW_V2);
        }
        deposits[seq] = session_deposit(tree.member_id, (int64_t)seq);
        outcomes[seq] = session_send(&fx, &deposits[seq], 3, seq);
        CHECK_EQ_I64(outcomes[seq].result, RESULT_OK);
    }
    struct digest before;
    engine_digest(&fx.engine, &before);
    /* Through a snapshot: the rings of a version 2 state are encoded whole. */
    size_t size = snapshot_size(&fx.engine);
    uint8_t *image = malloc(size);
    size_t written = 0;
    CHECK(image != NULL);
    CHECK_EQ_I64(snapshot_encode(&fx.engine, image, size, &written), 0);
    struct fixture restored;
    fixture_init(&restored);
    char errmsg[256];
    CHECK_EQ_I64(snapshot_decode(&restored.engine, image, written, errmsg, sizeof errmsg), 0);
    free(image);
    CHECK(session_digest_equal(&restored, &before));
    struct fixture *engines[2] = {&fx, &restored};
    for (uint32_t e = 0; e < 2; e++) {
        for (uint64_t seq = TOTAL - SESSION_WINDOW_V2 + 1; seq <= TOTAL; seq++) {
            struct outcome resent = session_send(engines[e], &deposits[seq], 3, seq);
            CHECK(outcome_same(&resent, &outcomes[seq]));
            CHECK_EQ_I64(resent.duplicate, 1);
        }
        uint64_t gone = TOTAL - SESSION_WINDOW_V2;
        CHECK_EQ_I64(session_send(engines[e], &deposits[gone], 3, gone).result,
                     REJECT_SEQUENCE_STALE);
        CHECK(session_digest_equal(engines[e], &before));
    }
    fixture_free(&restored);
    fixture_free(&fx);
}

TEST(sequence_zero_is_rejected_and_not_recorded)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct digest before;
    engine_digest(&fx.engine, &before);
    uint32_t sessions = fx.engine.session_count;
    struct command deposit = session_deposit(tree.member_id, 10);
    struct outcome zero = session_send(&fx, &deposit, 44, 0);
    CHECK_EQ_I64(zero.result, REJECT_SEQUENCE_ZERO);
    CHECK_EQ_I64(fx.event_count, 0);
    CHECK_EQ_I64(fx.engine.session_count, sessions);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, 0);
    CHECK(session_digest_equal(&fx, &before));
    /* Nothing was remembered, so sequence 1 is new. */
    struct outcome one = session_send(&fx, &deposit, 44, 1);
    CHECK_EQ_I64(one.result, RESULT_OK);
    CHECK_EQ_I64(one.duplicate, 0);
    CHECK_EQ_I64(fx.engine.session_count, sessions + 1);
    fixture_free(&fx);
}

/* A client may skip numbers; a skipped number is below the last one
 * applied afterwards, and no outcome of it exists: stale. */
TEST(gaps_allowed)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct command deposit = session_deposit(tree.member_id, 10);
    CHECK_EQ_I64(session_send(&fx, &deposit, 8, 1).value, 10);
    CHECK_EQ_I64(session_send(&fx, &deposit, 8, 5).value, 20);
    CHECK_EQ_I64(session_send(&fx, &deposit, 8, 3).result, REJECT_SEQUENCE_STALE);
    CHECK_EQ_I64(session_send(&fx, &deposit, 8, 6).value, 30);
    CHECK_EQ_I64(session_send(&fx, &deposit, 8, 1000000).value, 40);
    struct outcome resent = session_send(&fx, &deposit, 8, 5);
    CHECK_EQ_I64(resent.duplicate, 1);
    CHECK_EQ_I64(resent.value, 20);
    CHECK_EQ_I64(session_send(&fx, &deposit, 8, 999999).result, REJECT_SEQUENCE_STALE);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, 40);
    fixture_free(&fx);
}

TEST(client_ids_of_one_account_are_independent)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    struct command small = session_buy(tree.member_id, instrument, 1);
    struct command large = session_buy(tree.member_id, instrument, 2);
    struct outcome a = session_send(&fx, &small, 1001, 10);
    struct outcome b = session_send(&fx, &large, 1002, 1);
    CHECK_EQ_I64(a.result, RESULT_OK);
    CHECK_EQ_I64(b.result, RESULT_OK);
    CHECK_EQ_I64(b.duplicate, 0);
    CHECK(a.id != b.id);
    struct outcome a_again = session_send(&fx, &small, 1001, 10);
    struct outcome b_again = session_send(&fx, &large, 1002, 1);
    CHECK(outcome_same(&a_again, &a));
    CHECK(outcome_same(&b_again, &b));
    CHECK_EQ_I64(a_again.duplicate, 1);
    CHECK_EQ_I64(b_again.duplicate, 1);
    /* Sequence 2 on the second client is new there, although the first is at 10. */
    CHECK_EQ_I64(session_send(&fx, &large, 1002, 2).duplicate, 0);
    struct depth_level levels[2];
    CHECK_EQ_I64(engine_book_depth(&fx.engine, instrument, SIDE_BUY, levels, 2), 1);
    CHECK_EQ_I64(levels[0].quantity, 5);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(same_client_id_under_two_accounts_is_independent)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t other = fixture_account(&fx, 0, tree.agent_id, ACCOUNT_KIND_MEMBER, 100000);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    struct command mine = session_buy(tree.member_id, instrument, 1);
    struct command theirs = session_buy(other, instrument, 4);
    struct outcome a = session_send(&fx, &mine, 77, 1);
    struct outcome b = session_send(&fx, &theirs, 77, 1);
    CHECK_EQ_I64(a.result, RESULT_OK);
    CHECK_EQ_I64(b.result, RESULT_OK);
    CHECK_EQ_I64(b.duplicate, 0);
    CHECK(a.id != b.id);
    struct outcome a_again = session_send(&fx, &mine, 77, 1);
    struct outcome b_again = session_send(&fx, &theirs, 77, 1);
    CHECK(outcome_same(&a_again, &a));
    CHECK(outcome_same(&b_again, &b));
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].reserved_minor, 950);
    CHECK_EQ_I64(fx.engine.accounts[other].reserved_minor, 950 * 4);
    fixture_free(&fx);
}

TEST(sessions_full)
{
    struct fixture fx;
    struct fixture_tree tree;
    struct limits limits;
    fixture_limits(&limits);
    limits.sessions_max = 2;
    fixture_init_limits(&fx, &limits);
    fixture_tree(&fx, &tree); /* every set-up step is the house's client 1 */
    CHECK_EQ_I64(fx.engine.session_count, 1);
    struct command deposit = session_deposit(tree.member_id, 10);
    CHECK_EQ_I64(session_send(&fx, &deposit, 2, 1).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.session_count, 2);
    struct digest before;
    engine_digest(&fx.engine, &before);
    for (int i = 0; i < 2; i++) {
        struct outcome full = session_send(&fx, &deposit, 3, 1);
        CHECK_EQ_I64(full.result, REJECT_SESSIONS_FULL);
        CHECK_EQ_I64(full.duplicate, 0);
        CHECK_EQ_I64(fx.event_count, 0);
        CHECK_EQ_I64(fx.engine.session_count, 2);
        CHECK(session_digest_equal(&fx, &before));
    }
    struct command set = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, tree.agent_id);
    set.u.account_set_limits.account_id = tree.member_id;
    CHECK_EQ_I64(session_send(&fx, &set, 1, 1).result, REJECT_SESSIONS_FULL);
    /* The sessions that exist go on. */
    CHECK_EQ_I64(session_send(&fx, &deposit, 2, 2).value, 20);
    CHECK_EQ_I64(session_send(&fx, &deposit, 1, fx.engine.sessions[0].last_seq + 1).value, 30);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, 30);
    fixture_free(&fx);
}

TEST(rejects_are_recorded)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct command withdraw = fixture_command(COMMAND_CASH_WITHDRAW, 0);
    withdraw.u.cash.account_id = tree.member_id;
    withdraw.u.cash.amount_minor = 500;
    struct outcome refused = session_send(&fx, &withdraw, 6, 1);
    CHECK_EQ_I64(refused.result, REJECT_FUNDS_INSUFFICIENT);
    /* Now it could succeed, but the resend gets the first answer. */
    struct command deposit = session_deposit(tree.member_id, 800);
    CHECK_EQ_I64(session_send(&fx, &deposit, 6, 2).value, 800);
    struct outcome again = session_send(&fx, &withdraw, 6, 1);
    CHECK(outcome_same(&again, &refused));
    CHECK_EQ_I64(again.duplicate, 1);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, 800);
    CHECK_EQ_I64(session_send(&fx, &withdraw, 6, 3).value, 300);

    struct command day_end = fixture_command(COMMAND_DAY_END, tree.member_id);
    CHECK_EQ_I64(session_send(&fx, &day_end, 6, 1).result, REJECT_NOT_AUTHORIZED);
    struct outcome unauthorized = session_send(&fx, &day_end, 6, 1);
    CHECK_EQ_I64(unauthorized.result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(unauthorized.duplicate, 1);
    struct command unknown = fixture_command(COMMAND_TYPE_COUNT, tree.member_id);
    CHECK_EQ_I64(session_send(&fx, &unknown, 6, 2).result, REJECT_COMMAND_UNKNOWN);
    CHECK_EQ_I64(session_send(&fx, &unknown, 6, 2).duplicate, 1);
    CHECK_EQ_I64(session_send(&fx, &unknown, 6, 2).result, REJECT_COMMAND_UNKNOWN);
    fixture_free(&fx);
}

/* A resend is answered before authorization: suspending the sender after
 * the first attempt does not change the answer. */
TEST(resend_answered_before_authorization)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    struct command buy = session_buy(tree.member_id, instrument, 2);
    struct outcome placed = session_send(&fx, &buy, 12, 1);
    CHECK_EQ_I64(placed.result, RESULT_OK);
    struct command suspend = fixture_command(COMMAND_ACCOUNT_SET_STATUS, tree.agent_id);
    suspend.u.account_set_status.account_id = tree.member_id;
    suspend.u.account_set_status.status = ACCOUNT_STATUS_SUSPENDED;
    CHECK_EQ_I64(session_send(&fx, &suspend, 1, 1).result, RESULT_OK);
    struct outcome resent = session_send(&fx, &buy, 12, 1);
    CHECK(outcome_same(&resent, &placed));
    CHECK_EQ_I64(resent.duplicate, 1);
    CHECK_EQ_I64(session_send(&fx, &buy, 12, 2).result, REJECT_SENDER_INACTIVE);
    fixture_free(&fx);
}

TEST(activate_logic)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct command logic = fixture_command(COMMAND_ACTIVATE_LOGIC, tree.operator_id);
    logic.u.activate_logic.logic_version = LOGIC_VERSION_MIN;
    struct outcome current = session_send(&fx, &logic, 21, 1);
    CHECK_EQ_I64(current.result, REJECT_LOGIC_VERSION);
    CHECK_EQ_I64(session_send(&fx, &logic, 21, 1).duplicate, 1);
    logic.u.activate_logic.logic_version = 0;
    CHECK_EQ_I64(session_send(&fx, &logic, 21, 2).result, REJECT_LOGIC_VERSION);

    /* Version 2 is beyond this build: the node stops, nothing changes,
     * not even the session or the clock, and no event is emitted. */
    struct digest before;
    engine_digest(&fx.engine, &before);
    uint64_t now_ns = fx.engine.now_ns;
    logic.u.activate_logic.logic_version = LOGIC_VERSION_MAX + 1;
    struct outcome outcome;
    CHECK_EQ_I64(session_apply(&fx, &logic, 21, 3, &outcome), ERR_LOGIC_UNSUPPORTED);
    CHECK_EQ_I64(fx.event_count, 0);
    CHECK_EQ_I64(fx.engine.logic_version, LOGIC_VERSION_MIN);
    CHECK_EQ_I64(fx.engine.now_ns, now_ns);
    CHECK(session_digest_equal(&fx, &before));
    CHECK_EQ_I64(session_apply(&fx, &logic, 21, 3, &outcome), ERR_LOGIC_UNSUPPORTED);
    /* Sequence 3 was never used: the same number is still new. */
    logic.u.activate_logic.logic_version = LOGIC_VERSION_MIN;
    struct outcome after = session_send(&fx, &logic, 21, 3);
    CHECK_EQ_I64(after.result, REJECT_LOGIC_VERSION);
    CHECK_EQ_I64(after.duplicate, 0);

    /* Only an authorized sender reaches the version check. */
    struct command member_logic = fixture_command(COMMAND_ACTIVATE_LOGIC, tree.member_id);
    member_logic.u.activate_logic.logic_version = LOGIC_VERSION_MAX + 1;
    CHECK_EQ_I64(session_apply(&fx, &member_logic, 21, 1, &outcome), 0);
    CHECK_EQ_I64(outcome.result, REJECT_NOT_AUTHORIZED);
    fixture_free(&fx);
}

/* A batch stops at the command the build cannot run: the ones before it
 * are applied, it and the ones after are not, and applied_count says so. */
TEST(batch_stops_at_unsupported_logic)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct command commands[3];
    commands[0] = session_deposit(tree.member_id, 100);
    commands[1] = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    commands[1].u.activate_logic.logic_version = LOGIC_VERSION_MAX + 1;
    commands[2] = session_deposit(tree.member_id, 200);
    for (uint32_t i = 0; i < 3; i++) {
        commands[i].client_id = 9;
        commands[i].client_seq = i + 1;
    }
    struct outcome outcomes[3];
    struct event_sink sink = {.emit_cb = fixture_emit, .context = &fx};
    uint32_t applied = 99;
    int rv = engine_apply_batch(&fx.engine, 5000000, commands, 3, &sink, outcomes, &applied);
    CHECK_EQ_I64(rv, ERR_LOGIC_UNSUPPORTED);
    CHECK_EQ_I64(applied, 1);
    CHECK_EQ_I64(outcomes[0].result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, 100);
    CHECK_EQ_I64(fx.engine.logic_version, LOGIC_VERSION_MIN);

    /* The same batch without the activation goes in whole. */
    commands[1] = session_deposit(tree.member_id, 300);
    commands[1].client_id = 9;
    commands[1].client_seq = 2;
    rv = engine_apply_batch(&fx.engine, 6000000, &commands[1], 2, &sink, outcomes, &applied);
    CHECK_EQ_I64(rv, 0);
    CHECK_EQ_I64(applied, 2);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].balance_minor, 600);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST_MAIN()
