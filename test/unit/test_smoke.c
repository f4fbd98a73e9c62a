/* A first walk through the engine: a tree, an instrument, two orders that
 * trade, a market and a bet that settles; invariants after every step. */
#include "fixture.h"
#include "test.h"

TEST(trade_and_bet)
{
    struct fixture fx;
    struct fixture_tree tree;
    fixture_init(&fx);
    fixture_tree(&fx, &tree);
    uint32_t seller = fixture_account(&fx, 0, tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
    fixture_deposit(&fx, tree.member_id, 1000000);
    uint32_t instrument = fixture_instrument(&fx, "ACME");
    struct command grant = fixture_command(COMMAND_POSITION_GRANT, 0);
    grant.u.position_grant.account_id = seller;
    grant.u.position_grant.instrument_id = instrument;
    grant.u.position_grant.quantity = 500;
    fixture_ok(&fx, &grant);
    CHECK(fixture_check(&fx) == 0);

    struct outcome sell = fixture_order(&fx, seller, instrument, SIDE_SELL, 1010, 300, TIF_DAY);
    CHECK_EQ_I64(sell.result, RESULT_OK);
    struct outcome buy = fixture_order(&fx, tree.member_id, instrument, SIDE_BUY, 1020, 100,
                                       TIF_DAY);
    CHECK_EQ_I64(buy.result, RESULT_OK);
    CHECK_EQ_I64(buy.value, 100);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.price_ticks, 1010);
    CHECK_EQ_I64(engine_position(&fx.engine, tree.member_id, instrument), 100);
    CHECK_EQ_I64(engine_position(&fx.engine, seller, instrument), 400);
    CHECK(fixture_check(&fx) == 0);

    struct command event = fixture_command(COMMAND_SPORT_EVENT_CREATE, tree.operator_id);
    uint32_t event_id = (uint32_t)fixture_ok(&fx, &event).id;
    struct command market = fixture_command(COMMAND_MARKET_CREATE, tree.operator_id);
    market.u.market_create.sport_event_id = event_id;
    market.u.market_create.market_type = MARKET_TYPE_1X2;
    market.u.market_create.odds_milli[0] = 2150;
    market.u.market_create.odds_milli[1] = 3300;
    market.u.market_create.odds_milli[2] = 3500;
    market.u.market_create.stake_min_minor = 100;
    market.u.market_create.stake_max_minor = 1000000;
    uint32_t market_id = (uint32_t)fixture_ok(&fx, &market).id;
    struct command bet = fixture_command(COMMAND_BET_PLACE, tree.member_id);
    bet.u.bet_place.market_id = market_id;
    bet.u.bet_place.selection = 0;
    bet.u.bet_place.odds_milli = 2150;
    bet.u.bet_place.stake_minor = 10000;
    CHECK_EQ_I64(fixture_apply(&fx, &bet).result, RESULT_OK);
    CHECK(fixture_check(&fx) == 0);
    struct command settle = fixture_command(COMMAND_MARKET_SETTLE, tree.operator_id);
    settle.u.market_settle.market_id = market_id;
    settle.u.market_settle.results[0] = BET_RESULT_WIN;
    settle.u.market_settle.results[1] = BET_RESULT_LOSE;
    settle.u.market_settle.results[2] = BET_RESULT_LOSE;
    CHECK_EQ_I64(fixture_apply(&fx, &settle).result, RESULT_OK);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_BET_SETTLED, 0)->u.bet.payout_minor, 11500);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST_MAIN()
