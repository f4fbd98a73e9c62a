/* Unit tests for the session bounds and one-time secrets of logic version
 * 3 (session.c, engine.c, docs/protocol.md "Session bounds").
 *
 * From ACTIVATE_LOGIC 3: an account holds at most
 * limits.sessions_per_account_max sessions (one more evicts its least
 * recently used), a full table evicts the least recently used of any
 * account, DAY_END frees sessions unused for limits.session_idle_days
 * trading days, and a command with no session whose client_seq is at or
 * below its account's horizon (the highest last_seq of the sessions it
 * lost) is refused with REJECT_SESSION_EVICTED and never applied. A secret
 * another account set allows nothing but setting the account's own.
 * Before the activation every build decides as before: the fixed log of
 * session_log.h ends with the digests an older build computed.
 */
#include <stdlib.h>
#include <xxhash.h>

#include "core/session.h"
#include "core/snapshot.h"
#include "session_log.h"
#include "test.h"

static struct outcome bounds_send(struct fixture *fx, struct command *c, uint64_t client_id,
                                  uint64_t client_seq)
{
    c->client_id = client_id;
    c->client_seq = client_seq;
    return fixture_apply(fx, c);
}

/* A buy of quantity at 950: its reserve shows whether it was applied. */
static struct command bounds_buy(uint32_t member, uint32_t instrument, int64_t quantity)
{
    return fixture_limit_order(member, instrument, SIDE_BUY, 950, quantity, TIF_GTC);
}

/* A cancel of an order that does not exist: refused, but remembered in
 * its session all the same, so it opens one. */
static struct command bounds_noop(uint32_t sender)
{
    struct command c = fixture_command(COMMAND_ORDER_CANCEL, sender);
    c.u.order_cancel.order_id = 999999;
    return c;
}

static void bounds_activate(struct fixture *fx, uint32_t version)
{
    struct command activate = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    activate.u.activate_logic.logic_version = version;
    fixture_ok(fx, &activate);
}

static void bounds_init(struct fixture *fx, struct fixture_tree *tree, uint32_t per_account,
                        uint32_t table, uint32_t idle_days)
{
    struct limits limits;
    fixture_limits(&limits);
    limits.sessions_per_account_max = per_account;
    limits.sessions_max = table;
    limits.session_idle_days = idle_days;
    fixture_init_limits(fx, &limits);
    fixture_tree(fx, tree);
}

/* Logic 3 with a per-account bound, a member with money and an open
 * instrument; returns the instrument. */
static uint32_t bounds_trading(struct fixture *fx, struct fixture_tree *tree, uint32_t per_account)
{
    bounds_init(fx, tree, per_account, 512, 5);
    uint32_t instrument = fixture_instrument(fx, "ACME");
    fixture_deposit(fx, tree->member_id, 1000000);
    bounds_activate(fx, 3);
    return instrument;
}

static bool bounds_digest_equal(const struct engine *a, const struct engine *b)
{
    struct digest x;
    struct digest y;
    engine_digest(a, &x);
    engine_digest(b, &y);
    return x.high == y.high && x.low == y.low;
}

static bool bounds_has(const struct fixture *fx, uint32_t account_id, uint64_t client_id)
{
    return session_find(&fx->engine, account_id, client_id) != INDEX_NONE;
}

/* Quota 4: the fifth client id evicts the one used least recently, which
 * is not the one opened first once that one is used again. */
TEST(per_account_quota_evicts_its_least_recently_used)
{
    struct fixture fx;
    struct fixture_tree tree;
    uint32_t instrument = bounds_trading(&fx, &tree, 4);
    struct command buy = bounds_buy(tree.member_id, instrument, 1);
    for (uint64_t client = 101; client <= 104; client++)
        CHECK_EQ_I64(bounds_send(&fx, &buy, client, 1).result, RESULT_OK);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 101, 2).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.account_sessions[tree.member_id].count, 4);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 105, 1).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.account_sessions[tree.member_id].count, 4);
    CHECK(bounds_has(&fx, tree.member_id, 101));
    CHECK(!bounds_has(&fx, tree.member_id, 102));
    CHECK(bounds_has(&fx, tree.member_id, 103));
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].session_horizon_seq, 1);
    /* Another account's sessions are not touched. */
    CHECK(bounds_has(&fx, 0, 1));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* An evicted session's resend, and its next command numbered at or below
 * the horizon, are refused and change nothing; above the horizon a
 * session opens again, and its old sequences are then resends (stale). */
TEST(evicted_session_refuses_resends_and_applies_nothing)
{
    struct fixture fx;
    struct fixture_tree tree;
    uint32_t instrument = bounds_trading(&fx, &tree, 2);
    struct command buy = bounds_buy(tree.member_id, instrument, 2);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 201, 1).result, RESULT_OK);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 201, 2).result, RESULT_OK);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 202, 1).result, RESULT_OK);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 203, 1).result, RESULT_OK); /* evicts 201 */
    CHECK(!bounds_has(&fx, tree.member_id, 201));
    int64_t reserved = fx.engine.accounts[tree.member_id].reserved_minor;
    CHECK_EQ_I64(reserved, 4 * 2 * 950);
    struct digest before;
    engine_digest(&fx.engine, &before);
    for (uint64_t seq = 1; seq <= 2; seq++) {
        struct outcome resent = bounds_send(&fx, &buy, 201, seq);
        CHECK_EQ_I64(resent.result, REJECT_SESSION_EVICTED);
        CHECK_EQ_I64(resent.value, 2);
        CHECK_EQ_I64(resent.duplicate, 0);
        CHECK_EQ_I64(fx.event_count, 0);
    }
    struct digest after;
    engine_digest(&fx.engine, &after);
    CHECK(before.high == after.high && before.low == after.low);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].reserved_minor, reserved);
    /* A new client id below the horizon is refused too: the state cannot
     * tell it from an evicted one. */
    CHECK_EQ_I64(bounds_send(&fx, &buy, 299, 1).result, REJECT_SESSION_EVICTED);
    /* Above the horizon (what LOGON_OK tells the client) it goes on. */
    CHECK_EQ_I64(bounds_send(&fx, &buy, 201, 3).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].reserved_minor, reserved + 2 * 950);
    struct outcome old = bounds_send(&fx, &buy, 201, 2);
    CHECK_EQ_I64(old.result, REJECT_SEQUENCE_STALE);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].reserved_minor, reserved + 2 * 950);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* A table of 6: the seventh session evicts the least recently used of any
 * account. After the activation the sessions are ordered by key, so the
 * house's client 1 (which the fixture keeps using) is the newest here. */
TEST(full_table_evicts_least_recently_used_anywhere)
{
    struct fixture fx;
    struct fixture_tree tree;
    bounds_init(&fx, &tree, 64, 6, 5);
    bounds_activate(&fx, 3);
    CHECK_EQ_I64(fx.engine.session_count, 1);
    struct command noop = bounds_noop(tree.member_id);
    for (uint64_t client = 1; client <= 4; client++)
        bounds_send(&fx, &noop, client, 1);
    struct command agent_noop = bounds_noop(tree.agent_id);
    bounds_send(&fx, &agent_noop, 9, 1);
    CHECK_EQ_I64(fx.engine.session_count, 6);
    bounds_send(&fx, &noop, 1, 2); /* member client 1 is used again */
    struct command deposit = fixture_command(COMMAND_CASH_DEPOSIT, 0);
    deposit.u.cash.account_id = tree.member_id;
    deposit.u.cash.amount_minor = 5;
    fixture_ok(&fx, &deposit); /* the house's client 1 too */
    /* The least recently used is now the member's client 2. */
    CHECK_EQ_I64(bounds_send(&fx, &agent_noop, 10, 1).result, REJECT_ORDER_UNKNOWN);
    CHECK_EQ_I64(fx.engine.session_count, 6);
    CHECK(!bounds_has(&fx, tree.member_id, 2));
    CHECK(bounds_has(&fx, tree.member_id, 1));
    CHECK(bounds_has(&fx, tree.agent_id, 10));
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].session_horizon_seq, 1);
    CHECK_EQ_I64(fx.engine.accounts[tree.agent_id].session_horizon_seq, 0);
    /* Before logic 3 the same table refuses instead. */
    struct fixture old;
    struct fixture_tree old_tree;
    bounds_init(&old, &old_tree, 64, 6, 5);
    for (uint64_t client = 1; client <= 5; client++)
        bounds_send(&old, &noop, client, 1);
    CHECK_EQ_I64(bounds_send(&old, &agent_noop, 10, 1).result, REJECT_SESSIONS_FULL);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&old);
    fixture_free(&fx);
}

static void bounds_day(struct fixture *fx, uint32_t date)
{
    struct command start = fixture_command(COMMAND_DAY_START, 0);
    start.u.day.trading_date = date;
    fixture_ok(fx, &start);
    struct command end = fixture_command(COMMAND_DAY_END, 0);
    end.u.day.trading_date = date;
    fixture_ok(fx, &end);
}

/* Idle days 2: a session used on day 1 lives through the end of day 2 and
 * is freed at the end of day 3; one used on day 2 lives on. The house's
 * client 1, which sends the day commands, is never freed by its own. */
TEST(day_end_frees_sessions_unused_for_the_idle_days)
{
    struct fixture fx;
    struct fixture_tree tree;
    bounds_init(&fx, &tree, 64, 512, 2);
    struct command agent_noop = bounds_noop(tree.agent_id);
    bounds_send(&fx, &agent_noop, 77, 1); /* before the activation */
    bounds_activate(&fx, 3);
    struct command start = fixture_command(COMMAND_DAY_START, 0);
    start.u.day.trading_date = 20260105;
    fixture_ok(&fx, &start);
    struct command noop = bounds_noop(tree.member_id);
    bounds_send(&fx, &noop, 50, 1);
    bounds_send(&fx, &noop, 51, 1);
    struct command end = fixture_command(COMMAND_DAY_END, 0);
    end.u.day.trading_date = 20260105;
    fixture_ok(&fx, &end);
    start.u.day.trading_date = 20260106;
    start.client_seq = 0; /* the fixture's next */
    fixture_ok(&fx, &start);
    bounds_send(&fx, &noop, 51, 2);
    end.u.day.trading_date = 20260106;
    end.client_seq = 0;
    fixture_ok(&fx, &end);
    CHECK(bounds_has(&fx, tree.member_id, 50));
    bounds_day(&fx, 20260107);
    CHECK(!bounds_has(&fx, tree.member_id, 50));
    CHECK(bounds_has(&fx, tree.member_id, 51));
    CHECK(bounds_has(&fx, 0, 1));
    /* Sessions from before the activation (day 0) went too. */
    CHECK(!bounds_has(&fx, tree.agent_id, 77));
    CHECK_EQ_I64(bounds_send(&fx, &noop, 50, 1).result, REJECT_SESSION_EVICTED);
    bounds_day(&fx, 20260108);
    CHECK(!bounds_has(&fx, tree.member_id, 51));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

static struct command bounds_secret(uint32_t sender, uint32_t account_id, uint8_t salt)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_SECRET, sender);
    c.u.account_set_secret.account_id = account_id;
    c.u.account_set_secret.salt[0] = salt;
    return c;
}

/* A reset by the agent: the member may only set its own secret; then all
 * is as before. Before logic 3 a reset restricts nothing. */
TEST(one_time_secret_allows_only_setting_ones_own)
{
    struct fixture fx;
    struct fixture_tree tree;
    bounds_init(&fx, &tree, 64, 512, 5);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    fixture_deposit(&fx, tree.member_id, 1000000);
    struct command reset = bounds_secret(tree.agent_id, tree.member_id, 1);
    struct command buy = bounds_buy(tree.member_id, instrument, 1);
    CHECK_EQ_I64(bounds_send(&fx, &reset, 5, 1).result, RESULT_OK);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 5, 1).result, RESULT_OK); /* logic 1: allowed */
    bounds_activate(&fx, 3);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].secret_one_time, 0);
    CHECK_EQ_I64(bounds_send(&fx, &reset, 5, 2).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].secret_one_time, 1);
    int64_t reserved = fx.engine.accounts[tree.member_id].reserved_minor;
    CHECK_EQ_I64(bounds_send(&fx, &buy, 5, 2).result, REJECT_SECRET_CHANGE_REQUIRED);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 5, 2).duplicate, 1);
    struct command cancel = bounds_noop(tree.member_id);
    CHECK_EQ_I64(bounds_send(&fx, &cancel, 6, 1).result, REJECT_SECRET_CHANGE_REQUIRED);
    /* Not even another account's secret (it may not anyway). */
    struct command other = bounds_secret(tree.member_id, tree.agent_id, 2);
    CHECK_EQ_I64(bounds_send(&fx, &other, 5, 3).result, REJECT_SECRET_CHANGE_REQUIRED);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].reserved_minor, reserved);
    struct command own = bounds_secret(tree.member_id, tree.member_id, 3);
    CHECK_EQ_I64(bounds_send(&fx, &own, 5, 4).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].secret_one_time, 0);
    CHECK_EQ_I64(bounds_send(&fx, &buy, 5, 5).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].reserved_minor, reserved + 950);
    /* The agent is not restricted by its member's reset. */
    struct command limits = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, tree.agent_id);
    limits.u.account_set_limits.account_id = tree.member_id;
    CHECK_EQ_I64(bounds_send(&fx, &limits, 5, 3).result, RESULT_OK);
    fixture_free(&fx);
}

/* Digests of session_log.h's log, computed by the build before logic
 * version 3's session rules (commit ef3aacd): never activated, and
 * activated up to 2 at day 3. */
static const struct digest BOUNDS_OLD_DIGESTS[2] = {
    {0x30a8bdf450416422ull, 0x69be6927b8487de1ull},
    {0x16edad609f6dd3feull, 0x38c03f538cd220b1ull},
};

TEST(before_logic_3_every_decision_is_as_before)
{
    uint32_t cases[2][2] = {{0, 0}, {3, 2}};
    struct digest digests[2];
    for (uint32_t i = 0; i < 2; i++) {
        struct fixture fx;
        struct limits limits;
        fixture_limits(&limits);
        limits.sessions_per_account_max = 2; /* not looked at before logic 3 */
        limits.session_idle_days = 1;
        fixture_init_limits(&fx, &limits);
        session_log_replay(&fx, cases[i][0], cases[i][1]);
        engine_digest(&fx.engine, &digests[i]);
        CHECK_EQ_I64(fx.engine.session_count, 94);
        CHECK(digests[i].high == BOUNDS_OLD_DIGESTS[i].high);
        CHECK(digests[i].low == BOUNDS_OLD_DIGESTS[i].low);
        CHECK(fixture_check(&fx) == 0);
        fixture_free(&fx);
    }
    /* The same log with logic 3 from day 3 decides otherwise. */
    struct fixture fx;
    fixture_init(&fx);
    session_log_replay(&fx, 3, 3);
    struct digest three;
    engine_digest(&fx.engine, &three);
    CHECK(three.high != digests[1].high || three.low != digests[1].low);
    for (uint32_t id = 0; id < fx.engine.account_count; id++)
        CHECK(fx.engine.account_sessions[id].count <= SESSIONS_PER_ACCOUNT_DEFAULT);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

static uint8_t *bounds_snapshot(const struct engine *engine, size_t *length)
{
    size_t size = snapshot_size(engine);
    uint8_t *image = malloc(size);
    assert(image != NULL);
    int rv = snapshot_encode(engine, image, size, length);
    assert(rv == 0);
    (void)rv;
    return image;
}

static int bounds_restore(struct fixture *restored, const struct limits *limits,
                          const uint8_t *image, size_t length)
{
    char errmsg[256];
    fixture_init_limits(restored, limits);
    int rv = snapshot_decode(&restored->engine, image, length, errmsg, sizeof errmsg);
    if (rv != 0)
        fprintf(stderr, "  decode: %s\n", errmsg);
    return rv;
}

/* A logic 3 state with horizons, a one-time secret, a day count and an
 * order of use goes through a snapshot whole: the restored engine has
 * the same digest and evicts the same session next. */
TEST(snapshot_keeps_the_session_bounds)
{
    struct fixture fx;
    struct fixture_tree tree;
    bounds_init(&fx, &tree, 3, 512, 3);
    bounds_activate(&fx, 3);
    bounds_day(&fx, 20260105);
    struct command noop = bounds_noop(tree.member_id);
    for (uint64_t client = 10; client < 20; client++)
        bounds_send(&fx, &noop, client, client);
    bounds_send(&fx, &noop, 17, 30);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].session_horizon_seq, 16);
    struct command reset_member = bounds_secret(tree.agent_id, tree.member_id, 1);
    bounds_send(&fx, &reset_member, 3, 1);
    CHECK_EQ_I64(fx.engine.accounts[tree.member_id].secret_one_time, 1);
    size_t length = 0;
    uint8_t *image = bounds_snapshot(&fx.engine, &length);
    struct fixture restored;
    CHECK_EQ_I64(bounds_restore(&restored, &fx.engine.limits, image, length), 0);
    free(image);
    CHECK(bounds_digest_equal(&fx.engine, &restored.engine));
    CHECK_EQ_I64(restored.engine.day_count, 1);
    CHECK_EQ_I64(restored.engine.session_clock, fx.engine.session_clock);
    restored.time_ns = fx.time_ns; /* the same stream times from here */
    struct fixture *engines[2] = {&fx, &restored};
    for (uint32_t e = 0; e < 2; e++) {
        struct command own = bounds_secret(tree.member_id, tree.member_id, 4);
        CHECK_EQ_I64(bounds_send(engines[e], &own, 18, 40).result, RESULT_OK);
        CHECK_EQ_I64(bounds_send(engines[e], &noop, 30, 41).result, REJECT_ORDER_UNKNOWN);
        CHECK(!bounds_has(engines[e], tree.member_id, 19)); /* the least recently used */
        CHECK(bounds_has(engines[e], tree.member_id, 17));
    }
    CHECK(bounds_digest_equal(&fx.engine, &restored.engine));
    fixture_free(&restored);
    fixture_free(&fx);
}

/* Snapshot format version 1 still loads: a state below logic 3 has the
 * same body in both versions, and one at logic 3 (written by a build with
 * logic 3's other rules but not these) gets the order of the move to 3. */
TEST(snapshot_format_version_1_loads)
{
    struct fixture fx;
    struct fixture_tree tree;
    bounds_init(&fx, &tree, 64, 512, 5);
    session_log_replay(&fx, 3, 2);
    size_t length = 0;
    uint8_t *image = bounds_snapshot(&fx.engine, &length);
    CHECK_EQ_I64(image[4], 1); /* below logic 3: written as version 1 */
    image[4] = 2;              /* as the build before snapshot_format_written */
    struct fixture restored;
    CHECK_EQ_I64(bounds_restore(&restored, &fx.engine.limits, image, length), 0);
    CHECK(bounds_digest_equal(&fx.engine, &restored.engine));
    fixture_free(&restored);
    image[4] = 1;
    CHECK_EQ_I64(bounds_restore(&restored, &fx.engine.limits, image, length), 0);
    CHECK(bounds_digest_equal(&fx.engine, &restored.engine));
    CHECK_EQ_I64(restored.engine.session_count, fx.engine.session_count);
    fixture_free(&restored);
    /* The same body read as logic 3: the first four body bytes. */
    image[SNAPSHOT_HEADER_SIZE] = 3;
    uint8_t header[SNAPSHOT_HEADER_SIZE];
    snapshot_header_encode(header, 3, length - SNAPSHOT_HEADER_SIZE,
                           XXH3_64bits(image + SNAPSHOT_HEADER_SIZE,
                                       length - SNAPSHOT_HEADER_SIZE));
    memcpy(image, header, SNAPSHOT_HEADER_SIZE);
    image[4] = 1;
    CHECK_EQ_I64(bounds_restore(&restored, &fx.engine.limits, image, length), 0);
    CHECK_EQ_I64(restored.engine.logic_version, 3);
    CHECK_EQ_I64(restored.engine.session_count, fx.engine.session_count);
    /* Ordered by key: the house's client 1 is the least recently used. */
    uint32_t oldest = restored.engine.session_lru.tail;
    CHECK_EQ_I64(restored.engine.sessions[oldest].account_id, 0);
    CHECK_EQ_I64(restored.engine.sessions[oldest].client_id, 1);
    CHECK(fixture_check(&restored) == 0);
    /* Version 2 of the same state carries the new fields. */
    size_t length_3 = 0;
    uint8_t *image_3 = bounds_snapshot(&restored.engine, &length_3);
    CHECK(length_3 > length);
    free(image_3);
    fixture_free(&restored);
    free(image);
    fixture_free(&fx);
}

/* The target: one member opening 2 500 client ids takes at most
 * its quota of places, and every other account can still act. Before
 * logic 3 the same flood fills the table and locks everyone out. */
TEST(one_member_with_2500_client_ids_takes_only_its_quota)
{
    for (uint32_t logic = 2; logic <= 3; logic++) {
        struct fixture fx;
        struct fixture_tree tree;
        bounds_init(&fx, &tree, SESSIONS_PER_ACCOUNT_DEFAULT, 512, 5);
        uint32_t other = fixture_account(&fx, 0, tree.agent_id, ACCOUNT_KIND_MEMBER, 1000);
        bounds_activate(&fx, logic);
        struct command noop = bounds_noop(tree.member_id);
        for (uint64_t client = 1; client <= 2500; client++)
            bounds_send(&fx, &noop, 100000 + client, 1);
        struct command house = fixture_command(COMMAND_CASH_DEPOSIT, 0);
        house.u.cash.account_id = other;
        house.u.cash.amount_minor = 7;
        struct command agent = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, tree.agent_id);
        agent.u.account_set_limits.account_id = other;
        struct command theirs = bounds_noop(other);
        struct outcome results[3] = {
            bounds_send(&fx, &house, 424242, 1),
            bounds_send(&fx, &agent, 424242, 1),
            bounds_send(&fx, &theirs, 424242, 1),
        };
        if (logic == 3) {
            CHECK_EQ_I64(fx.engine.account_sessions[tree.member_id].count,
                         SESSIONS_PER_ACCOUNT_DEFAULT);
            CHECK(fx.engine.session_count <= SESSIONS_PER_ACCOUNT_DEFAULT + 8);
            CHECK_EQ_I64(results[0].result, RESULT_OK);
            CHECK_EQ_I64(results[1].result, RESULT_OK);
            CHECK_EQ_I64(results[2].result, REJECT_ORDER_UNKNOWN);
            CHECK_EQ_I64(fx.engine.accounts[other].balance_minor, 7);
        } else {
            CHECK_EQ_I64(fx.engine.session_count, 512);
            CHECK_EQ_I64(results[0].result, REJECT_SESSIONS_FULL);
            CHECK_EQ_I64(results[1].result, REJECT_SESSIONS_FULL);
            CHECK_EQ_I64(results[2].result, REJECT_SESSIONS_FULL);
        }
        CHECK(fixture_check(&fx) == 0);
        fixture_free(&fx);
    }
}

TEST_MAIN()
