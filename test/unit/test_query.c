/* Unit tests of the gateway's query answers (src/gateway/query.c): the
 * exact rows of every query type on a fixture state, pages of positions,
 * and who may read what (docs/protocol.md "Queries",
 * docs/authorization.md "Reading").
 *
 * The fixture's numbers, worked out by hand from the rules of the core:
 * the member gets 1 000 000 in cash and 500 ACME; it sells 100 at 1050
 * (GTC, client order id 42) and buys 10 at 950 (reserving 9500); a second
 * member buys 30 at 1050, which trades, and bids 5 at 940. So the member
 * holds 470 with 70 reserved and has 1 031 500 in cash, and the book is
 * bids 950 x 10, 940 x 5, asks 1050 x 70, last 1050. On a 1X2 market at
 * 2.000 / 3.400 / 3.800, with the agent's auto share 20 % and the rest
 * the house's, the member stakes 10 000 on home (wins 10 000) and 5 000 on
 * the draw (wins 12 000): the agent pays 2000 / 2400 / 0 and keeps
 * 2000 / 1000 / 0, the house 8000 / 9600 / 0 and 8000 / 4000 / 0. The
 * worst case of each is home winning: 2000 - 1000 = 1000 for the agent,
 * 8000 - 4000 = 4000 for the house.
 *
 * Every answer is also encoded, decoded and encoded again, so a row the
 * protocol cannot carry fails here and not on a client.
 */
#include "codec/frame.h"
#include "core/odds.h"
#include "fixture.h"
#include "gateway/query.h"
#include "test.h"

struct world {
    struct fixture fx;
    struct fixture_tree tree;
    uint32_t member2;
    uint32_t super2;
    uint32_t instrument;
    uint64_t sell_order;
    uint64_t buy_order;
    uint32_t market_1x2;
    uint32_t market_handicap;
};

static void grant(struct fixture *fx, uint32_t account, uint32_t instrument, int64_t quantity)
{
    struct command c = fixture_command(COMMAND_POSITION_GRANT, 0);
    c.u.position_grant.account_id = account;
    c.u.position_grant.instrument_id = instrument;
    c.u.position_grant.quantity = quantity;
    fixture_ok(fx, &c);
}

static uint64_t order(struct fixture *fx, uint32_t member, uint32_t instrument, enum side side,
                      int64_t price_ticks, int64_t quantity, enum time_in_force tif,
                      uint64_t client_order_id)
{
    struct command c = fixture_command(COMMAND_ORDER_PLACE, member);
    c.u.order_place.instrument_id = instrument;
    c.u.order_place.side = (uint8_t)side;
    c.u.order_place.order_type = ORDER_TYPE_LIMIT;
    c.u.order_place.time_in_force = (uint8_t)tif;
    c.u.order_place.price_ticks = price_ticks;
    c.u.order_place.quantity = quantity;
    c.u.order_place.client_order_id = client_order_id;
    return fixture_ok(fx, &c).id;
}

static void pt_set(struct fixture *fx, uint32_t sender, uint32_t account, uint16_t share_bp)
{
    struct command c = fixture_command(COMMAND_PT_SET, sender);
    c.u.pt_set.account_id = account;
    c.u.pt_set.market_type = MARKET_TYPE_1X2;
    c.u.pt_set.share_bp = share_bp;
    c.u.pt_set.max_bp = 10000;
    fixture_ok(fx, &c);
}

static uint32_t market(struct fixture *fx, uint32_t event, uint8_t type, int32_t line_quarters,
                       int32_t odds0, int32_t odds1, int32_t odds2)
{
    struct command c = fixture_command(COMMAND_MARKET_CREATE, 0);
    c.u.market_create.sport_event_id = event;
    c.u.market_create.market_type = type;
    c.u.market_create.line_quarters = line_quarters;
    c.u.market_create.odds_milli[0] = odds0;
    c.u.market_create.odds_milli[1] = odds1;
    c.u.market_create.odds_milli[2] = odds2;
    c.u.market_create.stake_min_minor = 100;
    c.u.market_create.stake_max_minor = 1000000;
    return (uint32_t)fixture_ok(fx, &c).id;
}

static void bet(struct fixture *fx, uint32_t member, uint32_t market_id, uint8_t selection,
                int32_t odds_milli, int64_t stake_minor)
{
    struct command c = fixture_command(COMMAND_BET_PLACE, member);
    c.u.bet_place.market_id = market_id;
    c.u.bet_place.selection = selection;
    c.u.bet_place.odds_milli = odds_milli;
    c.u.bet_place.stake_minor = stake_minor;
    fixture_ok(fx, &c);
}

static void world_trading(struct world *w)
{
    struct fixture *fx = &w->fx;
    uint32_t member = w->tree.member_id;
    fixture_deposit(fx, member, 1000000);
    w->instrument = fixture_instrument(fx, "ACME");
    grant(fx, member, w->instrument, 500);
    w->sell_order = order(fx, member, w->instrument, SIDE_SELL, 1050, 100, TIF_GTC, 42);
    w->buy_order = order(fx, member, w->instrument, SIDE_BUY, 950, 10, TIF_DAY, 43);
    order(fx, w->member2, w->instrument, SIDE_BUY, 1050, 30, TIF_DAY, 0);
    order(fx, w->member2, w->instrument, SIDE_BUY, 940, 5, TIF_DAY, 0);
}

static void world_sportsbook(struct world *w)
{
    struct fixture *fx = &w->fx;
    pt_set(fx, 0, w->tree.super_id, 0);
    pt_set(fx, w->tree.super_id, w->tree.master_id, 0);
    pt_set(fx, w->tree.master_id, w->tree.agent_id, 2000);
    struct command c = fixture_command(COMMAND_SPORT_EVENT_CREATE, 0);
    c.u.sport_event_create.external_ref = 9001;
    uint32_t event = (uint32_t)fixture_ok(fx, &c).id;
    w->market_1x2 = market(fx, event, MARKET_TYPE_1X2, 0, 2000, 3400, 3800);
    w->market_handicap = market(fx, event, MARKET_TYPE_HANDICAP, -2, 1950, 1900, 0);
    bet(fx, w->tree.member_id, w->market_1x2, 0, 2000, 10000);
    bet(fx, w->tree.member_id, w->market_1x2, 1, 3400, 5000);
}

static void world_init(struct world *w)
{
    fixture_init(&w->fx);
    fixture_tree(&w->fx, &w->tree);
    w->member2 = fixture_account(&w->fx, 0, w->tree.agent_id, ACCOUNT_KIND_MEMBER, 100000000);
    w->super2 = fixture_account(&w->fx, 0, 0, ACCOUNT_KIND_SUPER, 0);
    world_trading(w);
    world_sportsbook(w);
    if (fixture_check(&w->fx) != 0)
        abort();
}

/* Answers, checks the state did not change and the answer survives the
 * wire, and returns the result code (or the negative error). */
static int ask(struct world *w, uint32_t reader, const struct frame_query *query,
               struct frame_query_result *result)
{
    struct digest before, after;
    engine_digest(&w->fx.engine, &before);
    int rv = gateway_query_answer(&w->fx.engine, NULL, reader, query, result);
    engine_digest(&w->fx.engine, &after);
    if (before.high != after.high || before.low != after.low) {
        fprintf(stderr, "  a query changed the state\n");
        abort();
    }
    if (rv != 0)
        return rv;
    static struct frame frame, decoded;
    static uint8_t first[FRAME_BUFFER_SIZE], second[FRAME_BUFFER_SIZE];
    size_t first_size = 0, second_size = 0, consumed = 0;
    frame.type = FRAME_QUERY_RESULT;
    frame.u.query_result = *result;
    if (frame_encode(&frame, first, sizeof first, &first_size) != 0 ||
        frame_decode(first, first_size, &decoded, &consumed) != 0 || consumed != first_size ||
        frame_encode(&decoded, second, sizeof second, &second_size) != 0 ||
        second_size != first_size || memcmp(first, second, first_size) != 0 ||
        decoded.u.query_result.request_id != query->request_id) {
        fprintf(stderr, "  the answer does not survive the wire\n");
        abort();
    }
    return result->result;
}

static struct frame_query query_new(uint16_t type)
{
    struct frame_query query;
    memset(&query, 0, sizeof query);
    query.query_type = type;
    query.request_id = 7000 + type;
    return query;
}

static int ask_account(struct world *w, uint32_t reader, uint32_t account,
                       struct frame_query_result *result)
{
    struct frame_query query = query_new(QUERY_ACCOUNT);
    query.u.account.account_id = account;
    return ask(w, reader, &query, result);
}

static int ask_positions(struct world *w, uint32_t reader, uint32_t account, uint32_t from,
                         struct frame_query_result *result)
{
    struct frame_query query = query_new(QUERY_POSITIONS);
    query.u.positions.account_id = account;
    query.u.positions.instrument_id_from = from;
    return ask(w, reader, &query, result);
}

static int ask_order(struct world *w, uint32_t reader, uint64_t order_id,
                     struct frame_query_result *result)
{
    struct frame_query query = query_new(QUERY_ORDER);
    query.u.order.order_id = order_id;
    return ask(w, reader, &query, result);
}

static int ask_book(struct world *w, uint32_t reader, uint32_t instrument, uint16_t level_count,
                    struct frame_query_result *result)
{
    struct frame_query query = query_new(QUERY_BOOK);
    query.u.book.instrument_id = instrument;
    query.u.book.level_count = level_count;
    return ask(w, reader, &query, result);
}

static int ask_exposure(struct world *w, uint32_t reader, uint32_t account, uint32_t market_id,
                        struct frame_query_result *result)
{
    struct frame_query query = query_new(QUERY_EXPOSURE);
    query.u.exposure.account_id = account;
    query.u.exposure.market_id = market_id;
    return ask(w, reader, &query, result);
}

static int ask_odds(struct world *w, uint32_t reader, uint32_t market_id, uint8_t format,
                    struct frame_query_result *result)
{
    struct frame_query query = query_new(QUERY_ODDS);
    query.u.odds.market_id = market_id;
    query.u.odds.odds_format = format;
    return ask(w, reader, &query, result);
}

static struct world world;
static struct frame_query_result answer;

TEST(account_rows_of_the_member)
{
    world_init(&world);
    uint32_t member = world.tree.member_id;
    CHECK_EQ_I64(ask_account(&world, member, member, &answer), RESULT_OK);
    CHECK_EQ_I64(answer.request_id, 7001);
    CHECK_EQ_I64(answer.query_type, QUERY_ACCOUNT);
    const struct query_account *a = &answer.u.account;
    CHECK_EQ_I64(a->account_id, member);
    CHECK_EQ_I64(a->parent_id, world.tree.agent_id);
    CHECK_EQ_I64(a->kind, ACCOUNT_KIND_MEMBER);
    CHECK_EQ_I64(a->status, ACCOUNT_STATUS_ACTIVE);
    CHECK_EQ_I64(a->balance_minor, 1031500);
    CHECK_EQ_I64(a->credit_limit_minor, 100000000);
    CHECK_EQ_I64(a->reserved_minor, 9500);
    CHECK_EQ_I64(a->stake_open_minor, 15000);
    CHECK_EQ_I64(a->available_minor, 1031500 + 100000000 - 9500 - 15000);
    CHECK_EQ_I64(a->order_quantity_max, 0);
    CHECK_EQ_I64(a->day_fees_minor, 0);
    CHECK_EQ_I64(a->pt_share_bp[MARKET_TYPE_1X2], 0);
    fixture_free(&world.fx);
}

TEST(account_rows_of_limits_and_pt)
{
    world_init(&world);
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, 0);
    c.u.account_set_limits.account_id = world.tree.member_id;
    c.u.account_set_limits.order_quantity_max = 1000;
    c.u.account_set_limits.order_notional_max_minor = 2000000;
    c.u.account_set_limits.bet_stake_max_minor = 50000;
    c.u.account_set_limits.exposure_limit_minor = 0;
    fixture_ok(&world.fx, &c);
    CHECK_EQ_I64(ask_account(&world, world.tree.agent_id, world.tree.member_id, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(answer.u.account.order_quantity_max, 1000);
    CHECK_EQ_I64(answer.u.account.order_notional_max_minor, 2000000);
    CHECK_EQ_I64(answer.u.account.bet_stake_max_minor, 50000);
    CHECK_EQ_I64(answer.u.account.exposure_limit_minor, 0);
    /* The agent's own PT, read by its master. */
    CHECK_EQ_I64(ask_account(&world, world.tree.master_id, world.tree.agent_id, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(answer.u.account.kind, ACCOUNT_KIND_AGENT);
    CHECK_EQ_I64(answer.u.account.parent_id, world.tree.master_id);
    CHECK_EQ_I64(answer.u.account.pt_share_bp[MARKET_TYPE_1X2], 2000);
    CHECK_EQ_I64(answer.u.account.pt_max_bp[MARKET_TYPE_1X2], 10000);
    CHECK_EQ_I64(answer.u.account.pt_share_bp[MARKET_TYPE_HANDICAP], 0);
    CHECK_EQ_I64(answer.u.account.pt_max_bp[MARKET_TYPE_HANDICAP], 0);
    fixture_free(&world.fx);
}

TEST(positions_of_both_members)
{
    world_init(&world);
    CHECK_EQ_I64(ask_positions(&world, world.tree.member_id, world.tree.member_id, 0, &answer),
                 RESULT_OK);
    const struct query_positions *p = &answer.u.positions;
    CHECK_EQ_I64(p->account_id, world.tree.member_id);
    CHECK_EQ_I64(p->more, 0);
    CHECK_EQ_I64(p->count, 1);
    CHECK_EQ_I64(p->positions[0].instrument_id, world.instrument);
    CHECK_EQ_I64(p->positions[0].quantity, 470);
    CHECK_EQ_I64(p->positions[0].quantity_reserved, 70);
    CHECK_EQ_I64(ask_positions(&world, world.member2, world.member2, 0, &answer), RESULT_OK);
    CHECK_EQ_I64(p->count, 1);
    CHECK_EQ_I64(p->positions[0].quantity, 30);
    CHECK_EQ_I64(p->positions[0].quantity_reserved, 0);
    /* From past the only instrument: an empty page. */
    CHECK_EQ_I64(ask_positions(&world, world.member2, world.member2, 1, &answer), RESULT_OK);
    CHECK_EQ_I64(p->count, 0);
    CHECK_EQ_I64(p->more, 0);
    /* A member with no holdings at all: the agent has none either. */
    CHECK_EQ_I64(ask_positions(&world, 0, world.tree.agent_id, 0, &answer), RESULT_OK);
    CHECK_EQ_I64(p->count, 0);
    fixture_free(&world.fx);
}

TEST(positions_skip_a_buy_only_position)
{
    world_init(&world);
    /* A new member's open bid keeps a position that holds nothing. */
    uint32_t member3 = fixture_account(&world.fx, 0, world.tree.agent_id, ACCOUNT_KIND_MEMBER,
                                       100000000);
    order(&world.fx, member3, world.instrument, SIDE_BUY, 930, 1, TIF_DAY, 0);
    CHECK(engine_position(&world.fx.engine, member3, world.instrument) == 0);
    CHECK_EQ_I64(ask_positions(&world, member3, member3, 0, &answer), RESULT_OK);
    CHECK_EQ_I64(answer.u.positions.account_id, member3);
    CHECK_EQ_I64(answer.u.positions.count, 0);
    CHECK_EQ_I64(answer.u.positions.more, 0);
    fixture_free(&world.fx);
}

/* 130 instruments, a member holding id + 1 of each: pages of 128. */
TEST(positions_come_in_pages)
{
    struct world *w = &world;
    struct limits limits;
    fixture_limits(&limits);
    limits.instruments_max = 130;
    fixture_init_limits(&w->fx, &limits);
    fixture_tree(&w->fx, &w->tree);
    uint32_t member = w->tree.member_id;
    for (uint32_t i = 0; i < 130; i++) {
        struct command c = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
        snprintf(c.u.instrument_create.symbol, SYMBOL_SIZE, "I%u", i);
        c.u.instrument_create.tick_size_minor = 1;
        c.u.instrument_create.lot_size = 1;
        c.u.instrument_create.reference_price_ticks = 1000;
        c.u.instrument_create.band_bp = 1000;
        CHECK_EQ_I64(fixture_ok(&w->fx, &c).id, i);
        grant(&w->fx, member, i, i + 1);
    }
    struct query_positions *p = &answer.u.positions;
    CHECK_EQ_I64(ask_positions(w, member, member, 0, &answer), RESULT_OK);
    CHECK_EQ_I64(p->count, 128);
    CHECK_EQ_I64(p->more, 1);
    for (uint32_t i = 0; i < 128; i++) {
        CHECK_EQ_I64(p->positions[i].instrument_id, i);
        CHECK_EQ_I64(p->positions[i].quantity, i + 1);
    }
    CHECK_EQ_I64(ask_positions(w, member, member, 128, &answer), RESULT_OK);
    CHECK_EQ_I64(p->count, 2);
    CHECK_EQ_I64(p->more, 0);
    CHECK_EQ_I64(p->positions[1].instrument_id, 129);
    CHECK_EQ_I64(p->positions[1].quantity, 130);
    /* Exactly a page left: no more. */
    CHECK_EQ_I64(ask_positions(w, member, member, 2, &answer), RESULT_OK);
    CHECK_EQ_I64(p->count, 128);
    CHECK_EQ_I64(p->more, 0);
    CHECK_EQ_I64(p->positions[0].instrument_id, 2);
    CHECK_EQ_I64(ask_positions(w, member, member, 1, &answer), RESULT_OK);
    CHECK_EQ_I64(p->count, 128);
    CHECK_EQ_I64(p->more, 1);
    fixture_free(&w->fx);
}

TEST(order_rows)
{
    world_init(&world);
    uint32_t member = world.tree.member_id;
    CHECK_EQ_I64(ask_order(&world, member, world.sell_order, &answer), RESULT_OK);
    const struct query_order *o = &answer.u.order;
    CHECK_EQ_I64(o->order_id, world.sell_order);
    CHECK_EQ_I64(o->client_order_id, 42);
    CHECK_EQ_I64(o->account_id, member);
    CHECK_EQ_I64(o->instrument_id, world.instrument);
    CHECK_EQ_I64(o->side, SIDE_SELL);
    CHECK_EQ_I64(o->flags, ORDER_FLAG_GTC);
    CHECK_EQ_I64(o->price_ticks, 1050);
    CHECK_EQ_I64(o->quantity_open, 70);
    CHECK_EQ_I64(o->quantity_filled, 30);
    CHECK_EQ_I64(ask_order(&world, member, world.buy_order, &answer), RESULT_OK);
    CHECK_EQ_I64(o->client_order_id, 43);
    CHECK_EQ_I64(o->side, SIDE_BUY);
    CHECK_EQ_I64(o->flags, 0);
    CHECK_EQ_I64(o->price_ticks, 950);
    CHECK_EQ_I64(o->quantity_open, 10);
    CHECK_EQ_I64(o->quantity_filled, 0);
    /* Cancelled: gone. */
    struct command c = fixture_command(COMMAND_ORDER_CANCEL, member);
    c.u.order_cancel.order_id = world.buy_order;
    fixture_ok(&world.fx, &c);
    CHECK_EQ_I64(ask_order(&world, member, world.buy_order, &answer), REJECT_ORDER_UNKNOWN);
    CHECK_EQ_I64(answer.query_type, QUERY_ORDER);
    CHECK_EQ_I64(answer.u.order.order_id, 0);
    CHECK_EQ_I64(ask_order(&world, member, 999999, &answer), REJECT_ORDER_UNKNOWN);
    fixture_free(&world.fx);
}

/* A finished order is answered from the node's record of finished orders
 * (before, the order query said it did not exist), and the done byte
 * survives the wire. */
TEST(finished_order_rows)
{
    world_init(&world);
    static struct orders_done done;
    CHECK_EQ_I64(orders_done_init(&done), 0);
    uint32_t member = world.tree.member_id;
    struct command c = fixture_command(COMMAND_ORDER_CANCEL, member);
    c.u.order_cancel.order_id = world.buy_order;
    fixture_ok(&world.fx, &c);
    CHECK_EQ_I64(fixture_count(&world.fx, EVENT_ORDER_DONE), 1);
    orders_done_note(&done, fixture_event(&world.fx, EVENT_ORDER_DONE, 0));
    struct frame_query q = query_new(QUERY_ORDER);
    q.u.order.order_id = world.buy_order;
    CHECK_EQ_I64(gateway_query_answer(&world.fx.engine, &done, member, &q, &answer), 0);
    CHECK_EQ_I64(answer.result, RESULT_OK);
    const struct query_order *o = &answer.u.order;
    CHECK_EQ_I64(o->order_id, world.buy_order);
    CHECK_EQ_I64(o->client_order_id, 43);
    CHECK_EQ_I64(o->done, 1 + DONE_CANCELLED);
    CHECK_EQ_I64(o->quantity_open, 0);
    CHECK_EQ_I64(o->price_ticks, 950);
    static struct frame frame, decoded;
    static uint8_t bytes[FRAME_BUFFER_SIZE];
    size_t size = 0, consumed = 0;
    frame.type = FRAME_QUERY_RESULT;
    frame.u.query_result = answer;
    frame.u.query_result.applied_seq = 7;
    CHECK_EQ_I64(frame_encode(&frame, bytes, sizeof bytes, &size), 0);
    CHECK_EQ_I64(frame_decode(bytes, size, &decoded, &consumed), 0);
    CHECK_EQ_I64(decoded.u.query_result.u.order.done, 1 + DONE_CANCELLED);
    CHECK_EQ_I64(decoded.u.query_result.applied_seq, 7);
    /* Still read by the owner's line only. */
    CHECK_EQ_I64(gateway_query_answer(&world.fx.engine, &done, world.member2, &q, &answer), 0);
    CHECK_EQ_I64(answer.result, REJECT_NOT_AUTHORIZED);
    /* A slot is reused by the order ORDERS_DONE_SLOTS ids later. */
    struct event later = *fixture_event(&world.fx, EVENT_ORDER_DONE, 0);
    later.id += ORDERS_DONE_SLOTS;
    orders_done_note(&done, &later);
    CHECK(orders_done_find(&done, world.buy_order) == NULL);
    CHECK(orders_done_find(&done, later.id) != NULL);
    orders_done_free(&done);
    fixture_free(&world.fx);
}

TEST(book_depth)
{
    world_init(&world);
    CHECK_EQ_I64(ask_book(&world, world.super2, world.instrument, 64, &answer), RESULT_OK);
    const struct query_book *b = &answer.u.book;
    CHECK_EQ_I64(b->instrument_id, world.instrument);
    CHECK_EQ_I64(b->phase, PHASE_OPEN);
    CHECK_EQ_I64(b->last_price_ticks, 1050);
    CHECK_EQ_I64(b->bid_count, 2);
    CHECK_EQ_I64(b->ask_count, 1);
    CHECK_EQ_I64(b->bids[0].price_ticks, 950);
    CHECK_EQ_I64(b->bids[0].quantity, 10);
    CHECK_EQ_I64(b->bids[1].price_ticks, 940);
    CHECK_EQ_I64(b->bids[1].quantity, 5);
    CHECK_EQ_I64(b->asks[0].price_ticks, 1050);
    CHECK_EQ_I64(b->asks[0].quantity, 70);
    CHECK_EQ_I64(ask_book(&world, world.super2, world.instrument, 1, &answer), RESULT_OK);
    CHECK_EQ_I64(b->bid_count, 1);
    CHECK_EQ_I64(b->ask_count, 1);
    CHECK_EQ_I64(b->bids[0].price_ticks, 950);
    CHECK_EQ_I64(b->bids[1].price_ticks, 0);
    CHECK_EQ_I64(ask_book(&world, world.super2, 3, 10, &answer), REJECT_INSTRUMENT_UNKNOWN);
    fixture_free(&world.fx);
}

TEST(exposure_rows)
{
    world_init(&world);
    CHECK_EQ_I64(ask_exposure(&world, world.tree.agent_id, world.tree.agent_id, world.market_1x2,
                              &answer),
                 RESULT_OK);
    const struct query_exposure *e = &answer.u.exposure;
    CHECK_EQ_I64(e->account_id, world.tree.agent_id);
    CHECK_EQ_I64(e->market_id, world.market_1x2);
    CHECK_EQ_I64(e->selection_count, 3);
    CHECK_EQ_I64(e->worst_minor, 1000);
    CHECK_EQ_I64(e->win_liability_minor[0], 2000);
    CHECK_EQ_I64(e->win_liability_minor[1], 2400);
    CHECK_EQ_I64(e->win_liability_minor[2], 0);
    CHECK_EQ_I64(e->stake_in_minor[0], 2000);
    CHECK_EQ_I64(e->stake_in_minor[1], 1000);
    CHECK_EQ_I64(e->stake_in_minor[2], 0);
    CHECK_EQ_I64(ask_exposure(&world, 0, 0, world.market_1x2, &answer), RESULT_OK);
    CHECK_EQ_I64(e->worst_minor, 4000);
    CHECK_EQ_I64(e->win_liability_minor[0], 8000);
    CHECK_EQ_I64(e->win_liability_minor[1], 9600);
    CHECK_EQ_I64(e->stake_in_minor[0], 8000);
    CHECK_EQ_I64(e->stake_in_minor[1], 4000);
    /* The master took nothing: zero rows, the market's selections. */
    CHECK_EQ_I64(ask_exposure(&world, world.tree.master_id, world.tree.master_id,
                              world.market_handicap, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(e->selection_count, 2);
    CHECK_EQ_I64(e->worst_minor, 0);
    CHECK_EQ_I64(e->win_liability_minor[0], 0);
    CHECK_EQ_I64(ask_exposure(&world, 0, 0, 99, &answer), REJECT_MARKET_UNKNOWN);
    fixture_free(&world.fx);
}

TEST(odds_in_formats)
{
    world_init(&world);
    uint32_t reader = world.member2;
    CHECK_EQ_I64(ask_odds(&world, reader, world.market_1x2, ODDS_FORMAT_DECIMAL, &answer),
                 RESULT_OK);
    const struct query_odds *o = &answer.u.odds;
    CHECK_EQ_I64(o->market_id, world.market_1x2);
    CHECK_EQ_I64(o->market_type, MARKET_TYPE_1X2);
    CHECK_EQ_I64(o->status, MARKET_STATUS_OPEN);
    CHECK_EQ_I64(o->odds_format, ODDS_FORMAT_DECIMAL);
    CHECK_EQ_I64(o->selection_count, 3);
    CHECK_EQ_I64(o->line_quarters, 0);
    CHECK_EQ_I64(o->prices[0].odds_milli, 2000);
    CHECK_EQ_I64(o->prices[0].value, 200);
    CHECK_EQ_I64(o->prices[1].value, 340);
    CHECK_EQ_I64(o->prices[2].odds_milli, 3800);
    CHECK_EQ_I64(o->prices[2].value, 380);
    CHECK_EQ_I64(ask_odds(&world, reader, world.market_1x2, ODDS_FORMAT_MALAY, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(o->prices[0].value, 100); /* 1 / 1.00 */
    CHECK_EQ_I64(o->prices[1].value, -42); /* -1 / 2.40, away from zero */
    CHECK_EQ_I64(o->prices[2].value, -36); /* -1 / 2.80 */
    CHECK_EQ_I64(ask_odds(&world, reader, world.market_1x2, ODDS_FORMAT_FRACTIONAL, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(o->prices[1].value, 0);
    CHECK_EQ_I64(o->prices[1].numerator, 12);
    CHECK_EQ_I64(o->prices[1].denominator, 5);
    CHECK_EQ_I64(ask_odds(&world, reader, world.market_handicap, ODDS_FORMAT_AMERICAN, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(o->market_type, MARKET_TYPE_HANDICAP);
    CHECK_EQ_I64(o->selection_count, 2);
    CHECK_EQ_I64(o->line_quarters, -2);
    CHECK_EQ_I64(o->prices[0].value, -106); /* -100 / 0.95 = -105.3, away from zero */
    CHECK_EQ_I64(o->prices[1].value, -112); /* -100 / 0.90 = -111.1 */
    CHECK_EQ_I64(o->prices[2].odds_milli, 0);
    CHECK_EQ_I64(o->prices[2].value, 0);
    CHECK_EQ_I64(ask_odds(&world, reader, 99, ODDS_FORMAT_DECIMAL, &answer),
                 REJECT_MARKET_UNKNOWN);
    fixture_free(&world.fx);
}

/* Account, positions and exposure: self, ancestors and operators only. */
TEST(reading_goes_down_the_tree)
{
    world_init(&world);
    const struct fixture_tree *t = &world.tree;
    uint32_t member = t->member_id;
    const uint32_t allowed[] = {member, t->agent_id, t->master_id, t->super_id, t->operator_id,
                                0};
    for (uint32_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        CHECK_EQ_I64(ask_account(&world, allowed[i], member, &answer), RESULT_OK);
        CHECK_EQ_I64(answer.u.account.balance_minor, 1031500);
        CHECK_EQ_I64(ask_positions(&world, allowed[i], member, 0, &answer), RESULT_OK);
        CHECK_EQ_I64(answer.u.positions.count, 1);
    }
    const uint32_t refused[] = {world.member2, world.super2};
    for (uint32_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK_EQ_I64(ask_account(&world, refused[i], member, &answer), REJECT_NOT_AUTHORIZED);
        CHECK_EQ_I64(answer.query_type, QUERY_ACCOUNT);
        CHECK_EQ_I64(answer.request_id, 7001);
        CHECK_EQ_I64(answer.u.account.balance_minor, 0);
        CHECK_EQ_I64(ask_positions(&world, refused[i], member, 0, &answer),
                     REJECT_NOT_AUTHORIZED);
    }
    /* Upwards is refused: a member reading its agent, an agent the house. */
    CHECK_EQ_I64(ask_account(&world, member, t->agent_id, &answer), REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(ask_account(&world, t->agent_id, 0, &answer), REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(ask_exposure(&world, member, t->agent_id, world.market_1x2, &answer),
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(ask_exposure(&world, t->agent_id, 0, world.market_1x2, &answer),
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(ask_exposure(&world, t->master_id, t->agent_id, world.market_1x2, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(answer.u.exposure.worst_minor, 1000);
    CHECK_EQ_I64(ask_exposure(&world, t->operator_id, 0, world.market_1x2, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(answer.u.exposure.worst_minor, 4000);
    fixture_free(&world.fx);
}

TEST(orders_are_read_by_their_owner_line)
{
    world_init(&world);
    const struct fixture_tree *t = &world.tree;
    CHECK_EQ_I64(ask_order(&world, t->agent_id, world.sell_order, &answer), RESULT_OK);
    CHECK_EQ_I64(answer.u.order.quantity_open, 70);
    CHECK_EQ_I64(ask_order(&world, t->operator_id, world.sell_order, &answer), RESULT_OK);
    CHECK_EQ_I64(ask_order(&world, world.member2, world.sell_order, &answer),
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(answer.u.order.order_id, 0);
    CHECK_EQ_I64(ask_order(&world, world.super2, world.sell_order, &answer),
                 REJECT_NOT_AUTHORIZED);
    fixture_free(&world.fx);
}

TEST(unknown_ids_and_readers)
{
    world_init(&world);
    uint32_t member = world.tree.member_id;
    CHECK_EQ_I64(ask_account(&world, member, 999, &answer), REJECT_ACCOUNT_UNKNOWN);
    CHECK_EQ_I64(ask_account(&world, 0, 999, &answer), REJECT_ACCOUNT_UNKNOWN);
    CHECK_EQ_I64(ask_positions(&world, 0, 999, 0, &answer), REJECT_ACCOUNT_UNKNOWN);
    CHECK_EQ_I64(ask_exposure(&world, 0, 999, world.market_1x2, &answer),
                 REJECT_ACCOUNT_UNKNOWN);
    /* A reader the state does not know reads nothing, not even prices. */
    CHECK_EQ_I64(ask_account(&world, 999, member, &answer), REJECT_SENDER_UNKNOWN);
    CHECK_EQ_I64(ask_book(&world, 999, world.instrument, 5, &answer), REJECT_SENDER_UNKNOWN);
    CHECK_EQ_I64(ask_odds(&world, 999, world.market_1x2, 0, &answer), REJECT_SENDER_UNKNOWN);
    fixture_free(&world.fx);
}

TEST(a_suspended_member_still_reads_itself)
{
    world_init(&world);
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_STATUS, 0);
    c.u.account_set_status.account_id = world.tree.member_id;
    c.u.account_set_status.status = ACCOUNT_STATUS_SUSPENDED;
    fixture_ok(&world.fx, &c);
    CHECK_EQ_I64(ask_account(&world, world.tree.member_id, world.tree.member_id, &answer),
                 RESULT_OK);
    CHECK_EQ_I64(answer.u.account.status, ACCOUNT_STATUS_SUSPENDED);
    fixture_free(&world.fx);
}

TEST(queries_the_decoder_refuses_are_usage_errors)
{
    world_init(&world);
    struct frame_query query = query_new(QUERY_BOOK);
    query.u.book.instrument_id = world.instrument;
    query.u.book.level_count = 0;
    CHECK_EQ_I64(ask(&world, 0, &query, &answer), ERR_USAGE);
    query.u.book.level_count = QUERY_LEVELS_MAX + 1;
    CHECK_EQ_I64(ask(&world, 0, &query, &answer), ERR_USAGE);
    query = query_new(QUERY_ODDS);
    query.u.odds.odds_format = ODDS_FORMAT_COUNT;
    CHECK_EQ_I64(ask(&world, 0, &query, &answer), ERR_USAGE);
    query = query_new(QUERY_NONE);
    CHECK_EQ_I64(ask(&world, 0, &query, &answer), ERR_USAGE);
    query = query_new(QUERY_TYPE_COUNT);
    CHECK_EQ_I64(ask(&world, 0, &query, &answer), ERR_USAGE);
    CHECK_EQ_I64(answer.result, REJECT_COMMAND_UNKNOWN);
    fixture_free(&world.fx);
}

TEST_MAIN()
