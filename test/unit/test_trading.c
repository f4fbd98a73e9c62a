/* Unit tests of the order-book markets (src/core/trading.c): resting,
 * matching in price-time priority, time in force, market orders, replace,
 * price bands, phases, order terms, buying power and holdings, account
 * limits, fees, self-trade, cancel rights, the daily cycle and the order
 * pool. Every test asserts exact numbers (balances, reserves, positions,
 * prices, quantities, result codes, event counts) and ends with the
 * invariant checker, because a market that is only "ok" can still leak. */
#include "core/account.h"
#include "core/session.h"
#include "fixture.h"
#include "test.h"

/* The desk most tests trade on: the fixture's tree, an open instrument
 * (tick 1, lot 1, reference 1000, band 900..1100, no fees), two buyers
 * with cash and no credit, two sellers with holdings and no cash. */
struct desk {
    struct fixture_tree tree;
    uint32_t instrument;
    uint32_t buyer;
    uint32_t buyer2;
    uint32_t seller;
    uint32_t seller2;
};

#define DESK_CASH_MINOR 10000000
#define DESK_HOLDING 1000

static void grant(struct fixture *fx, uint32_t account, uint32_t instrument, int64_t quantity)
{
    struct command c = fixture_command(COMMAND_POSITION_GRANT, 0);
    c.u.position_grant.account_id = account;
    c.u.position_grant.instrument_id = instrument;
    c.u.position_grant.quantity = quantity;
    fixture_ok(fx, &c);
}

static uint32_t member_new(struct fixture *fx, const struct desk *desk)
{
    return fixture_account(fx, 0, desk->tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
}

static void desk_setup(struct fixture *fx, struct desk *desk)
{
    fixture_tree(fx, &desk->tree);
    desk->buyer = member_new(fx, desk);
    desk->buyer2 = member_new(fx, desk);
    desk->seller = member_new(fx, desk);
    desk->seller2 = member_new(fx, desk);
    fixture_deposit(fx, desk->buyer, DESK_CASH_MINOR);
    fixture_deposit(fx, desk->buyer2, DESK_CASH_MINOR);
    desk->instrument = fixture_instrument(fx, "ACME");
    grant(fx, desk->seller, desk->instrument, DESK_HOLDING);
    grant(fx, desk->seller2, desk->instrument, DESK_HOLDING);
}

static void desk_init(struct fixture *fx, struct desk *desk)
{
    fixture_init(fx);
    desk_setup(fx, desk);
}

static struct outcome market(struct fixture *fx, uint32_t member, uint32_t instrument,
                             enum side side, int64_t quantity, enum time_in_force time_in_force)
{
    struct command c = fixture_command(COMMAND_ORDER_PLACE, member);
    c.u.order_place.instrument_id = instrument;
    c.u.order_place.side = (uint8_t)side;
    c.u.order_place.order_type = ORDER_TYPE_MARKET;
    c.u.order_place.time_in_force = (uint8_t)time_in_force;
    c.u.order_place.quantity = quantity;
    return fixture_apply(fx, &c);
}

static struct outcome cancel(struct fixture *fx, uint32_t sender, uint64_t order_id)
{
    struct command c = fixture_command(COMMAND_ORDER_CANCEL, sender);
    c.u.order_cancel.order_id = order_id;
    return fixture_apply(fx, &c);
}

static struct outcome replace(struct fixture *fx, uint32_t sender, uint64_t order_id,
                              int64_t price_ticks, int64_t quantity)
{
    struct command c = fixture_command(COMMAND_ORDER_REPLACE, sender);
    c.u.order_replace.order_id = order_id;
    c.u.order_replace.price_ticks = price_ticks;
    c.u.order_replace.quantity = quantity;
    return fixture_apply(fx, &c);
}

static struct outcome set_phase(struct fixture *fx, uint32_t instrument, enum phase phase)
{
    struct command c = fixture_command(COMMAND_INSTRUMENT_SET_PHASE, 0);
    c.u.instrument_set_phase.instrument_id = instrument;
    c.u.instrument_set_phase.phase = (uint8_t)phase;
    return fixture_apply(fx, &c);
}

static struct outcome set_reference(struct fixture *fx, uint32_t sender, uint32_t instrument,
                                    int64_t ticks)
{
    struct command c = fixture_command(COMMAND_INSTRUMENT_SET_REFERENCE, sender);
    c.u.instrument_set_reference.instrument_id = instrument;
    c.u.instrument_set_reference.reference_price_ticks = ticks;
    return fixture_apply(fx, &c);
}

/* DAY_END of the current date, then DAY_START of the next one. */
static struct outcome day_end(struct fixture *fx)
{
    struct command c = fixture_command(COMMAND_DAY_END, 0);
    c.u.day.trading_date = fx->engine.trading_date;
    return fixture_apply(fx, &c);
}

static struct outcome day_start(struct fixture *fx)
{
    struct command c = fixture_command(COMMAND_DAY_START, 0);
    c.u.day.trading_date = fx->engine.trading_date + 1;
    return fixture_apply(fx, &c);
}

/* An instrument with the given lot and fees, opened (the day is open). */
static uint32_t instrument_new(struct fixture *fx, int64_t lot_size, uint16_t fee_maker_bp,
                               uint16_t fee_taker_bp)
{
    struct command c = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
    memcpy(c.u.instrument_create.symbol, "CUSTOM", 6);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = lot_size;
    c.u.instrument_create.reference_price_ticks = 1000;
    c.u.instrument_create.band_bp = 1000;
    c.u.instrument_create.fee_maker_bp = fee_maker_bp;
    c.u.instrument_create.fee_taker_bp = fee_taker_bp;
    uint32_t id = (uint32_t)fixture_ok(fx, &c).id;
    struct outcome o = set_phase(fx, id, PHASE_OPEN);
    assert(o.result == RESULT_OK);
    (void)o;
    return id;
}

static int64_t balance(const struct fixture *fx, uint32_t account)
{
    return fx->engine.accounts[account].balance_minor;
}

static int64_t reserved(const struct fixture *fx, uint32_t account)
{
    return fx->engine.accounts[account].reserved_minor;
}

/* The part of a holding that open sell orders hold, 0 without a position. */
static int64_t held(const struct fixture *fx, uint32_t account, uint32_t instrument)
{
    uint32_t slot = position_find(&fx->engine, account, instrument);
    return slot == INDEX_NONE ? 0 : fx->engine.positions[slot].quantity_reserved;
}

/* Does one side's depth equal expected (price, quantity pairs, best first)? */
static int depth_equals(const struct fixture *fx, uint32_t instrument, enum side side,
                        const int64_t *expected, uint32_t level_count)
{
    struct depth_level levels[64];
    uint32_t count = engine_book_depth(&fx->engine, instrument, side, levels, 64);
    if (count != level_count) {
        fprintf(stderr, "  depth side %d: %u levels, expected %u\n", (int)side, count,
                level_count);
        return 0;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (levels[i].price_ticks != expected[2 * i] ||
            levels[i].quantity != expected[2 * i + 1]) {
            fprintf(stderr, "  depth side %d level %u: %lld x %lld, expected %lld x %lld\n",
                    (int)side, i, (long long)levels[i].price_ticks,
                    (long long)levels[i].quantity, (long long)expected[2 * i],
                    (long long)expected[2 * i + 1]);
            return 0;
        }
    }
    return 1;
}

/* Is the n-th trade of the last command against maker_order_id, at price
 * for quantity? */
static int trade_is(const struct fixture *fx, uint32_t n, uint64_t maker_order_id,
                    int64_t price_ticks, int64_t quantity)
{
    const struct event *e = fixture_event(fx, EVENT_TRADE, n);
    if (e == NULL) {
        fprintf(stderr, "  no trade %u\n", n);
        return 0;
    }
    if (e->u.trade.maker_order_id != maker_order_id || e->u.trade.price_ticks != price_ticks ||
        e->u.trade.quantity != quantity) {
        fprintf(stderr, "  trade %u: maker %llu %lld x %lld, expected %llu %lld x %lld\n", n,
                (unsigned long long)e->u.trade.maker_order_id,
                (long long)e->u.trade.price_ticks, (long long)e->u.trade.quantity,
                (unsigned long long)maker_order_id, (long long)price_ticks,
                (long long)quantity);
        return 0;
    }
    return 1;
}

/* Is the n-th ORDER_DONE of the last command order_id, for reason, with
 * quantity_filled filled over its life? */
static int done_is(const struct fixture *fx, uint32_t n, uint64_t order_id, uint16_t reason,
                   int64_t quantity_filled)
{
    const struct event *e = fixture_event(fx, EVENT_ORDER_DONE, n);
    if (e == NULL) {
        fprintf(stderr, "  no done %u\n", n);
        return 0;
    }
    if (e->id != order_id || e->code != reason || e->u.order.quantity_filled != quantity_filled ||
        e->u.order.quantity_open != 0) {
        fprintf(stderr, "  done %u: order %llu reason %u filled %lld, expected %llu %u %lld\n",
                n, (unsigned long long)e->id, e->code, (long long)e->u.order.quantity_filled,
                (unsigned long long)order_id, reason, (long long)quantity_filled);
        return 0;
    }
    return 1;
}

/* Every applied command changes its sender's exactly-once record and the
 * clock; a frozen state remembers those and the digest, so that
 * unchanged_since() can tell whether anything else changed. */
struct frozen {
    uint32_t session_slot;
    struct session session;
    uint64_t now_ns;
    struct digest digest;
};

static void freeze(struct fixture *fx, uint32_t sender, struct frozen *frozen)
{
    if (session_find(&fx->engine, sender, 1) == INDEX_NONE) {
        /* A first command, rejected, opens the sender's session. */
        struct command c = fixture_command(COMMAND_ORDER_CANCEL, sender);
        struct outcome o = fixture_apply(fx, &c);
        assert(o.result == REJECT_ORDER_UNKNOWN);
        (void)o;
    }
    frozen->session_slot = session_find(&fx->engine, sender, 1);
    assert(frozen->session_slot != INDEX_NONE);
    frozen->session = fx->engine.sessions[frozen->session_slot];
    frozen->now_ns = fx->engine.now_ns;
    engine_digest(&fx->engine, &frozen->digest);
}

static int unchanged_since(struct fixture *fx, const struct frozen *frozen)
{
    struct session session = fx->engine.sessions[frozen->session_slot];
    uint64_t now_ns = fx->engine.now_ns;
    fx->engine.sessions[frozen->session_slot] = frozen->session;
    fx->engine.now_ns = frozen->now_ns;
    struct digest digest;
    engine_digest(&fx->engine, &digest);
    fx->engine.sessions[frozen->session_slot] = session;
    fx->engine.now_ns = now_ns;
    return digest.high == frozen->digest.high && digest.low == frozen->digest.low;
}

/* ---- Resting and matching. ---- */

TEST(limit_order_rests)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    struct outcome o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 10, TIF_DAY);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, 1);
    CHECK_EQ_I64(o.value, 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 1);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    const struct event *accepted = fixture_event(&fx, EVENT_ORDER_ACCEPTED, 0);
    CHECK_EQ_I64(accepted->id, 1);
    CHECK_EQ_I64(accepted->account_id, d.buyer);
    CHECK_EQ_I64(accepted->u.order.price_ticks, 1000);
    CHECK_EQ_I64(accepted->u.order.quantity_open, 10);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 10000);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, d.buyer), DESK_CASH_MINOR - 10000);
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR);

    o = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1010, 5, TIF_GTC);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, 2);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 5);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller, d.instrument), DESK_HOLDING);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){1000, 10}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1010, 5}, 1));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(full_fill)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t maker = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1000, 10, TIF_DAY).id;
    struct outcome o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 10, TIF_DAY);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 10);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, maker, 1000, 10));
    const struct event *trade = fixture_event(&fx, EVENT_TRADE, 0);
    CHECK_EQ_I64(trade->account_id, d.buyer);
    CHECK_EQ_I64(trade->id, o.id);
    CHECK_EQ_I64(trade->u.trade.maker_account_id, d.seller);
    CHECK_EQ_I64(trade->u.trade.taker_side, SIDE_BUY);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 2);
    CHECK(done_is(&fx, 0, maker, DONE_FILLED, 10));
    CHECK(done_is(&fx, 1, o.id, DONE_FILLED, 10));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 0);
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 10000);
    CHECK_EQ_I64(balance(&fx, d.seller), 10000);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer, d.instrument), 10);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller, d.instrument), DESK_HOLDING - 10);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].last_price_ticks, 1000);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].day_volume, 10);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].day_trade_count, 1);
    /* Both orders are gone: cancelling either is unknown. */
    CHECK_EQ_I64(cancel(&fx, d.seller, maker).result, REJECT_ORDER_UNKNOWN);
    CHECK_EQ_I64(cancel(&fx, d.buyer, o.id).result, REJECT_ORDER_UNKNOWN);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(partial_fills_across_levels_in_time_priority)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1001, 7, TIF_DAY).id;
    uint64_t c = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1002, 4, TIF_DAY).id;
    uint64_t e = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1003, 10, TIF_DAY).id;
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL,
                       (const int64_t[]){1001, 12, 1002, 4, 1003, 10}, 3));
    struct outcome o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1003, 20, TIF_DAY);
    CHECK_EQ_I64(o.value, 20);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 4);
    CHECK(trade_is(&fx, 0, a, 1001, 5));
    CHECK(trade_is(&fx, 1, b, 1001, 7));
    CHECK(trade_is(&fx, 2, c, 1002, 4));
    CHECK(trade_is(&fx, 3, e, 1003, 4));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 4);
    CHECK(done_is(&fx, 0, a, DONE_FILLED, 5));
    CHECK(done_is(&fx, 1, b, DONE_FILLED, 7));
    CHECK(done_is(&fx, 2, c, DONE_FILLED, 4));
    CHECK(done_is(&fx, 3, o.id, DONE_FILLED, 20));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1003, 6}, 1));
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - (12 * 1001 + 4 * 1002 + 4 * 1003));
    CHECK_EQ_I64(balance(&fx, d.seller), 5 * 1001 + 4 * 1002);
    CHECK_EQ_I64(balance(&fx, d.seller2), 7 * 1001 + 4 * 1003);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer, d.instrument), 20);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller, d.instrument), DESK_HOLDING - 9);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller2, d.instrument), DESK_HOLDING - 11);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK_EQ_I64(held(&fx, d.seller2, d.instrument), 6);
    CHECK(fixture_check(&fx) == 0);

    /* A taker larger than the book rests its remainder at its limit. */
    o = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1004, 10, TIF_GTC);
    CHECK_EQ_I64(o.value, 6);
    CHECK(trade_is(&fx, 0, e, 1003, 6));
    CHECK(done_is(&fx, 0, e, DONE_FILLED, 10));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 1);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_ACCEPTED, 0)->u.order.quantity_open, 4);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_ACCEPTED, 0)->u.order.quantity_filled, 6);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){1004, 4}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 4 * 1004);
    CHECK_EQ_I64(balance(&fx, d.buyer2), DESK_CASH_MINOR - 6 * 1003);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, d.buyer2),
                 DESK_CASH_MINOR - 6 * 1003 - 4 * 1004);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(trade_price_is_the_makers)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1005, 3, TIF_DAY).id;
    struct outcome o = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 995, 3, TIF_DAY);
    CHECK_EQ_I64(o.value, 3);
    CHECK(trade_is(&fx, 0, bid, 1005, 3));
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.taker_side, SIDE_SELL);
    CHECK_EQ_I64(balance(&fx, d.seller), 3015);
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 3015);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);

    uint64_t ask = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 990, 2, TIF_DAY).id;
    o = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1100, 2, TIF_DAY);
    CHECK(trade_is(&fx, 0, ask, 990, 2));
    CHECK_EQ_I64(balance(&fx, d.buyer2), DESK_CASH_MINOR - 1980);
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 0);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].last_price_ticks, 990);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* ---- Time in force and market orders. ---- */

TEST(ioc_remainder_cancelled)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t ask = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    struct outcome o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1002, 8, TIF_IOC);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 5);
    CHECK(trade_is(&fx, 0, ask, 1001, 5));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 2);
    CHECK(done_is(&fx, 1, o.id, DONE_IOC_REMAINDER, 5));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 5005);
    CHECK_EQ_I64(cancel(&fx, d.buyer, o.id).result, REJECT_ORDER_UNKNOWN);

    /* Nothing to meet: accepted, nothing filled, nothing rests. */
    o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1002, 8, TIF_IOC);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    CHECK(done_is(&fx, 0, o.id, DONE_IOC_REMAINDER, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer, d.instrument), 5);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(fok_fills_whole)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1002, 5, TIF_DAY).id;
    struct outcome o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1002, 10, TIF_FOK);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 10);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 2);
    CHECK(trade_is(&fx, 0, a, 1001, 5));
    CHECK(trade_is(&fx, 1, b, 1002, 5));
    CHECK(done_is(&fx, 2, o.id, DONE_FILLED, 10));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 10015);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(fok_unfillable_changes_nothing)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1002, 5, TIF_DAY);
    fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 990, 1, TIF_DAY);
    struct frozen frozen;
    freeze(&fx, d.buyer, &frozen);

    /* One more than the book holds, and more than the limit reaches. */
    struct outcome o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1002, 11, TIF_FOK);
    CHECK_EQ_I64(o.result, REJECT_FOK_UNFILLABLE);
    CHECK_EQ_I64(o.id, 0);
    CHECK_EQ_I64(fx.event_count, 0); /* a reject changes nothing */
    CHECK(unchanged_since(&fx, &frozen));
    o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1001, 6, TIF_FOK);
    CHECK_EQ_I64(o.result, REJECT_FOK_UNFILLABLE);
    CHECK_EQ_I64(fx.event_count, 0);
    CHECK(unchanged_since(&fx, &frozen));
    o = market(&fx, d.buyer, d.instrument, SIDE_BUY, 11, TIF_FOK);
    CHECK_EQ_I64(o.result, REJECT_FOK_UNFILLABLE);
    CHECK(unchanged_since(&fx, &frozen));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 5, 1002, 5}, 2));

    /* The comparison can fail: a fill that does happen changes the state,
     * and the next order id was not used by the rejects. */
    o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1001, 5, TIF_FOK);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, 4);
    CHECK(trade_is(&fx, 0, a, 1001, 5));
    CHECK(!unchanged_since(&fx, &frozen));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(fok_stopped_by_own_order)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint32_t trader = d.tree.member_id; /* credit 1 000 000.00, holdings */
    grant(&fx, trader, d.instrument, 100);
    uint64_t own = fixture_order(&fx, trader, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    uint64_t other = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 10, TIF_DAY).id;
    struct frozen frozen;
    freeze(&fx, trader, &frozen);
    /* Its own order is first at the best level: enough behind it does not
     * help. */
    struct outcome o = fixture_order(&fx, trader, d.instrument, SIDE_BUY, 1001, 5, TIF_FOK);
    CHECK_EQ_I64(o.result, REJECT_FOK_UNFILLABLE);
    CHECK(unchanged_since(&fx, &frozen));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    CHECK(fixture_check(&fx) == 0);

    /* Another account's order ahead of its own, and its own one level
     * down: what lies before its own order decides. */
    CHECK_EQ_I64(cancel(&fx, trader, own).result, RESULT_OK);
    uint64_t own2 = fixture_order(&fx, trader, d.instrument, SIDE_SELL, 1002, 5, TIF_DAY).id;
    fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1003, 50, TIF_DAY);
    o = fixture_order(&fx, trader, d.instrument, SIDE_BUY, 1003, 11, TIF_FOK);
    CHECK_EQ_I64(o.result, REJECT_FOK_UNFILLABLE);
    o = fixture_order(&fx, trader, d.instrument, SIDE_BUY, 1003, 10, TIF_FOK);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 10);
    CHECK(trade_is(&fx, 0, other, 1001, 10));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1002, 5, 1003, 50}, 2));
    CHECK_EQ_I64(held(&fx, trader, d.instrument), 5);
    CHECK(own2 != 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(market_order_empty_book_rejected)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    struct frozen frozen;
    fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 950, 1, TIF_DAY);
    freeze(&fx, d.buyer, &frozen);
    CHECK_EQ_I64(market(&fx, d.buyer, d.instrument, SIDE_BUY, 5, TIF_IOC).result,
                 REJECT_MARKET_NO_LIQUIDITY);
    CHECK_EQ_I64(market(&fx, d.buyer, d.instrument, SIDE_BUY, 5, TIF_FOK).result,
                 REJECT_MARKET_NO_LIQUIDITY);
    CHECK(unchanged_since(&fx, &frozen));
    CHECK_EQ_I64(market(&fx, d.seller, d.instrument, SIDE_SELL, 5, TIF_DAY).result,
                 REJECT_ORDER_TYPE_INVALID);
    CHECK_EQ_I64(market(&fx, d.seller, d.instrument, SIDE_SELL, 5, TIF_GTC).result,
                 REJECT_ORDER_TYPE_INVALID);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(market_order_sweeps_and_cancels_the_rest)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 3, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1050, 4, TIF_DAY).id;
    uint64_t c = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1100, 2, TIF_DAY).id;
    struct outcome o = market(&fx, d.buyer, d.instrument, SIDE_BUY, 20, TIF_IOC);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 9);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 3);
    CHECK(trade_is(&fx, 0, a, 1001, 3));
    CHECK(trade_is(&fx, 1, b, 1050, 4));
    CHECK(trade_is(&fx, 2, c, 1100, 2));
    CHECK(done_is(&fx, 3, o.id, DONE_IOC_REMAINDER, 9));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - (3003 + 4200 + 2200));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer, d.instrument), 9);

    /* A market sell down to the band low. */
    uint64_t bid = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 999, 2, TIF_DAY).id;
    uint64_t low = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 900, 3, TIF_DAY).id;
    o = market(&fx, d.seller2, d.instrument, SIDE_SELL, 10, TIF_IOC);
    CHECK_EQ_I64(o.value, 5);
    CHECK(trade_is(&fx, 0, bid, 999, 2));
    CHECK(trade_is(&fx, 1, low, 900, 3));
    CHECK(done_is(&fx, 2, o.id, DONE_IOC_REMAINDER, 5));
    CHECK_EQ_I64(balance(&fx, d.seller2), 4200 + 1998 + 2700);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller2, d.instrument), DESK_HOLDING - 9);
    CHECK_EQ_I64(held(&fx, d.seller2, d.instrument), 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(market_buy_needs_funds_for_the_band_high)
{
    /* A market buy may pay up to the band high for all of it. */
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint32_t poor = member_new(&fx, &d);
    fixture_deposit(&fx, poor, 10999);
    fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1000, 10, TIF_DAY);
    CHECK_EQ_I64(market(&fx, poor, d.instrument, SIDE_BUY, 10, TIF_IOC).result,
                 REJECT_FUNDS_INSUFFICIENT);
    fixture_deposit(&fx, poor, 1);
    struct outcome o = market(&fx, poor, d.instrument, SIDE_BUY, 10, TIF_IOC);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 10);
    CHECK_EQ_I64(balance(&fx, poor), 1000);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* ---- Replace. ---- */

TEST(replace_decrease_keeps_priority)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 10, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1001, 10, TIF_DAY).id;
    struct outcome o = replace(&fx, d.seller, a, 1001, 4);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, a);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_REPLACED), 1);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_REPLACED, 0)->u.order.quantity_open, 4);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 0);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 4);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 14}, 1));
    CHECK(fixture_check(&fx) == 0);

    o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1001, 4, TIF_IOC);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, a, 1001, 4));
    CHECK(done_is(&fx, 0, a, DONE_FILLED, 4));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 10}, 1));
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller, d.instrument), DESK_HOLDING - 4);

    /* A buy reduced keeps its place and frees the difference exactly. */
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 990, 10, TIF_DAY).id;
    uint64_t bid2 = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 990, 10, TIF_DAY).id;
    CHECK_EQ_I64(reserved(&fx, d.buyer), 9900);
    CHECK_EQ_I64(replace(&fx, d.buyer, bid, 990, 3).result, RESULT_OK);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 2970);
    fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 990, 3, TIF_IOC);
    CHECK(trade_is(&fx, 0, bid, 990, 3));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 9900);
    CHECK(bid2 != 0 && b != 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(replace_price_change_loses_priority)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 10, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1002, 10, TIF_DAY).id;
    /* a moves to 1002 (behind b) and then back to 1001 (still first
     * there); moving to b's level puts it behind b. */
    struct outcome o = replace(&fx, d.seller, a, 1002, 10);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, a);
    CHECK_EQ_I64(o.value, 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_REPLACED), 1);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_REPLACED, 0)->u.order.price_ticks, 1002);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1002, 20}, 1));
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 10);
    CHECK(fixture_check(&fx) == 0);
    o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1002, 10, TIF_IOC);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, b, 1002, 10));
    o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1002, 10, TIF_IOC);
    CHECK(trade_is(&fx, 0, a, 1002, 10));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(balance(&fx, d.seller), 10020);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* A replace's outcome: what the replace filled apart from the order's
 * total (before, only the total, as if the replace had filled it all). */
TEST(replace_outcome_says_what_it_filled)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 990, 10, TIF_DAY).id;
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 990, 3, TIF_IOC).value, 3);
    uint64_t ask = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1000, 20, TIF_DAY).id;
    struct outcome o = replace(&fx, d.buyer, bid, 1000, 5);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 8);          /* the order's total, as always */
    CHECK_EQ_I64(o.replace_filled, 5); /* this replace's own */
    CHECK(fixture_check(&fx) == 0);
    /* A decrease in place fills nothing; from logic version 3 its value
     * is the order's total too (before: 0). */
    o = replace(&fx, d.seller2, ask, 1000, 10); /* 15 open, 5 filled */
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 0);
    CHECK_EQ_I64(o.replace_filled, 0);
    struct command c = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    c.u.activate_logic.logic_version = LOGIC_VERSION_ANSWERS;
    fixture_ok(&fx, &c);
    o = replace(&fx, d.seller2, ask, 1000, 9);
    CHECK_EQ_I64(o.value, 5);
    CHECK_EQ_I64(o.replace_filled, 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* From logic version 3 a DAY_END or DAY_START refused for its date names
 * the current trading date in the outcome's id (before: 0). */
TEST(wrong_day_dates_name_the_current_one)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    struct command end = fixture_command(COMMAND_DAY_END, 0);
    end.u.day.trading_date = 20200101;
    struct outcome o = fixture_apply(&fx, &end);
    CHECK_EQ_I64(o.result, REJECT_DATE_INVALID);
    CHECK_EQ_I64(o.id, 0);
    uint32_t today = fx.engine.trading_date;
    struct command c = fixture_command(COMMAND_ACTIVATE_LOGIC, 0);
    c.u.activate_logic.logic_version = LOGIC_VERSION_ANSWERS;
    fixture_ok(&fx, &c);
    end.client_seq = 0; /* a new command, not a resend */
    o = fixture_apply(&fx, &end);
    CHECK_EQ_I64(o.result, REJECT_DATE_INVALID);
    CHECK_EQ_I64(o.id, today);
    fixture_free(&fx);
}

TEST(replace_quantity_increase_loses_priority)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1001, 6).result, RESULT_OK);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 6);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 11}, 1));
    fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1001, 5, TIF_IOC);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, b, 1001, 5));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 6}, 1));

    /* A buy increased needs funds for the whole new size, less what it
     * frees. */
    uint32_t poor = member_new(&fx, &d);
    fixture_deposit(&fx, poor, 5000);
    uint64_t bid = fixture_order(&fx, poor, d.instrument, SIDE_BUY, 1000, 5, TIF_DAY).id;
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 0);
    CHECK_EQ_I64(replace(&fx, poor, bid, 1000, 6).result, REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(replace(&fx, poor, bid, 1001, 5).result, REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(reserved(&fx, poor), 5000);
    CHECK_EQ_I64(replace(&fx, poor, bid, 999, 5).result, RESULT_OK);
    CHECK_EQ_I64(reserved(&fx, poor), 4995);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 5);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(replace_that_crosses_trades_immediately)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 999, 5, TIF_DAY).id;
    uint64_t bid2 = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 990, 5, TIF_DAY).id;
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 8, TIF_GTC).id;
    struct outcome o = replace(&fx, d.seller, a, 995, 8);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, a);
    CHECK_EQ_I64(o.value, 5);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_REPLACED), 1);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, bid, 999, 5));
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->id, a);
    CHECK(done_is(&fx, 0, bid, DONE_FILLED, 5));
    /* The remainder rests at the new price, still a GTC order. */
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 1);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){995, 3}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){990, 5}, 1));
    CHECK_EQ_I64(balance(&fx, d.seller), 4995);
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 4995);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 3);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller, d.instrument), DESK_HOLDING - 5);
    CHECK(fixture_check(&fx) == 0);
    CHECK_EQ_I64(day_end(&fx).result, RESULT_OK);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){995, 3}, 1));
    CHECK(bid2 != 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(replace_rejects)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    struct frozen frozen;
    freeze(&fx, d.seller, &frozen);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1001, 5).result, REJECT_REPLACE_INVALID);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1101, 5).result, REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 0, 5).result, REJECT_PRICE_OFF_TICK);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1001, 0).result, REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1001, DESK_HOLDING + 1).result,
                 REJECT_POSITION_INSUFFICIENT);
    CHECK_EQ_I64(replace(&fx, d.seller, a + 100, 1001, 4).result, REJECT_ORDER_UNKNOWN);
    CHECK(unchanged_since(&fx, &frozen));
    CHECK_EQ_I64(replace(&fx, d.seller2, a, 1001, 4).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(replace(&fx, 0, a, 1001, 4).result, REJECT_NOT_AUTHORIZED);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 5}, 1));
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1001, DESK_HOLDING).result, RESULT_OK);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), DESK_HOLDING);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(replace_keeps_an_orders_total_within_quantity_max)
{
    /* quantity_filled is a uint32_t: were a replace allowed to refill an
     * order whose filled part is large, five cycles of filling 2^30 - 1
     * and refilling to 2^30 would wrap it. Filled plus open may not pass
     * QUANTITY_MAX. */
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    struct command c = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = 1;
    c.u.instrument_create.reference_price_ticks = 10;
    c.u.instrument_create.band_bp = 9000; /* band 1..19 */
    uint32_t id = (uint32_t)fixture_ok(&fx, &c).id;
    CHECK_EQ_I64(set_phase(&fx, id, PHASE_OPEN).result, RESULT_OK);
    grant(&fx, d.seller, id, QUANTITY_MAX);
    grant(&fx, d.seller, id, QUANTITY_MAX);
    uint32_t rich = member_new(&fx, &d);
    fixture_deposit(&fx, rich, 4 * QUANTITY_MAX);
    uint64_t a = fixture_order(&fx, d.seller, id, SIDE_SELL, 1, QUANTITY_MAX, TIF_GTC).id;
    struct outcome o = fixture_order(&fx, rich, id, SIDE_BUY, 1, QUANTITY_MAX - 1, TIF_IOC);
    CHECK_EQ_I64(o.value, QUANTITY_MAX - 1);
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){1, 1}, 1));
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1, QUANTITY_MAX).result, REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 2, 2).result, REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(held(&fx, d.seller, id), 1);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 2, 1).result, RESULT_OK);
    o = fixture_order(&fx, rich, id, SIDE_BUY, 2, 1, TIF_IOC);
    CHECK(trade_is(&fx, 0, a, 2, 1));
    CHECK(done_is(&fx, 0, a, DONE_FILLED, QUANTITY_MAX));
    CHECK_EQ_I64(balance(&fx, d.seller), QUANTITY_MAX - 1 + 2);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* ---- Bands, phases, terms. ---- */

TEST(price_band_edges)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 899, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1101, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 899, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1101, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 900, 1, TIF_DAY).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1100, 2, TIF_DAY).result,
                 RESULT_OK);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){900, 1}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1100, 2}, 1));
    /* The edges on the other sides cross the book and trade. */
    struct outcome o = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1100, 2, TIF_DAY);
    CHECK_EQ_I64(o.value, 2);
    o = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 900, 1, TIF_DAY);
    CHECK_EQ_I64(o.value, 1);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(halted_rejects_orders_allows_cancel)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 990, 5, TIF_DAY).id;
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_HALTED).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].phase, PHASE_HALTED);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1001, 5, TIF_DAY).result,
                 REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1001, 5, TIF_IOC).result,
                 REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(market(&fx, d.buyer, d.instrument, SIDE_BUY, 5, TIF_IOC).result,
                 REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(replace(&fx, d.seller, a, 1002, 5).result, REJECT_PHASE_CLOSED);
    struct outcome o = cancel(&fx, d.buyer, bid);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 5);
    CHECK(done_is(&fx, 0, bid, DONE_CANCELLED, 0));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 5}, 1));
    CHECK(fixture_check(&fx) == 0);

    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_OPEN).result, RESULT_OK);
    o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1001, 5, TIF_DAY);
    CHECK_EQ_I64(o.value, 5);
    CHECK(trade_is(&fx, 0, a, 1001, 5));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(pre_open_queues_and_opens_in_arrival_order)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_PRE_OPEN).result, RESULT_OK);
    struct outcome b1 = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1010, 5, TIF_DAY);
    CHECK_EQ_I64(b1.result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 1);
    struct outcome s1 = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1000, 3, TIF_GTC);
    CHECK_EQ_I64(s1.result, RESULT_OK);
    CHECK_EQ_I64(s1.value, 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    struct outcome b2 = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1020, 2, TIF_DAY);
    CHECK_EQ_I64(b2.result, RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1020, 1, TIF_IOC).result,
                 REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1020, 1, TIF_FOK).result,
                 REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(market(&fx, d.buyer, d.instrument, SIDE_BUY, 1, TIF_IOC).result,
                 REJECT_PHASE_CLOSED);
    /* Queued, not in the book, but reserved. */
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 3);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 5050);
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 2040);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 3);
    CHECK(fixture_check(&fx) == 0);

    /* b1 rests first, s1 then meets it at b1's price (1010, not b2's
     * 1020), b2 rests. */
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_OPEN).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, b1.id, 1010, 3));
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->id, s1.id);
    CHECK(done_is(&fx, 0, s1.id, DONE_FILLED, 3));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 2);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_ACCEPTED, 0)->id, b1.id);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_ACCEPTED, 1)->id, b2.id);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){1020, 2, 1010, 2}, 2));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 2020);
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 3030);
    CHECK_EQ_I64(balance(&fx, d.seller), 3030);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer, d.instrument), 3);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(pre_open_queue_cancel_and_replace)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_PRE_OPEN).result, RESULT_OK);
    uint64_t s1 = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1000, 3, TIF_DAY).id;
    uint64_t s2 = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1000, 3, TIF_DAY).id;
    uint64_t s3 = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1005, 1, TIF_DAY).id;
    uint64_t b1 = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1010, 4, TIF_DAY).id;
    /* s1 smaller keeps its place; s3 cancelled; s1 grows: to the back. */
    CHECK_EQ_I64(replace(&fx, d.seller, s1, 1000, 2).result, RESULT_OK);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 3);
    CHECK_EQ_I64(cancel(&fx, d.seller, s3).result, RESULT_OK);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 2);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 3);
    CHECK(fixture_check(&fx) == 0);
    CHECK_EQ_I64(replace(&fx, d.buyer, b1, 1010, 5).result, RESULT_OK);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 5050);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    CHECK(fixture_check(&fx) == 0);
    /* Queue: s1 (2), s2 (3), b1 (5) -> s1, s2 rest, b1 takes both. */
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_OPEN).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 2);
    CHECK(trade_is(&fx, 0, s1, 1000, 2));
    CHECK(trade_is(&fx, 1, s2, 1000, 3));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 5000);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(pre_open_replace_of_a_resting_order_does_not_trade)
{
    /* Orders that rested before a return to pre-open stay in the book; a
     * replace that would cross must queue like a new order, not trade
     * while nothing may match. */
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 999, 5, TIF_DAY).id;
    uint64_t ask = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_PRE_OPEN).result, RESULT_OK);
    struct outcome o = replace(&fx, d.seller, ask, 995, 5);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){999, 5}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 1);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 5);
    CHECK(fixture_check(&fx) == 0);
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_OPEN).result, RESULT_OK);
    CHECK(trade_is(&fx, 0, bid, 999, 5));
    CHECK_EQ_I64(balance(&fx, d.seller), 4995);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(order_terms_rejected)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint32_t lots = instrument_new(&fx, 100, 0, 0);
    CHECK_EQ_I64(fx.engine.instruments[lots].lot_size, 100);
    grant(&fx, d.seller, lots, 1000);
    struct frozen frozen;
    freeze(&fx, d.buyer, &frozen);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, 1000, 150, TIF_DAY).result,
                 REJECT_QUANTITY_LOT);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, 1000, 99, TIF_DAY).result,
                 REJECT_QUANTITY_LOT);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, 0, 100, TIF_DAY).result,
                 REJECT_PRICE_OFF_TICK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, -5, 100, TIF_DAY).result,
                 REJECT_PRICE_OFF_TICK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, PRICE_TICKS_MAX + 1, 100,
                               TIF_DAY).result,
                 REJECT_PRICE_OFF_TICK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, 1000, 0, TIF_DAY).result,
                 REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, 1000, -100, TIF_DAY).result,
                 REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots, SIDE_BUY, 1000, QUANTITY_MAX + 100,
                               TIF_DAY).result,
                 REJECT_QUANTITY_ZERO);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, lots + 1, SIDE_BUY, 1000, 100, TIF_DAY).result,
                 REJECT_INSTRUMENT_UNKNOWN);
    struct command c = fixture_command(COMMAND_ORDER_PLACE, d.buyer);
    c.u.order_place.instrument_id = lots;
    c.u.order_place.side = SIDE_COUNT;
    c.u.order_place.price_ticks = 1000;
    c.u.order_place.quantity = 100;
    CHECK_EQ_I64(fixture_apply(&fx, &c).result, REJECT_SIDE_INVALID);
    c = fixture_command(COMMAND_ORDER_PLACE, d.buyer);
    c.u.order_place.instrument_id = lots;
    c.u.order_place.time_in_force = TIF_COUNT;
    c.u.order_place.price_ticks = 1000;
    c.u.order_place.quantity = 100;
    CHECK_EQ_I64(fixture_apply(&fx, &c).result, REJECT_ORDER_TYPE_INVALID);
    CHECK(unchanged_since(&fx, &frozen));
    /* Only members trade. */
    CHECK_EQ_I64(fixture_order(&fx, d.tree.agent_id, lots, SIDE_BUY, 1000, 100, TIF_DAY).result,
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(fixture_order(&fx, 0, lots, SIDE_BUY, 1000, 100, TIF_DAY).result,
                 REJECT_NOT_AUTHORIZED);

    struct outcome o = fixture_order(&fx, d.seller, lots, SIDE_SELL, 1000, 300, TIF_DAY);
    CHECK_EQ_I64(o.result, RESULT_OK);
    o = fixture_order(&fx, d.buyer, lots, SIDE_BUY, 1000, 200, TIF_DAY);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 200);
    CHECK_EQ_I64(replace(&fx, d.seller, o.id - 1, 1000, 50).result, REJECT_QUANTITY_LOT);
    CHECK(depth_equals(&fx, lots, SIDE_SELL, (const int64_t[]){1000, 100}, 1));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* ---- Money and holdings. ---- */

TEST(buying_power_and_reserve_release)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint32_t poor = member_new(&fx, &d);
    fixture_deposit(&fx, poor, 10000);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 10000);
    struct frozen frozen;
    freeze(&fx, poor, &frozen);
    CHECK_EQ_I64(fixture_order(&fx, poor, d.instrument, SIDE_BUY, 1000, 11, TIF_DAY).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(fixture_order(&fx, poor, d.instrument, SIDE_BUY, 1001, 10, TIF_IOC).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK(unchanged_since(&fx, &frozen));
    uint64_t a = fixture_order(&fx, poor, d.instrument, SIDE_BUY, 1000, 10, TIF_DAY).id;
    CHECK(a != 0);
    CHECK_EQ_I64(reserved(&fx, poor), 10000);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 0);
    CHECK_EQ_I64(fixture_order(&fx, poor, d.instrument, SIDE_BUY, 900, 1, TIF_DAY).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK(fixture_check(&fx) == 0);
    struct outcome o = cancel(&fx, poor, a);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 10);
    CHECK(done_is(&fx, 0, a, DONE_CANCELLED, 0));
    CHECK_EQ_I64(reserved(&fx, poor), 0);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 10000);
    CHECK_EQ_I64(balance(&fx, poor), 10000);

    /* Partly filled, then cancelled: only the open part was still held. */
    uint64_t ask = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 999, 4, TIF_DAY).id;
    a = fixture_order(&fx, poor, d.instrument, SIDE_BUY, 999, 10, TIF_DAY).id;
    CHECK(trade_is(&fx, 0, ask, 999, 4));
    CHECK_EQ_I64(reserved(&fx, poor), 6 * 999);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 10000 - 10 * 999);
    CHECK_EQ_I64(cancel(&fx, poor, a).value, 6);
    CHECK_EQ_I64(reserved(&fx, poor), 0);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 10000 - 4 * 999);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(credit_counts_as_buying_power)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint32_t member = fixture_account(&fx, 0, d.tree.agent_id, ACCOUNT_KIND_MEMBER, 5000);
    CHECK_EQ_I64(fixture_order(&fx, member, d.instrument, SIDE_BUY, 1000, 6, TIF_DAY).result,
                 REJECT_FUNDS_INSUFFICIENT);
    CHECK_EQ_I64(fixture_order(&fx, member, d.instrument, SIDE_BUY, 1000, 5, TIF_DAY).result,
                 RESULT_OK);
    fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1000, 5, TIF_DAY);
    CHECK_EQ_I64(balance(&fx, member), -5000);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, member), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(sell_needs_a_free_position)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    struct frozen frozen;
    fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 900, 1, TIF_DAY);
    freeze(&fx, d.buyer, &frozen);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_SELL, 1010, 1, TIF_DAY).result,
                 REJECT_POSITION_INSUFFICIENT);
    CHECK_EQ_I64(market(&fx, d.buyer, d.instrument, SIDE_SELL, 1, TIF_IOC).result,
                 REJECT_POSITION_INSUFFICIENT);
    CHECK(unchanged_since(&fx, &frozen));

    uint64_t a = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1010, 600, TIF_DAY).id;
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 600);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1010, 401, TIF_DAY).result,
                 REJECT_POSITION_INSUFFICIENT);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1020, 400, TIF_DAY).result,
                 RESULT_OK);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), DESK_HOLDING);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1030, 1, TIF_DAY).result,
                 REJECT_POSITION_INSUFFICIENT);
    CHECK(fixture_check(&fx) == 0);
    CHECK_EQ_I64(cancel(&fx, d.seller, a).result, RESULT_OK);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 400);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1030, 600, TIF_DAY).result,
                 RESULT_OK);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1020, 400, 1030, 600},
                       2));
    CHECK(fixture_check(&fx) == 0);

    /* What a buyer bought it can sell; selling all of it leaves no
     * position behind. */
    fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1020, 7, TIF_DAY);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer2, d.instrument), 7);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer2, d.instrument, SIDE_SELL, 1040, 8, TIF_DAY).result,
                 REJECT_POSITION_INSUFFICIENT);
    fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 950, 7, TIF_DAY);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer2, d.instrument, SIDE_SELL, 950, 7, TIF_IOC).value, 7);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer2, d.instrument), 0);
    CHECK_EQ_I64(position_find(&fx.engine, d.buyer2, d.instrument), INDEX_NONE);
    CHECK_EQ_I64(balance(&fx, d.buyer2), DESK_CASH_MINOR - 7 * 1020 + 7 * 950);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

static void limits_set(struct fixture *fx, uint32_t sender, uint32_t account,
                       int64_t quantity_max, int64_t notional_max_minor, int64_t expected)
{
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_LIMITS, sender);
    c.u.account_set_limits.account_id = account;
    c.u.account_set_limits.order_quantity_max = quantity_max;
    c.u.account_set_limits.order_notional_max_minor = notional_max_minor;
    CHECK_EQ_I64(fixture_apply(fx, &c).result, expected);
}

TEST(account_order_limits)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    limits_set(&fx, d.buyer, d.buyer, 50, 45000, REJECT_NOT_AUTHORIZED);
    limits_set(&fx, d.buyer2, d.buyer, 50, 45000, REJECT_NOT_AUTHORIZED);
    limits_set(&fx, d.tree.agent_id, d.buyer, 50, 45000, RESULT_OK);
    CHECK(!test_current_failed);
    CHECK_EQ_I64(fx.engine.accounts[d.buyer].order_quantity_max, 50);
    CHECK_EQ_I64(fx.engine.accounts[d.buyer].order_notional_max_minor, 45000);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 700, 51, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 900, 51, TIF_DAY).result,
                 REJECT_QUANTITY_ABOVE_MAX);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 50, TIF_DAY).result,
                 REJECT_NOTIONAL_ABOVE_MAX);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 901, 50, TIF_DAY).result,
                 REJECT_NOTIONAL_ABOVE_MAX);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    /* A market buy counts at the band high: 1100 * 41 = 45100. */
    fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1000, 100, TIF_DAY);
    CHECK_EQ_I64(market(&fx, d.buyer, d.instrument, SIDE_BUY, 41, TIF_IOC).result,
                 REJECT_NOTIONAL_ABOVE_MAX);
    CHECK_EQ_I64(market(&fx, d.buyer, d.instrument, SIDE_BUY, 40, TIF_IOC).value, 40);
    struct outcome o = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 900, 49, TIF_DAY);
    CHECK_EQ_I64(o.result, RESULT_OK); /* 44100 */
    CHECK_EQ_I64(replace(&fx, d.buyer, o.id, 901, 50).result, REJECT_NOTIONAL_ABOVE_MAX);
    CHECK_EQ_I64(replace(&fx, d.buyer, o.id, 900, 51).result, REJECT_QUANTITY_ABOVE_MAX);
    CHECK_EQ_I64(replace(&fx, d.buyer, o.id, 900, 50).result, RESULT_OK); /* 45000 exactly */
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){900, 50}, 1));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 45000);
    /* Other accounts are not limited; 0 lifts the limits. */
    CHECK_EQ_I64(fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 900, 100, TIF_DAY).result,
                 RESULT_OK);
    limits_set(&fx, d.tree.master_id, d.buyer, 0, 0, RESULT_OK);
    CHECK(!test_current_failed);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 900, 100, TIF_DAY).result,
                 RESULT_OK);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* The sum of every balance: zero when no money was made or lost. */
static int64_t balances_sum(const struct fixture *fx)
{
    int64_t sum = 0;
    for (uint32_t id = 0; id < fx->engine.account_count; id++)
        sum += fx->engine.accounts[id].balance_minor;
    return sum;
}

TEST(fees_go_to_the_house)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint32_t fees = instrument_new(&fx, 1, 10, 20);
    grant(&fx, d.seller, fees, 1000);
    int64_t house = balance(&fx, 0);
    CHECK_EQ_I64(house, -2 * DESK_CASH_MINOR);

    /* Maker sells, taker buys: notional 100000, fees 100 and 200. */
    uint64_t ask = fixture_order(&fx, d.seller, fees, SIDE_SELL, 1000, 100, TIF_DAY).id;
    struct outcome o = fixture_order(&fx, d.buyer, fees, SIDE_BUY, 1000, 100, TIF_DAY);
    CHECK_EQ_I64(o.value, 100);
    CHECK(trade_is(&fx, 0, ask, 1000, 100));
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.maker_fee_minor, 100);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.taker_fee_minor, 200);
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 100200);
    CHECK_EQ_I64(balance(&fx, d.seller), 99900);
    CHECK_EQ_I64(balance(&fx, 0), house + 300);
    CHECK_EQ_I64(fx.engine.accounts[d.seller].day_fees_minor, 100);
    CHECK_EQ_I64(fx.engine.accounts[d.buyer].day_fees_minor, 200);
    CHECK_EQ_I64(balances_sum(&fx), 0);
    CHECK(fixture_check(&fx) == 0);

    /* Maker buys, taker sells; a resting buy reserves the larger fee. The
     * notional 7007 gives floor(7.007) = 7 and floor(14.014) = 14. */
    uint64_t bid = fixture_order(&fx, d.buyer2, fees, SIDE_BUY, 1001, 7, TIF_DAY).id;
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 7007 + 14);
    o = fixture_order(&fx, d.seller, fees, SIDE_SELL, 1001, 7, TIF_IOC);
    CHECK(trade_is(&fx, 0, bid, 1001, 7));
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.maker_fee_minor, 7);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.taker_fee_minor, 14);
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 0);
    CHECK_EQ_I64(balance(&fx, d.buyer2), DESK_CASH_MINOR - 7014);
    CHECK_EQ_I64(balance(&fx, d.seller), 99900 + 7007 - 14);
    CHECK_EQ_I64(balance(&fx, 0), house + 300 + 21);
    CHECK_EQ_I64(balances_sum(&fx), 0);
    CHECK(fixture_check(&fx) == 0);

    /* A partly filled resting buy keeps the reserve of its open part. */
    bid = fixture_order(&fx, d.buyer2, fees, SIDE_BUY, 1000, 3, TIF_DAY).id;
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 3006);
    fixture_order(&fx, d.seller, fees, SIDE_SELL, 1000, 1, TIF_IOC);
    CHECK(trade_is(&fx, 0, bid, 1000, 1));
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 2004);
    CHECK_EQ_I64(balance(&fx, d.buyer2), DESK_CASH_MINOR - 7014 - 1001);
    CHECK_EQ_I64(cancel(&fx, d.buyer2, bid).value, 2);
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 0);
    CHECK_EQ_I64(balance(&fx, 0), house + 300 + 21 + 3);
    CHECK_EQ_I64(balances_sum(&fx), 0);

    /* Buying power covers the fee too. */
    uint32_t poor = member_new(&fx, &d);
    fixture_deposit(&fx, poor, 100199);
    CHECK_EQ_I64(fixture_order(&fx, poor, fees, SIDE_BUY, 1000, 100, TIF_DAY).result,
                 REJECT_FUNDS_INSUFFICIENT);
    fixture_deposit(&fx, poor, 1);
    CHECK_EQ_I64(fixture_order(&fx, poor, fees, SIDE_BUY, 1000, 100, TIF_DAY).result, RESULT_OK);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, poor), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(self_trade_cancels_the_remainder)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint32_t trader = d.tree.member_id;
    grant(&fx, trader, d.instrument, 100);
    uint64_t own = fixture_order(&fx, trader, d.instrument, SIDE_SELL, 1001, 5, TIF_DAY).id;
    fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1002, 5, TIF_DAY);
    struct outcome o = fixture_order(&fx, trader, d.instrument, SIDE_BUY, 1002, 8, TIF_DAY);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 1);
    CHECK(done_is(&fx, 0, o.id, DONE_SELF_TRADE, 0));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_ACCEPTED), 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 5, 1002, 5}, 2));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK_EQ_I64(reserved(&fx, trader), 0);
    CHECK(fixture_check(&fx) == 0);

    /* It trades what lies before its own order, then stops. */
    uint64_t better = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1000, 3, TIF_DAY).id;
    o = fixture_order(&fx, trader, d.instrument, SIDE_BUY, 1002, 8, TIF_GTC);
    CHECK_EQ_I64(o.value, 3);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, better, 1000, 3));
    CHECK(done_is(&fx, 1, o.id, DONE_SELF_TRADE, 3));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1001, 5, 1002, 5}, 2));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK_EQ_I64(engine_position(&fx.engine, trader, d.instrument), 103);
    CHECK_EQ_I64(held(&fx, trader, d.instrument), 5);
    CHECK_EQ_I64(balance(&fx, trader), -3000);
    CHECK_EQ_I64(reserved(&fx, trader), 0);

    /* The same on the sell side, own bid ahead of another's at a level. */
    uint64_t own_bid = fixture_order(&fx, trader, d.instrument, SIDE_BUY, 990, 5, TIF_DAY).id;
    fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 990, 5, TIF_DAY);
    o = fixture_order(&fx, trader, d.instrument, SIDE_SELL, 980, 2, TIF_DAY);
    CHECK_EQ_I64(o.value, 0);
    CHECK(done_is(&fx, 0, o.id, DONE_SELF_TRADE, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){990, 10}, 1));
    CHECK_EQ_I64(held(&fx, trader, d.instrument), 5);
    CHECK_EQ_I64(cancel(&fx, trader, own).result, RESULT_OK);
    CHECK_EQ_I64(cancel(&fx, trader, own_bid).result, RESULT_OK);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(cancel_rights)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 5, TIF_DAY).id;
    uint64_t ask = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1010, 5, TIF_GTC).id;
    struct frozen frozen;
    freeze(&fx, d.buyer2, &frozen);
    CHECK_EQ_I64(cancel(&fx, d.buyer2, bid).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(cancel(&fx, d.buyer2, 999).result, REJECT_ORDER_UNKNOWN);
    CHECK_EQ_I64(cancel(&fx, d.buyer2, 0).result, REJECT_ORDER_UNKNOWN);
    CHECK(unchanged_since(&fx, &frozen));
    CHECK_EQ_I64(cancel(&fx, d.tree.agent_id, bid).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(cancel(&fx, d.tree.super_id, bid).result, REJECT_NOT_AUTHORIZED);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){1000, 5}, 1));

    struct outcome o = cancel(&fx, d.tree.operator_id, bid);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.id, bid);
    CHECK_EQ_I64(o.value, 5);
    CHECK(done_is(&fx, 0, bid, DONE_CANCELLED, 0));
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_DONE, 0)->account_id, d.buyer);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK_EQ_I64(cancel(&fx, d.buyer, bid).result, REJECT_ORDER_UNKNOWN);
    o = cancel(&fx, 0, ask);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK(done_is(&fx, 0, ask, DONE_CANCELLED, 0));
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(position_find(&fx.engine, d.buyer, d.instrument), INDEX_NONE);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(suspended_member_cannot_trade)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 5, TIF_DAY).id;
    struct command c = fixture_command(COMMAND_ACCOUNT_SET_STATUS, d.tree.agent_id);
    c.u.account_set_status.account_id = d.buyer;
    c.u.account_set_status.status = ACCOUNT_STATUS_SUSPENDED;
    CHECK_EQ_I64(fixture_apply(&fx, &c).result, RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 5, TIF_DAY).result,
                 REJECT_SENDER_INACTIVE);
    /* Its resting order still trades; an operator may take it out. */
    struct outcome o = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1000, 2, TIF_IOC);
    CHECK(trade_is(&fx, 0, bid, 1000, 2));
    CHECK_EQ_I64(cancel(&fx, d.tree.operator_id, bid).value, 3);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK(o.result == RESULT_OK);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* ---- The daily cycle. ---- */

TEST(end_of_day_expires_day_orders_keeps_gtc)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 5, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 999, 5, TIF_GTC).id;
    uint64_t c = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1005, 3, TIF_GTC).id;
    uint64_t e = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1006, 2, TIF_DAY).id;
    CHECK_EQ_I64(day_end(&fx).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 2);
    CHECK(done_is(&fx, 0, a, DONE_EXPIRED, 0));
    CHECK(done_is(&fx, 1, e, DONE_EXPIRED, 0));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_DAY), 1);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].phase, PHASE_DAY_CLOSED);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){999, 5}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1005, 3}, 1));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 4995);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 3);
    CHECK(fixture_check(&fx) == 0);

    /* Closed until the next start; GTC orders may still be cancelled. */
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 1, TIF_GTC).result,
                 REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_OPEN).result, REJECT_DAY_STATE);
    CHECK_EQ_I64(replace(&fx, d.buyer, b, 998, 5).result, REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(day_start(&fx).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 0);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].phase, PHASE_OPEN);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].reference_price_ticks, 1000);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].band_low_ticks, 900);
    struct outcome o = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 999, 5, TIF_IOC);
    CHECK(trade_is(&fx, 0, b, 999, 5));
    o = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1005, 3, TIF_IOC);
    CHECK(trade_is(&fx, 0, c, 1005, 3));
    CHECK_EQ_I64(o.value, 3);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* Today: a trade at 1050, and GTC orders on both sides; tomorrow's band is
 * 945..1155. */
struct next_day {
    uint64_t a, b, c, e, f;
};

static void next_day_book(struct fixture *fx, const struct desk *d, struct next_day *n)
{
    fixture_order(fx, d->seller, d->instrument, SIDE_SELL, 1050, 1, TIF_DAY);
    fixture_order(fx, d->buyer, d->instrument, SIDE_BUY, 1050, 1, TIF_DAY);
    n->a = fixture_order(fx, d->buyer, d->instrument, SIDE_BUY, 950, 5, TIF_GTC).id;
    n->b = fixture_order(fx, d->buyer2, d->instrument, SIDE_BUY, 950, 5, TIF_GTC).id;
    n->c = fixture_order(fx, d->buyer, d->instrument, SIDE_BUY, 944, 2, TIF_GTC).id;
    n->e = fixture_order(fx, d->buyer2, d->instrument, SIDE_BUY, 900, 1, TIF_GTC).id;
    n->f = fixture_order(fx, d->seller, d->instrument, SIDE_SELL, 1100, 4, TIF_GTC).id;
    fixture_order(fx, d->seller2, d->instrument, SIDE_SELL, 1090, 1, TIF_DAY);
}

TEST(next_day_rebands_on_the_last_trade)
{
    struct fixture fx;
    struct desk d;
    struct next_day n;
    desk_init(&fx, &d);
    next_day_book(&fx, &d, &n);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].last_price_ticks, 1050);
    CHECK_EQ_I64(day_end(&fx).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 1);
    CHECK_EQ_I64(day_start(&fx).result, RESULT_OK);
    const struct instrument *in = &fx.engine.instruments[d.instrument];
    CHECK_EQ_I64(in->reference_price_ticks, 1050);
    CHECK_EQ_I64(in->band_low_ticks, 945);
    CHECK_EQ_I64(in->band_high_ticks, 1155);
    CHECK_EQ_I64(in->ladder_base_ticks, 945);
    CHECK_EQ_I64(in->day_trade_count, 0);
    CHECK_EQ_I64(in->day_volume, 0);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 2);
    CHECK(done_is(&fx, 0, n.c, DONE_OUTSIDE_BAND, 0));
    CHECK(done_is(&fx, 1, n.e, DONE_OUTSIDE_BAND, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){950, 10}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1100, 4}, 1));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 4750);
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 4750);
    CHECK(fixture_check(&fx) == 0);

    /* The new edges. */
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 944, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1156, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    uint64_t low = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 945, 1, TIF_DAY).id;
    uint64_t high = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1155, 1, TIF_GTC).id;
    CHECK(low != 0 && high != 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){950, 10, 945, 1}, 2));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1100, 4, 1155, 1}, 2));

    /* The orders that stayed kept their priority: a first, then b. */
    struct outcome o = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 950, 7, TIF_IOC);
    CHECK_EQ_I64(o.value, 7);
    CHECK(trade_is(&fx, 0, n.a, 950, 5));
    CHECK(trade_is(&fx, 1, n.b, 950, 2));
    CHECK(fixture_check(&fx) == 0);

    /* Next day from 950: band 855..1045, the asks at 1100 and 1155 leave,
     * the ask side is cancelled best first. */
    CHECK_EQ_I64(day_end(&fx).result, RESULT_OK);
    CHECK_EQ_I64(day_start(&fx).result, RESULT_OK);
    CHECK_EQ_I64(in->reference_price_ticks, 950);
    CHECK_EQ_I64(in->band_low_ticks, 855);
    CHECK_EQ_I64(in->band_high_ticks, 1045);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 2);
    CHECK(done_is(&fx, 0, n.f, DONE_OUTSIDE_BAND, 0));
    CHECK(done_is(&fx, 1, high, DONE_OUTSIDE_BAND, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){950, 3}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK(fixture_check(&fx) == 0);

    /* A day without trades keeps the reference. */
    CHECK_EQ_I64(day_end(&fx).result, RESULT_OK);
    CHECK_EQ_I64(day_start(&fx).result, RESULT_OK);
    CHECK_EQ_I64(in->reference_price_ticks, 950);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){950, 3}, 1));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(set_reference_rebands_immediately)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    uint64_t a = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 900, 1, TIF_DAY).id;
    uint64_t b = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 950, 2, TIF_GTC).id;
    uint64_t c = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1000, 3, TIF_DAY).id;
    uint64_t e = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1050, 4, TIF_DAY).id;
    uint64_t f = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1050, 5, TIF_DAY).id;
    fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1100, 6, TIF_GTC);
    struct frozen frozen;
    freeze(&fx, d.buyer, &frozen);
    CHECK_EQ_I64(set_reference(&fx, d.buyer, d.instrument, 1100).result, REJECT_NOT_AUTHORIZED);
    CHECK(unchanged_since(&fx, &frozen));
    CHECK_EQ_I64(set_reference(&fx, d.tree.agent_id, d.instrument, 1100).result,
                 REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(set_reference(&fx, 0, d.instrument, 0).result, REJECT_PRICE_OFF_TICK);
    CHECK_EQ_I64(set_reference(&fx, 0, d.instrument + 1, 1100).result,
                 REJECT_INSTRUMENT_UNKNOWN);

    struct outcome o = set_reference(&fx, d.tree.operator_id, d.instrument, 1100);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, 1100);
    const struct instrument *in = &fx.engine.instruments[d.instrument];
    CHECK_EQ_I64(in->band_low_ticks, 990);
    CHECK_EQ_I64(in->band_high_ticks, 1210);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 2);
    CHECK(done_is(&fx, 0, b, DONE_OUTSIDE_BAND, 0));
    CHECK(done_is(&fx, 1, a, DONE_OUTSIDE_BAND, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){1000, 3}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, (const int64_t[]){1050, 9, 1100, 6}, 2));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 3000);
    CHECK(fixture_check(&fx) == 0);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 989, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1211, 1, TIF_DAY).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 990, 1, TIF_DAY).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1210, 1, TIF_DAY).result,
                 RESULT_OK);
    /* Priority survived the move. */
    o = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1050, 6, TIF_IOC);
    CHECK(trade_is(&fx, 0, e, 1050, 4));
    CHECK(trade_is(&fx, 1, f, 1050, 2));

    /* Down to 900: band 810..990; everything above 990 leaves. */
    o = set_reference(&fx, 0, d.instrument, 900);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 4);
    CHECK(done_is(&fx, 0, c, DONE_OUTSIDE_BAND, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){990, 1}, 1));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(reserved(&fx, d.buyer), 990);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK_EQ_I64(held(&fx, d.seller2, d.instrument), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(orders_pool_full)
{
    struct fixture fx;
    struct desk d;
    struct limits limits;
    fixture_limits(&limits);
    limits.orders_max = 3;
    fixture_init_limits(&fx, &limits);
    desk_setup(&fx, &d);
    uint64_t bid = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 990, 1, TIF_DAY).id;
    fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 991, 1, TIF_GTC);
    uint64_t ask = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1010, 1, TIF_DAY).id;
    struct frozen frozen;
    freeze(&fx, d.seller2, &frozen);
    CHECK_EQ_I64(fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1011, 1, TIF_DAY).result,
                 REJECT_ORDERS_FULL);
    CHECK_EQ_I64(fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1011, 1, TIF_GTC).result,
                 REJECT_ORDERS_FULL);
    CHECK(unchanged_since(&fx, &frozen));
    /* What does not rest needs no slot; a fill frees one. */
    struct outcome o = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1010, 1, TIF_IOC);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK(trade_is(&fx, 0, ask, 1010, 1));
    CHECK_EQ_I64(fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 1011, 1, TIF_DAY).result,
                 RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 980, 1, TIF_DAY).result,
                 REJECT_ORDERS_FULL);
    /* A replace reuses its own slot. */
    CHECK_EQ_I64(replace(&fx, d.buyer, bid, 989, 2).result, RESULT_OK);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 1978);
    CHECK(fixture_check(&fx) == 0);
    /* The pre-open queue draws on the same pool. */
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_PRE_OPEN).result, RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 980, 1, TIF_DAY).result,
                 REJECT_ORDERS_FULL);
    CHECK_EQ_I64(cancel(&fx, d.buyer, bid).result, RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 980, 1, TIF_DAY).result,
                 RESULT_OK);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 1);
    CHECK(fixture_check(&fx) == 0);
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_OPEN).result, RESULT_OK);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, (const int64_t[]){991, 1, 980, 1}, 2));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(pre_open_queue_across_the_day_boundary)
{
    /* Queued DAY orders expire at the end of day; queued GTC orders
     * outside the next band are cancelled before the open matches the
     * rest. */
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 1050, 1, TIF_DAY);
    fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 1050, 1, TIF_DAY);
    CHECK_EQ_I64(set_phase(&fx, d.instrument, PHASE_PRE_OPEN).result, RESULT_OK);
    uint64_t q1 = fixture_order(&fx, d.buyer, d.instrument, SIDE_BUY, 950, 2, TIF_GTC).id;
    uint64_t q2 = fixture_order(&fx, d.buyer2, d.instrument, SIDE_BUY, 1000, 3, TIF_DAY).id;
    uint64_t q3 = fixture_order(&fx, d.seller, d.instrument, SIDE_SELL, 940, 1, TIF_GTC).id;
    uint64_t q4 = fixture_order(&fx, d.seller2, d.instrument, SIDE_SELL, 950, 2, TIF_GTC).id;
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 4);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 0);
    CHECK(fixture_check(&fx) == 0);

    CHECK_EQ_I64(day_end(&fx).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 1);
    CHECK(done_is(&fx, 0, q2, DONE_EXPIRED, 0));
    CHECK_EQ_I64(reserved(&fx, d.buyer2), 0);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 3);
    CHECK(fixture_check(&fx) == 0);

    CHECK_EQ_I64(day_start(&fx).result, RESULT_OK);
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].band_low_ticks, 945);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 3);
    CHECK(done_is(&fx, 0, q3, DONE_OUTSIDE_BAND, 0));
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 1);
    CHECK(trade_is(&fx, 0, q1, 950, 2));
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->id, q4);
    CHECK(done_is(&fx, 1, q1, DONE_FILLED, 2));
    CHECK(done_is(&fx, 2, q4, DONE_FILLED, 2));
    CHECK_EQ_I64(fx.engine.instruments[d.instrument].queue_count, 0);
    CHECK(depth_equals(&fx, d.instrument, SIDE_BUY, NULL, 0));
    CHECK(depth_equals(&fx, d.instrument, SIDE_SELL, NULL, 0));
    CHECK_EQ_I64(balance(&fx, d.buyer), DESK_CASH_MINOR - 1050 - 1900);
    CHECK_EQ_I64(balance(&fx, d.seller2), 1900);
    CHECK_EQ_I64(held(&fx, d.seller, d.instrument), 0);
    CHECK_EQ_I64(reserved(&fx, d.buyer), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(instrument_and_phase_rejects)
{
    struct fixture fx;
    struct desk d;
    desk_init(&fx, &d);
    struct command c = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = 1;
    c.u.instrument_create.reference_price_ticks = 1000;
    c.u.instrument_create.band_bp = 1000;
    struct command bad = c;
    bad.u.instrument_create.lot_size = 0;
    CHECK_EQ_I64(fixture_apply(&fx, &bad).result, REJECT_INSTRUMENT_INVALID);
    bad = c;
    bad.u.instrument_create.tick_size_minor = TICK_SIZE_MINOR_MAX + 1;
    CHECK_EQ_I64(fixture_apply(&fx, &bad).result, REJECT_INSTRUMENT_INVALID);
    bad = c;
    bad.u.instrument_create.band_bp = BP_ONE;
    CHECK_EQ_I64(fixture_apply(&fx, &bad).result, REJECT_INSTRUMENT_INVALID);
    bad = c;
    bad.u.instrument_create.fee_taker_bp = 1001;
    CHECK_EQ_I64(fixture_apply(&fx, &bad).result, REJECT_INSTRUMENT_INVALID);
    bad = c;
    bad.sender_account_id = d.tree.agent_id;
    CHECK_EQ_I64(fixture_apply(&fx, &bad).result, REJECT_NOT_AUTHORIZED);

    /* Created during an open day, an instrument waits for its phase. */
    uint32_t id = (uint32_t)fixture_ok(&fx, &c).id;
    CHECK_EQ_I64(fx.engine.instruments[id].phase, PHASE_CLOSED);
    grant(&fx, d.seller, id, 10);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, id, SIDE_SELL, 1000, 1, TIF_GTC).result,
                 REJECT_PHASE_CLOSED);
    CHECK_EQ_I64(set_phase(&fx, id, PHASE_CLOSED).result, REJECT_PHASE_INVALID);
    CHECK_EQ_I64(set_phase(&fx, id, PHASE_DAY_CLOSED).result, REJECT_PHASE_INVALID);
    CHECK_EQ_I64(set_phase(&fx, id + 1, PHASE_OPEN).result, REJECT_INSTRUMENT_UNKNOWN);
    struct command phase = fixture_command(COMMAND_INSTRUMENT_SET_PHASE, d.buyer);
    phase.u.instrument_set_phase.instrument_id = id;
    phase.u.instrument_set_phase.phase = PHASE_OPEN;
    CHECK_EQ_I64(fixture_apply(&fx, &phase).result, REJECT_NOT_AUTHORIZED);
    CHECK_EQ_I64(set_phase(&fx, id, PHASE_OPEN).result, RESULT_OK);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, id, SIDE_SELL, 1000, 1, TIF_GTC).result,
                 RESULT_OK);
    /* The fixture allows four instruments. A fresh client_seq each time,
     * or the engine answers a resend. */
    for (uint32_t more = 2; more <= 4; more++) {
        c.client_seq = 0;
        struct outcome o = fixture_apply(&fx, &c);
        CHECK_EQ_I64(o.duplicate, 0);
        CHECK_EQ_I64(o.result, more < 4 ? RESULT_OK : REJECT_INSTRUMENTS_FULL);
    }
    CHECK_EQ_I64(fx.engine.instrument_count, 4);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST_MAIN()
