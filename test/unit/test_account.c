/* Unit tests for core/account: what the account commands do once
 * authorization has let them through.
 *
 * Covered: which kind each parent may create, credit ceilings, the account
 * table filling up, status changes (closed is final, the house has none to
 * change), exact balances through deposits and withdrawals (a withdrawal
 * takes cash, never credit, and never reserved or staked cash), position
 * grants with the house holding the exact other side, secrets, account
 * limits, and the PT_SET ceilings. Every reject is checked to leave the
 * value it guards as it was.
 */
#include "fixture.h"
#include "test.h"

#include "core/account.h"

static struct outcome account_create(struct fixture *fx, uint32_t sender, uint32_t parent,
                                     uint8_t kind, int64_t credit_limit_minor)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_CREATE, sender);
    c.u.account_create.parent_id = parent;
    c.u.account_create.kind = kind;
    c.u.account_create.credit_limit_minor = credit_limit_minor;
    return fixture_apply(fx, &c);
}

static struct outcome account_cash(struct fixture *fx, enum command_type type, uint32_t account,
                                   int64_t amount_minor)
{
    struct command c = fixture_command(type, 0);
    c.u.cash.account_id = account;
    c.u.cash.amount_minor = amount_minor;
    return fixture_apply(fx, &c);
}

static struct outcome account_status(struct fixture *fx, uint32_t sender, uint32_t account,
                                     uint8_t status)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_STATUS, sender);
    c.u.account_set_status.account_id = account;
    c.u.account_set_status.status = status;
    return fixture_apply(fx, &c);
}

static struct outcome account_credit(struct fixture *fx, uint32_t sender, uint32_t account,
                                     int64_t credit_limit_minor)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_CREDIT, sender);
    c.u.account_set_credit.account_id = account;
    c.u.account_set_credit.credit_limit_minor = credit_limit_minor;
    return fixture_apply(fx, &c);
}

static struct outcome account_grant(struct fixture *fx, uint32_t account, uint32_t instrument,
                                    int64_t quantity)
{
    struct command c = fixture_command(COMMAND_POSITION_GRANT, 0);
    c.u.position_grant.account_id = account;
    c.u.position_grant.instrument_id = instrument;
    c.u.position_grant.quantity = quantity;
    return fixture_apply(fx, &c);
}

static struct outcome account_pt_set(struct fixture *fx, uint32_t sender, uint32_t account,
                                     uint8_t market_type, uint16_t share_bp, uint16_t max_bp)
{
    struct command c = fixture_command(COMMAND_PT_SET, sender);
    c.u.pt_set.account_id = account;
    c.u.pt_set.market_type = market_type;
    c.u.pt_set.share_bp = share_bp;
    c.u.pt_set.max_bp = max_bp;
    return fixture_apply(fx, &c);
}

/* Checks one parent against every kind: only allowed_kind (and, under
 * the house, also_kind) may be created, and each reject creates nothing. */
static void account_kinds_under(struct fixture *fx, uint32_t parent, uint8_t allowed_kind,
                                uint8_t also_kind)
{
    for (uint8_t kind = 0; kind <= ACCOUNT_KIND_COUNT; kind++) {
        uint32_t count = fx->engine.account_count;
        struct outcome o = account_create(fx, 0, parent, kind, 0);
        if (kind == allowed_kind || kind == also_kind) {
            CHECK_EQ_I64(o.result, RESULT_OK);
            CHECK_EQ_I64(o.id, count);
            CHECK_EQ_I64(fx->engine.account_count, count + 1);
            const struct account *created = &fx->engine.accounts[count];
            CHECK_EQ_I64(created->kind, kind);
            CHECK_EQ_I64(created->parent_id, parent);
            CHECK_EQ_I64(created->depth, fx->engine.accounts[parent].depth + 1);
            CHECK_EQ_I64(created->status, ACCOUNT_STATUS_ACTIVE);
            CHECK_EQ_I64(created->balance_minor, 0);
            CHECK_EQ_I64(created->has_secret, 0);
        } else {
            CHECK_EQ_I64(o.result, REJECT_ACCOUNT_KIND);
            CHECK_EQ_I64(fx->engine.account_count, count);
        }
    }
}

TEST(create_kinds)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    const uint8_t none = ACCOUNT_KIND_COUNT + 1; /* never a kind we ask for */
    account_kinds_under(&fx, 0, ACCOUNT_KIND_SUPER, ACCOUNT_KIND_OPERATOR);
    account_kinds_under(&fx, tree.super_id, ACCOUNT_KIND_MASTER, none);
    account_kinds_under(&fx, tree.master_id, ACCOUNT_KIND_AGENT, none);
    account_kinds_under(&fx, tree.agent_id, ACCOUNT_KIND_MEMBER, none);
    account_kinds_under(&fx, tree.member_id, none, none);
    account_kinds_under(&fx, tree.operator_id, none, none);
    CHECK_EQ_I64(account_create(&fx, 0, 0, 200, 0).result, REJECT_ACCOUNT_KIND);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(create_credit_ceiling)
{
    struct fixture fx;
    fixture_init(&fx);
    /* Under the house any valid amount goes, up to one AMOUNT_MAX_MINOR. */
    struct outcome big = account_create(&fx, 0, 0, ACCOUNT_KIND_SUPER, AMOUNT_MAX_MINOR);
    CHECK_EQ_I64(big.result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[big.id].credit_limit_minor, AMOUNT_MAX_MINOR);
    CHECK_EQ_I64(account_create(&fx, 0, 0, ACCOUNT_KIND_SUPER, AMOUNT_MAX_MINOR + 1).result,
                 REJECT_AMOUNT_INVALID);
    CHECK_EQ_I64(account_create(&fx, 0, 0, ACCOUNT_KIND_SUPER, -1).result,
                 REJECT_AMOUNT_INVALID);
    uint32_t super = (uint32_t)account_create(&fx, 0, 0, ACCOUNT_KIND_SUPER, 1000).id;
    uint32_t count = fx.engine.account_count;
    CHECK_EQ_I64(account_create(&fx, 0, super, ACCOUNT_KIND_MASTER, 1001).result,
                 REJECT_CREDIT_ABOVE_PARENT);
    CHECK_EQ_I64(fx.engine.account_count, count);
    struct outcome master = account_create(&fx, 0, super, ACCOUNT_KIND_MASTER, 1000);
    CHECK_EQ_I64(master.result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[master.id].credit_limit_minor, 1000);
    uint32_t agent = (uint32_t)account_create(&fx, 0, (uint32_t)master.id, ACCOUNT_KIND_AGENT,
                                              400).id;
    CHECK_EQ_I64(account_create(&fx, 0, agent, ACCOUNT_KIND_MEMBER, 401).result,
                 REJECT_CREDIT_ABOVE_PARENT);
    CHECK_EQ_I64(account_create(&fx, 0, agent, ACCOUNT_KIND_MEMBER, 0).result, RESULT_OK);

    /* SET_CREDIT follows the same ceiling; the house has no credit to set. */
    CHECK_EQ_I64(account_credit(&fx, 0, agent, 1001).result, REJECT_CREDIT_ABOVE_PARENT);
    CHECK_EQ_I64(fx.engine.accounts[agent].credit_limit_minor, 400);
    struct outcome raised = account_credit(&fx, (uint32_t)master.id, agent, 1000);
    CHECK_EQ_I64(raised.result, RESULT_OK);
    CHECK_EQ_I64(raised.value, 1000);
    CHECK_EQ_I64(fx.engine.accounts[agent].credit_limit_minor, 1000);
    CHECK_EQ_I64(account_credit(&fx, 0, agent, -5).result, REJECT_AMOUNT_INVALID);
    CHECK_EQ_I64(account_credit(&fx, 0, super, AMOUNT_MAX_MINOR).result, RESULT_OK);
    CHECK_EQ_I64(account_credit(&fx, 0, 0, 10).result, REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(fx.engine.accounts[0].credit_limit_minor, 0);
    fixture_free(&fx);
}

static void account_logic(struct fixture *fx, uint32_t version)
{
    struct command c = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    c.u.activate_logic.logic_version = version;
    fixture_ok(fx, &c);
}

/* Before logic 3 only each child's credit is bounded by the parent's: an
 * agent with 10 000 000 gives two members 10 000 000 each. Old logs
 * replay so. */
/* A tree with a second agent, of 10 000 000 credit, under its master. */
static uint32_t credit_agent(struct fixture *fx, struct fixture_tree *tree)
{
    fixture_init(fx);
    fixture_tree(fx, tree);
    return fixture_account(fx, 0, tree->master_id, ACCOUNT_KIND_AGENT, 10000000);
}

TEST(credit_total_unbounded_before_logic_3)
{
    struct fixture fx;
    struct fixture_tree tree;
    uint32_t agent = credit_agent(&fx, &tree);
    CHECK_EQ_I64(account_create(&fx, agent, agent, ACCOUNT_KIND_MEMBER, 10000000).result,
                 RESULT_OK);
    CHECK_EQ_I64(account_create(&fx, agent, agent, ACCOUNT_KIND_MEMBER, 10000000).result,
                 RESULT_OK);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* From logic 3 what a parent gives its open children stays within its own
 * credit in total. Lowering is never refused; a closed child's credit no
 * longer counts. */
TEST(credit_total_within_parent_from_logic_3)
{
    struct fixture fx;
    struct fixture_tree tree;
    uint32_t agent = credit_agent(&fx, &tree);
    account_logic(&fx, 3);
    struct outcome first = account_create(&fx, agent, agent, ACCOUNT_KIND_MEMBER, 10000000);
    CHECK_EQ_I64(first.result, RESULT_OK);
    uint32_t count = fx.engine.account_count;
    CHECK_EQ_I64(account_create(&fx, agent, agent, ACCOUNT_KIND_MEMBER, 10000000).result,
                 REJECT_CREDIT_ABOVE_PARENT_TOTAL);
    CHECK_EQ_I64(account_create(&fx, agent, agent, ACCOUNT_KIND_MEMBER, 1).result,
                 REJECT_CREDIT_ABOVE_PARENT_TOTAL);
    CHECK_EQ_I64(fx.engine.account_count, count);
    uint32_t member = (uint32_t)first.id;
    CHECK_EQ_I64(account_credit(&fx, agent, member, 6000000).result, RESULT_OK);
    uint32_t second = (uint32_t)account_create(&fx, agent, agent, ACCOUNT_KIND_MEMBER, 4000000).id;
    CHECK_EQ_I64(fx.engine.accounts[second].credit_limit_minor, 4000000);
    CHECK_EQ_I64(account_credit(&fx, agent, second, 4000001).result,
                 REJECT_CREDIT_ABOVE_PARENT_TOTAL);
    CHECK_EQ_I64(fx.engine.accounts[second].credit_limit_minor, 4000000);
    /* The parent's own credit may be cut below what it gave: then its
     * children's credit may only go down until the total fits again. */
    CHECK_EQ_I64(account_credit(&fx, tree.master_id, agent, 5000000).result, RESULT_OK);
    CHECK_EQ_I64(account_credit(&fx, agent, second, 4000000).result, RESULT_OK);
    CHECK_EQ_I64(account_credit(&fx, agent, member, 5000000).result, RESULT_OK);
    CHECK_EQ_I64(account_create(&fx, agent, agent, ACCOUNT_KIND_MEMBER, 0).result, RESULT_OK);
    CHECK_EQ_I64(account_credit(&fx, agent, member, 1000000).result, RESULT_OK);
    CHECK_EQ_I64(account_credit(&fx, agent, member, 1000001).result,
                 REJECT_CREDIT_ABOVE_PARENT_TOTAL);
    /* A closed child's credit no longer counts. */
    CHECK_EQ_I64(account_status(&fx, agent, second, ACCOUNT_STATUS_CLOSED).result, RESULT_OK);
    CHECK_EQ_I64(account_credit(&fx, agent, member, 5000000).result, RESULT_OK);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(accounts_full)
{
    struct fixture fx;
    struct limits limits;
    fixture_limits(&limits);
    limits.accounts_max = 3;
    fixture_init_limits(&fx, &limits);
    CHECK_EQ_I64(account_create(&fx, 0, 0, ACCOUNT_KIND_SUPER, 100).id, 1);
    CHECK_EQ_I64(account_create(&fx, 0, 1, ACCOUNT_KIND_MASTER, 100).id, 2);
    struct outcome full = account_create(&fx, 0, 2, ACCOUNT_KIND_AGENT, 100);
    CHECK_EQ_I64(full.result, REJECT_ACCOUNTS_FULL);
    CHECK_EQ_I64(full.id, 0);
    CHECK_EQ_I64(fx.engine.account_count, 3);
    CHECK_EQ_I64(account_create(&fx, 0, 0, ACCOUNT_KIND_OPERATOR, 0).result,
                 REJECT_ACCOUNTS_FULL);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(status_changes)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t member = tree.member_id;
    struct outcome o = account_status(&fx, tree.agent_id, member, ACCOUNT_STATUS_SUSPENDED);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, member);
    CHECK_EQ_I64(fx.engine.accounts[member].status, ACCOUNT_STATUS_SUSPENDED);
    CHECK_EQ_I64(account_status(&fx, 0, member, ACCOUNT_STATUS_ACTIVE).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[member].status, ACCOUNT_STATUS_ACTIVE);
    CHECK_EQ_I64(account_status(&fx, 0, member, ACCOUNT_STATUS_COUNT).result,
                 REJECT_STATUS_INVALID);
    CHECK_EQ_I64(fx.engine.accounts[member].status, ACCOUNT_STATUS_ACTIVE);

    /* Closing leaves nothing behind: refused while money is in the account,
     * allowed once it is withdrawn. */
    fixture_deposit(&fx, member, 700);
    CHECK_EQ_I64(account_status(&fx, tree.agent_id, member, ACCOUNT_STATUS_CLOSED).result,
                 REJECT_ACCOUNT_NOT_EMPTY);
    CHECK_EQ_I64(fx.engine.accounts[member].status, ACCOUNT_STATUS_ACTIVE);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 700).result, RESULT_OK);

    /* Closed is final: no way back, and nothing more moves in or under it. */
    CHECK_EQ_I64(account_status(&fx, tree.agent_id, member, ACCOUNT_STATUS_CLOSED).result,
                 RESULT_OK);
    for (uint8_t status = 0; status < ACCOUNT_STATUS_COUNT; status++)
        CHECK_EQ_I64(account_status(&fx, 0, member, status).result, REJECT_ACCOUNT_CLOSED);
    CHECK_EQ_I64(fx.engine.accounts[member].status, ACCOUNT_STATUS_CLOSED);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_DEPOSIT, member, 1).result,
                 REJECT_ACCOUNT_CLOSED);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 1).result,
                 REJECT_ACCOUNT_CLOSED);
    CHECK_EQ_I64(fx.engine.accounts[member].balance_minor, 0);
    CHECK_EQ_I64(account_credit(&fx, tree.agent_id, member, 1).result, REJECT_ACCOUNT_CLOSED);
    CHECK_EQ_I64(account_status(&fx, tree.master_id, tree.agent_id, ACCOUNT_STATUS_CLOSED).result,
                 RESULT_OK);
    uint32_t count = fx.engine.account_count;
    CHECK_EQ_I64(account_create(&fx, 0, tree.agent_id, ACCOUNT_KIND_MEMBER, 0).result,
                 REJECT_ACCOUNT_CLOSED);
    CHECK_EQ_I64(fx.engine.account_count, count);

    /* The house has no status to change, whoever asks. */
    for (uint8_t status = 0; status < ACCOUNT_STATUS_COUNT; status++) {
        CHECK_EQ_I64(account_status(&fx, 0, 0, status).result, REJECT_ACCOUNT_KIND);
        CHECK_EQ_I64(account_status(&fx, tree.operator_id, 0, status).result,
                     REJECT_ACCOUNT_KIND);
    }
    CHECK_EQ_I64(fx.engine.accounts[0].status, ACCOUNT_STATUS_ACTIVE);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(deposit_withdraw_exact)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t member = tree.member_id;
    struct outcome o = account_cash(&fx, COMMAND_CASH_DEPOSIT, member, 12345);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, member);
    CHECK_EQ_I64(o.value, 12345);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_DEPOSIT, member, 655).value, 13000);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_DEPOSIT, tree.agent_id, 5).value, 5);
    CHECK_EQ_I64(fx.engine.accounts[0].balance_minor, -13005);
    o = account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 3000);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 10000);
    CHECK_EQ_I64(fx.engine.accounts[member].balance_minor, 10000);
    CHECK_EQ_I64(fx.engine.accounts[0].balance_minor, -10005);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 10000).value, 0);
    CHECK_EQ_I64(fx.engine.accounts[0].balance_minor, -5);
    CHECK(fixture_check(&fx) == 0);

    const int64_t bad[] = {0, -1, AMOUNT_MAX_MINOR + 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_DEPOSIT, member, bad[i]).result,
                     REJECT_AMOUNT_INVALID);
        CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, bad[i]).result,
                     REJECT_AMOUNT_INVALID);
    }
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_DEPOSIT, 0, 1).result, REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, 0, 1).result, REJECT_ACCOUNT_KIND);
    /* A balance never goes above AMOUNT_MAX_MINOR through deposits. */
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_DEPOSIT, member, AMOUNT_MAX_MINOR).result,
                 RESULT_OK);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_DEPOSIT, member, 1).result,
                 REJECT_AMOUNT_INVALID);
    CHECK_EQ_I64(fx.engine.accounts[member].balance_minor, AMOUNT_MAX_MINOR);
    CHECK_EQ_I64(fx.engine.accounts[0].balance_minor, -5 - AMOUNT_MAX_MINOR);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

static struct outcome account_bet(struct fixture *fx, uint32_t operator_id, uint32_t member,
                                  int64_t stake_minor)
{
    struct command event = fixture_command(COMMAND_SPORT_EVENT_CREATE, operator_id);
    uint32_t event_id = (uint32_t)fixture_ok(fx, &event).id;
    struct command market = fixture_command(COMMAND_MARKET_CREATE, operator_id);
    market.u.market_create.sport_event_id = event_id;
    market.u.market_create.market_type = MARKET_TYPE_1X2;
    market.u.market_create.odds_milli[0] = 2000;
    market.u.market_create.odds_milli[1] = 3000;
    market.u.market_create.odds_milli[2] = 4000;
    market.u.market_create.stake_min_minor = 1;
    market.u.market_create.stake_max_minor = 100000;
    uint32_t market_id = (uint32_t)fixture_ok(fx, &market).id;
    struct command bet = fixture_command(COMMAND_BET_PLACE, member);
    bet.u.bet_place.market_id = market_id;
    bet.u.bet_place.odds_milli = 2000;
    bet.u.bet_place.stake_minor = stake_minor;
    return fixture_apply(fx, &bet);
}

/* The member has 1 000 000.00 of credit: available to trade and bet, but
 * never to withdraw. Cash held by buy orders or open stakes is not free. */
TEST(withdraw_uses_cash_not_credit)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t member = tree.member_id;
    CHECK_EQ_I64(engine_available_minor(&fx.engine, member), 100000000);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 1).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(fx.engine.accounts[member].balance_minor, 0);
    fixture_deposit(&fx, member, 1000);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    CHECK_EQ_I64(fixture_order(&fx, member, instrument, SIDE_BUY, 950, 1, TIF_DAY).result,
                 RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[member].reserved_minor, 950);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 51).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 50).value, 950);
    fixture_deposit(&fx, member, 500);
    CHECK_EQ_I64(account_bet(&fx, tree.operator_id, member, 300).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[member].stake_open_minor, 300);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 201).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(fx.engine.accounts[member].balance_minor, 1450);
    CHECK_EQ_I64(account_cash(&fx, COMMAND_CASH_WITHDRAW, member, 200).value, 1250);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, member), 1250 + 100000000 - 950 - 300);
    CHECK_EQ_I64(fx.engine.accounts[0].balance_minor, -1250);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

static void account_grant_check(struct fixture *fx, uint32_t member, uint32_t other,
                                uint32_t instrument, int64_t quantity, int64_t expected)
{
    struct outcome o = account_grant(fx, member, instrument, quantity);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, member);
    CHECK_EQ_I64(o.value, expected);
    CHECK_EQ_I64(engine_position(&fx->engine, member, instrument), expected);
    int64_t other_quantity = engine_position(&fx->engine, other, instrument);
    CHECK_EQ_I64(engine_position(&fx->engine, 0, instrument), -expected - other_quantity);
    CHECK(fixture_check(fx) == 0);
}

TEST(position_grant)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t member = tree.member_id;
    uint32_t other = fixture_account(&fx, 0, tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    account_grant_check(&fx, member, other, instrument, 100, 100);
    account_grant_check(&fx, other, member, instrument, 7, 7);
    account_grant_check(&fx, member, other, instrument, 50, 150);
    account_grant_check(&fx, member, other, instrument, -30, 120);
    CHECK_EQ_I64(engine_position(&fx.engine, 0, instrument), -127);

    /* A sell order holds 100 of the 120: only 20 may be taken back. */
    struct outcome sell = fixture_order(&fx, member, instrument, SIDE_SELL, 1050, 100, TIF_DAY);
    CHECK_EQ_I64(sell.result, RESULT_OK);
    CHECK_EQ_I64(account_grant(&fx, member, instrument, -21).result,
                 REJECT_POSITION_INSUFFICIENT);
    CHECK_EQ_I64(engine_position(&fx.engine, member, instrument), 120);
    account_grant_check(&fx, member, other, instrument, -20, 100);
    struct command cancel = fixture_command(COMMAND_ORDER_CANCEL, member);
    cancel.u.order_cancel.order_id = sell.id;
    CHECK_EQ_I64(fixture_apply(&fx, &cancel).result, RESULT_OK);
    account_grant_check(&fx, member, other, instrument, -100, 0);
    account_grant_check(&fx, other, member, instrument, -7, 0);
    /* Nothing held, nothing kept: not even the house's side. */
    CHECK_EQ_I64(fx.engine.accounts[member].position_head, INDEX_NONE);
    CHECK_EQ_I64(fx.engine.accounts[0].position_head, INDEX_NONE);

    CHECK_EQ_I64(account_grant(&fx, member, instrument, -1).result, REJECT_POSITION_INSUFFICIENT);
    CHECK_EQ_I64(account_grant(&fx, member, instrument, 0).result, REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(account_grant(&fx, member, instrument, QUANTITY_MAX + 1).result,
                 REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(account_grant(&fx, member, instrument, -QUANTITY_MAX - 1).result,
                 REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(account_grant(&fx, member, instrument + 1, 5).result,
                 REJECT_INSTRUMENT_UNKNOWN);
    CHECK_EQ_I64(account_grant(&fx, tree.agent_id, instrument, 5).result, REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(account_grant(&fx, 0, instrument, 5).result, REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(engine_position(&fx.engine, tree.agent_id, instrument), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

static void account_secret_fill(struct command *c, uint32_t account, uint8_t seed)
{
    c->u.account_set_secret.account_id = account;
    for (uint32_t i = 0; i < SECRET_SALT_SIZE; i++)
        c->u.account_set_secret.salt[i] = (uint8_t)(seed + i);
    for (uint32_t i = 0; i < SECRET_HASH_SIZE; i++)
        c->u.account_set_secret.hash[i] = (uint8_t)(seed * 3 + i * 7);
}

TEST(secret_set)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t member = tree.member_id;
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_SECRET, member);
    account_secret_fill(&c, member, 11);
    struct outcome o = fixture_apply(&fx, &c);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, member);
    CHECK_EQ_I64(fx.engine.accounts[member].has_secret, 1);
    CHECK(memcmp(fx.engine.secrets[member].salt, c.u.account_set_secret.salt,
                 SECRET_SALT_SIZE) == 0);
    CHECK(memcmp(fx.engine.secrets[member].hash, c.u.account_set_secret.hash,
                 SECRET_HASH_SIZE) == 0);
    CHECK_EQ_I64(fx.engine.secrets[member].salt[15], 26);
    CHECK_EQ_I64(fx.engine.secrets[member].hash[31], 33 + 31 * 7);
    CHECK_EQ_I64(fx.engine.accounts[tree.agent_id].has_secret, 0);

    /* A new secret from the agent replaces the old one whole. */
    struct command again = fixture_command(COMMAND_ACCOUNT_SET_SECRET, tree.agent_id);
    account_secret_fill(&again, member, 200);
    CHECK_EQ_I64(fixture_apply(&fx, &again).result, RESULT_OK);
    CHECK(memcmp(fx.engine.secrets[member].salt, again.u.account_set_secret.salt,
                 SECRET_SALT_SIZE) == 0);
    CHECK(memcmp(fx.engine.secrets[member].hash, again.u.account_set_secret.hash,
                 SECRET_HASH_SIZE) == 0);
    CHECK_EQ_I64(fx.engine.accounts[member].has_secret, 1);
    const uint8_t zero[SECRET_HASH_SIZE] = {0};
    CHECK(memcmp(fx.engine.secrets[tree.agent_id].hash, zero, SECRET_HASH_SIZE) == 0);
    fixture_free(&fx);
}

TEST(set_limits)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, tree.agent_id);
    c.u.account_set_limits.account_id = tree.member_id;
    c.u.account_set_limits.order_quantity_max = 5;
    c.u.account_set_limits.order_notional_max_minor = 4000;
    c.u.account_set_limits.bet_stake_max_minor = 700;
    c.u.account_set_limits.exposure_limit_minor = 800;
    CHECK_EQ_I64(fixture_apply(&fx, &c).result, RESULT_OK);
    const struct account *member = &fx.engine.accounts[tree.member_id];
    CHECK_EQ_I64(member->order_quantity_max, 5);
    CHECK_EQ_I64(member->order_notional_max_minor, 4000);
    CHECK_EQ_I64(member->bet_stake_max_minor, 700);
    CHECK_EQ_I64(member->exposure_limit_minor, 800);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    CHECK_EQ_I64(fixture_order(&fx, tree.member_id, instrument, SIDE_BUY, 950, 6, TIF_DAY).result,
                 REJECT_QUANTITY_ABOVE_MAX);
    CHECK_EQ_I64(fixture_order(&fx, tree.member_id, instrument, SIDE_BUY, 950, 5, TIF_DAY).result,
                 REJECT_NOTIONAL_ABOVE_MAX);
    CHECK_EQ_I64(fixture_order(&fx, tree.member_id, instrument, SIDE_BUY, 1000, 6, TIF_DAY).result,
                 REJECT_QUANTITY_ABOVE_MAX);
    CHECK_EQ_I64(fixture_order(&fx, tree.member_id, instrument, SIDE_BUY, 950, 4, TIF_DAY).result,
                 RESULT_OK);

    int64_t *fields[] = {&c.u.account_set_limits.order_quantity_max,
                         &c.u.account_set_limits.order_notional_max_minor,
                         &c.u.account_set_limits.bet_stake_max_minor,
                         &c.u.account_set_limits.exposure_limit_minor};
    const int64_t caps[] = {QUANTITY_MAX, AMOUNT_MAX_MINOR, STAKE_MAX_MINOR, AMOUNT_MAX_MINOR};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        int64_t saved = *fields[i];
        const int64_t bad[] = {-1, caps[i] + 1};
        for (size_t k = 0; k < 2; k++) {
            *fields[i] = bad[k];
            c.client_seq = 0;
            CHECK_EQ_I64(fixture_apply(&fx, &c).result, REJECT_AMOUNT_INVALID);
        }
        *fields[i] = saved;
    }
    CHECK_EQ_I64(member->order_quantity_max, 5);
    CHECK_EQ_I64(member->exposure_limit_minor, 800);
    fixture_free(&fx);
}

/* Operator limits: up to 100 %, share never above max. */
TEST(pt_set_operator)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t super = tree.super_id;
    struct outcome o = account_pt_set(&fx, tree.operator_id, super, MARKET_TYPE_1X2, 10000, 10000);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, super);
    CHECK_EQ_I64(o.value, 10000);
    CHECK_EQ_I64(fx.engine.accounts[super].pt_share_bp[MARKET_TYPE_1X2], 10000);
    CHECK_EQ_I64(fx.engine.accounts[super].pt_max_bp[MARKET_TYPE_1X2], 10000);
    CHECK_EQ_I64(account_pt_set(&fx, 0, super, MARKET_TYPE_1X2, 0, 10001).result,
                 REJECT_SHARE_INVALID);
    CHECK_EQ_I64(account_pt_set(&fx, 0, super, MARKET_TYPE_1X2, 10001, 10001).result,
                 REJECT_SHARE_INVALID);
    CHECK_EQ_I64(account_pt_set(&fx, 0, super, MARKET_TYPE_1X2, 6000, 5000).result,
                 REJECT_SHARE_INVALID);
    CHECK_EQ_I64(fx.engine.accounts[super].pt_share_bp[MARKET_TYPE_1X2], 10000);
    CHECK_EQ_I64(fx.engine.accounts[super].pt_max_bp[MARKET_TYPE_1X2], 10000);
    CHECK_EQ_I64(account_pt_set(&fx, 0, super, MARKET_TYPE_COUNT, 0, 0).result,
                 REJECT_MARKET_TYPE_INVALID);
    CHECK_EQ_I64(account_pt_set(&fx, 0, tree.member_id, MARKET_TYPE_1X2, 0, 0).result,
                 REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(account_pt_set(&fx, 0, tree.operator_id, MARKET_TYPE_1X2, 0, 0).result,
                 REJECT_ACCOUNT_KIND);
    CHECK_EQ_I64(account_pt_set(&fx, 0, 0, MARKET_TYPE_1X2, 0, 0).result, REJECT_ACCOUNT_KIND);
    /* An operator speaks for the house, whose own ceiling is 100 %, at any
     * depth; the other market types were left alone. */
    CHECK_EQ_I64(account_pt_set(&fx, tree.operator_id, tree.agent_id, MARKET_TYPE_HANDICAP, 2500,
                                10000).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[tree.agent_id].pt_max_bp[MARKET_TYPE_HANDICAP], 10000);
    CHECK_EQ_I64(fx.engine.accounts[super].pt_max_bp[MARKET_TYPE_HANDICAP], 0);
    CHECK_EQ_I64(fx.engine.accounts[super].pt_max_bp[MARKET_TYPE_OVER_UNDER], 0);
    fixture_free(&fx);
}

/* An ancestor grants at most its own ceiling for that market type. */
TEST(pt_set_ancestor_ceiling)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t super = tree.super_id;
    uint32_t master = tree.master_id;
    uint32_t agent = tree.agent_id;
    CHECK_EQ_I64(account_pt_set(&fx, 0, super, MARKET_TYPE_1X2, 1000, 6000).result, RESULT_OK);
    CHECK_EQ_I64(account_pt_set(&fx, super, master, MARKET_TYPE_1X2, 0, 6001).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(fx.engine.accounts[master].pt_max_bp[MARKET_TYPE_1X2], 0);
    CHECK_EQ_I64(account_pt_set(&fx, super, master, MARKET_TYPE_1X2, 6000, 6000).result,
                 RESULT_OK);
    CHECK_EQ_I64(account_pt_set(&fx, super, master, MARKET_TYPE_1X2, 4000, 4000).result,
                 RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[master].pt_share_bp[MARKET_TYPE_1X2], 4000);
    CHECK_EQ_I64(fx.engine.accounts[master].pt_max_bp[MARKET_TYPE_1X2], 4000);
    CHECK_EQ_I64(account_pt_set(&fx, master, agent, MARKET_TYPE_1X2, 0, 4001).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(account_pt_set(&fx, master, agent, MARKET_TYPE_1X2, 2000, 4000).result,
                 RESULT_OK);
    CHECK_EQ_I64(account_pt_set(&fx, master, agent, MARKET_TYPE_1X2, 2500, 2000).result,
                 REJECT_SHARE_INVALID);
    CHECK_EQ_I64(fx.engine.accounts[agent].pt_share_bp[MARKET_TYPE_1X2], 2000);
    CHECK_EQ_I64(fx.engine.accounts[agent].pt_max_bp[MARKET_TYPE_1X2], 4000);
    /* The grandparent's ceiling is its own (6000), not the parent's. */
    CHECK_EQ_I64(account_pt_set(&fx, super, agent, MARKET_TYPE_1X2, 0, 6001).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(account_pt_set(&fx, super, agent, MARKET_TYPE_1X2, 0, 6000).result, RESULT_OK);
    /* Ceilings are per market type: the super has none for handicap. */
    CHECK_EQ_I64(account_pt_set(&fx, super, master, MARKET_TYPE_HANDICAP, 0, 1).result,
                 REJECT_SHARE_ABOVE_MAX);
    CHECK_EQ_I64(account_pt_set(&fx, super, master, MARKET_TYPE_HANDICAP, 0, 0).result,
                 RESULT_OK);
    CHECK_EQ_I64(fx.engine.accounts[master].pt_max_bp[MARKET_TYPE_1X2], 4000);
    fixture_free(&fx);
}

/* An account id past every table, UINT32_MAX (INDEX_NONE) included, is an
 * unknown account for every command that names one, from the house and
 * from an agent: before issue 14 it failed an assertion or read past the
 * accounts, on every node. */
TEST(account_id_past_every_table)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    const uint16_t types[] = {
        COMMAND_ACCOUNT_CREATE, COMMAND_ACCOUNT_SET_STATUS, COMMAND_ACCOUNT_SET_CREDIT,
        COMMAND_ACCOUNT_SET_LIMITS, COMMAND_ACCOUNT_SET_SECRET, COMMAND_CASH_DEPOSIT,
        COMMAND_CASH_WITHDRAW, COMMAND_POSITION_GRANT, COMMAND_PT_SET,
    };
    const uint32_t ids[] = {UINT32_MAX, UINT32_MAX - 1, fx.engine.account_count};
    const uint32_t senders[] = {0, tree.agent_id};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        CHECK(command_names_account(types[t]));
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            for (size_t s = 0; s < 2; s++) {
                struct command c = fixture_command(types[t], senders[s]);
                memcpy(&c.u, &ids[i], sizeof ids[i]); /* each names it first */
                CHECK_EQ_I64(command_account_id(&c), ids[i]);
                struct outcome o = fixture_apply(&fx, &c);
                if (o.result != REJECT_NOT_AUTHORIZED)
                    CHECK_EQ_I64(o.result, REJECT_ACCOUNT_UNKNOWN);
            }
        }
    }
    CHECK(!command_names_account(COMMAND_ORDER_PLACE));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST_MAIN()
