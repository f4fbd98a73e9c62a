/* Unit tests of the order book (src/core/book.c) through its public
 * behaviour: engine_book_depth() walks a side best first with the ladder's
 * bit scans, so prices at the band's edges and at 64-level word boundaries
 * show whether the scans are right; takers show the FIFO of a level; and
 * book_side_check() must hold after orders leave from anywhere, and must
 * fail when a level is corrupted, so that it can be trusted elsewhere. */
#include "core/book.h"
#include "fixture.h"
#include "test.h"

/* A wide band: reference 10000 and +-40 % would be 6000..14000, which the
 * ladder clamps to +-2047 ticks: 7953..12047, ladder indexes 0..4094. */
#define WIDE_REFERENCE 10000
#define WIDE_BAND_BP 4000
#define WIDE_LOW 7953
#define WIDE_HIGH 12047
#define WIDE_LEVELS 4095

/* Buyers and sellers under one agent, and the limits they trade in. */
struct book_desk {
    struct fixture_tree tree;
    uint32_t buyer;
    uint32_t buyer2;
    uint32_t seller;
    uint32_t seller2;
};

static void book_desk_init(struct fixture *fx, struct book_desk *desk, uint32_t orders_max)
{
    struct limits limits;
    fixture_limits(&limits);
    limits.orders_max = orders_max;
    fixture_init_limits(fx, &limits);
    fixture_tree(fx, &desk->tree);
    desk->buyer = fixture_account(fx, 0, desk->tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
    desk->buyer2 = fixture_account(fx, 0, desk->tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
    desk->seller = fixture_account(fx, 0, desk->tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
    desk->seller2 = fixture_account(fx, 0, desk->tree.agent_id, ACCOUNT_KIND_MEMBER, 0);
    fixture_deposit(fx, desk->buyer, 200000000);
    fixture_deposit(fx, desk->buyer2, 200000000);
}

/* An instrument with tick 1, lot 1, no fees, opened for trading. */
static uint32_t book_instrument(struct fixture *fx, const char *symbol, int64_t reference_ticks,
                                uint16_t band_bp)
{
    struct command c = fixture_command(COMMAND_INSTRUMENT_CREATE, 0);
    size_t symbol_size = strlen(symbol);
    memcpy(c.u.instrument_create.symbol, symbol,
           symbol_size < SYMBOL_SIZE ? symbol_size : SYMBOL_SIZE);
    c.u.instrument_create.tick_size_minor = 1;
    c.u.instrument_create.lot_size = 1;
    c.u.instrument_create.reference_price_ticks = reference_ticks;
    c.u.instrument_create.band_bp = band_bp;
    uint32_t id = (uint32_t)fixture_ok(fx, &c).id;
    if (!fx->engine.day_open) {
        struct command day = fixture_command(COMMAND_DAY_START, 0);
        day.u.day.trading_date = 20260102;
        fixture_ok(fx, &day);
    } else {
        struct command phase = fixture_command(COMMAND_INSTRUMENT_SET_PHASE, 0);
        phase.u.instrument_set_phase.instrument_id = id;
        phase.u.instrument_set_phase.phase = PHASE_OPEN;
        fixture_ok(fx, &phase);
    }
    return id;
}

static void grant(struct fixture *fx, uint32_t account, uint32_t instrument, int64_t quantity)
{
    struct command c = fixture_command(COMMAND_POSITION_GRANT, 0);
    c.u.position_grant.account_id = account;
    c.u.position_grant.instrument_id = instrument;
    c.u.position_grant.quantity = quantity;
    fixture_ok(fx, &c);
}

static struct outcome cancel(struct fixture *fx, uint32_t sender, uint64_t order_id)
{
    struct command c = fixture_command(COMMAND_ORDER_CANCEL, sender);
    c.u.order_cancel.order_id = order_id;
    return fixture_apply(fx, &c);
}

static struct outcome set_reference(struct fixture *fx, uint32_t instrument, int64_t ticks)
{
    struct command c = fixture_command(COMMAND_INSTRUMENT_SET_REFERENCE, 0);
    c.u.instrument_set_reference.instrument_id = instrument;
    c.u.instrument_set_reference.reference_price_ticks = ticks;
    return fixture_apply(fx, &c);
}

/* Places a resting order and returns its id, or 0 when it did not rest. */
static uint64_t rest(struct fixture *fx, uint32_t member, uint32_t instrument, enum side side,
                     int64_t price_ticks, int64_t quantity)
{
    struct outcome o = fixture_order(fx, member, instrument, side, price_ticks, quantity, TIF_GTC);
    if (o.result != RESULT_OK || fixture_count(fx, EVENT_ORDER_ACCEPTED) != 1) {
        fprintf(stderr, "  order at %lld did not rest: %s\n", (long long)price_ticks,
                result_name(o.result));
        return 0;
    }
    return o.id;
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

/* book_side_check() on both sides of an instrument. */
static int sides_check(const struct fixture *fx, uint32_t instrument)
{
    char errmsg[128];
    const struct instrument *in = &fx->engine.instruments[instrument];
    for (uint32_t side = 0; side < SIDE_COUNT; side++) {
        if (book_side_check(&fx->engine, in, side, errmsg, sizeof errmsg) != 0) {
            fprintf(stderr, "  %s\n", errmsg);
            return -1;
        }
    }
    return 0;
}

TEST(depth_at_band_edges_both_sides)
{
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 1024);
    uint32_t id = book_instrument(&fx, "NARROW", 1000, 1000);
    const struct instrument *in = &fx.engine.instruments[id];
    CHECK_EQ_I64(in->band_low_ticks, 900);
    CHECK_EQ_I64(in->band_high_ticks, 1100);
    CHECK_EQ_I64(in->ladder_base_ticks, 900);
    grant(&fx, d.seller, id, 100);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 900, 1) != 0);   /* index 0 */
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 1000, 2) != 0);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 963, 3) != 0);   /* word 0, bit 63 */
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 964, 4) != 0);   /* word 1, bit 0 */
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, 1100, 5) != 0); /* index 200 */
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, 1001, 6) != 0);
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, 1092, 7) != 0); /* word 3, bit 0 */
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, 1091, 8) != 0); /* word 2, bit 63 */
    CHECK(depth_equals(&fx, id, SIDE_BUY, (const int64_t[]){1000, 2, 964, 4, 963, 3, 900, 1},
                       4));
    CHECK(depth_equals(&fx, id, SIDE_SELL,
                       (const int64_t[]){1001, 6, 1091, 8, 1092, 7, 1100, 5}, 4));

    /* Fewer levels than the side has: the best ones; none asked: none. */
    struct depth_level levels[2];
    CHECK_EQ_I64(engine_book_depth(&fx.engine, id, SIDE_BUY, levels, 2), 2);
    CHECK_EQ_I64(levels[0].price_ticks, 1000);
    CHECK_EQ_I64(levels[1].price_ticks, 964);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, id, SIDE_SELL, levels, 0), 0);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, id + 1, SIDE_SELL, levels, 2), 0);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, id, SIDE_COUNT, levels, 2), 0);
    CHECK(sides_check(&fx, id) == 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(depth_at_the_clamped_low_edge)
{
    /* Reference 10, +-90 %: half 9, band 1..19; price 1 is index 0. */
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 1024);
    uint32_t id = book_instrument(&fx, "CHEAP", 10, 9000);
    CHECK_EQ_I64(fx.engine.instruments[id].band_low_ticks, 1);
    CHECK_EQ_I64(fx.engine.instruments[id].band_high_ticks, 19);
    grant(&fx, d.seller, id, 100);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 1, 10) != 0);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 2, 20) != 0);
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, 19, 30) != 0);
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, 3, 40) != 0);
    CHECK_EQ_I64(fixture_order(&fx, d.buyer, id, SIDE_BUY, 0, 1, TIF_GTC).result,
                 REJECT_PRICE_OFF_TICK);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, id, SIDE_SELL, 20, 1, TIF_GTC).result,
                 REJECT_PRICE_OUTSIDE_BAND);
    CHECK(depth_equals(&fx, id, SIDE_BUY, (const int64_t[]){2, 20, 1, 10}, 2));
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){3, 40, 19, 30}, 2));
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(depth_at_the_clamped_high_edge)
{
    /* Reference PRICE_TICKS_MAX, +-10 %: half clamped to 2047, the high
     * end clamped to the largest valid price. */
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 1024);
    uint32_t id = book_instrument(&fx, "TOP", PRICE_TICKS_MAX, 1000);
    const struct instrument *in = &fx.engine.instruments[id];
    CHECK_EQ_I64(in->band_low_ticks, PRICE_TICKS_MAX - 2047);
    CHECK_EQ_I64(in->band_high_ticks, PRICE_TICKS_MAX);
    grant(&fx, d.seller, id, 100);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, PRICE_TICKS_MAX - 2047, 1) != 0);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, PRICE_TICKS_MAX - 1, 2) != 0);
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, PRICE_TICKS_MAX, 3) != 0);
    CHECK_EQ_I64(fixture_order(&fx, d.seller, id, SIDE_SELL, PRICE_TICKS_MAX + 1, 1,
                               TIF_GTC).result,
                 REJECT_PRICE_OFF_TICK);
    CHECK(depth_equals(&fx, id, SIDE_BUY,
                       (const int64_t[]){PRICE_TICKS_MAX - 1, 2, PRICE_TICKS_MAX - 2047, 1}, 2));
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){PRICE_TICKS_MAX, 3}, 1));
    CHECK_EQ_I64(fx.engine.accounts[d.buyer].reserved_minor,
                 (PRICE_TICKS_MAX - 2047) + 2 * (PRICE_TICKS_MAX - 1));
    struct outcome o = fixture_order(&fx, d.buyer2, id, SIDE_BUY, PRICE_TICKS_MAX, 3, TIF_IOC);
    CHECK_EQ_I64(o.value, 3);
    CHECK_EQ_I64(fx.engine.accounts[d.seller].balance_minor, 3 * PRICE_TICKS_MAX);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* Rests one order at every price of the wide band on side, quantity
 * 1 + price % 5, and checks the whole depth best first. */
static void wide_fill_side(struct fixture *fx, uint32_t member, uint32_t id, enum side side,
                           uint64_t *ids)
{
    for (int64_t price = WIDE_LOW; price <= WIDE_HIGH; price++) {
        ids[price - WIDE_LOW] = rest(fx, member, id, side, price, 1 + price % 5);
        CHECK(ids[price - WIDE_LOW] != 0);
    }
    static struct depth_level levels[LADDER_LEVELS];
    CHECK_EQ_I64(engine_book_depth(&fx->engine, id, side, levels, LADDER_LEVELS), WIDE_LEVELS);
    for (uint32_t i = 0; i < WIDE_LEVELS; i++) {
        int64_t price = side == SIDE_BUY ? WIDE_HIGH - (int64_t)i : WIDE_LOW + (int64_t)i;
        CHECK_EQ_I64(levels[i].price_ticks, price);
        CHECK_EQ_I64(levels[i].quantity, 1 + price % 5);
    }
}

/* Cancels every level whose index is not a multiple of 3 and checks what
 * is left: 1365 levels 3 ticks apart, from index 0 to index 4092. */
static void wide_thin_side(struct fixture *fx, uint32_t member, uint32_t id, enum side side,
                           const uint64_t *ids)
{
    for (uint32_t i = 0; i < WIDE_LEVELS; i++) {
        if (i % 3 != 0)
            CHECK_EQ_I64(cancel(fx, member, ids[i]).result, RESULT_OK);
    }
    CHECK(sides_check(fx, id) == 0);
    static struct depth_level levels[LADDER_LEVELS];
    CHECK_EQ_I64(engine_book_depth(&fx->engine, id, side, levels, LADDER_LEVELS), 1365);
    for (uint32_t i = 0; i < 1365; i++) {
        int64_t price = side == SIDE_BUY ? WIDE_LOW + 4092 - 3 * (int64_t)i
                                         : WIDE_LOW + 3 * (int64_t)i;
        CHECK_EQ_I64(levels[i].price_ticks, price);
        CHECK_EQ_I64(levels[i].quantity, 1 + price % 5);
    }
    CHECK(fixture_check(fx) == 0);
    for (uint32_t i = 0; i < WIDE_LEVELS; i += 3)
        CHECK_EQ_I64(cancel(fx, member, ids[i]).result, RESULT_OK);
    CHECK_EQ_I64(engine_book_depth(&fx->engine, id, side, levels, LADDER_LEVELS), 0);
    CHECK(sides_check(fx, id) == 0);
}

TEST(depth_every_bid_level_of_a_wide_band)
{
    static uint64_t ids[LADDER_LEVELS];
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 8192);
    uint32_t id = book_instrument(&fx, "WIDE", WIDE_REFERENCE, WIDE_BAND_BP);
    CHECK_EQ_I64(fx.engine.instruments[id].band_low_ticks, WIDE_LOW);
    CHECK_EQ_I64(fx.engine.instruments[id].band_high_ticks, WIDE_HIGH);
    wide_fill_side(&fx, d.buyer, id, SIDE_BUY, ids);
    CHECK(!test_current_failed);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, id, SIDE_SELL, NULL, 0), 0);
    CHECK(sides_check(&fx, id) == 0);
    CHECK(fixture_check(&fx) == 0);
    wide_thin_side(&fx, d.buyer, id, SIDE_BUY, ids);
    CHECK(!test_current_failed);
    CHECK_EQ_I64(fx.engine.accounts[d.buyer].reserved_minor, 0);
    CHECK_EQ_I64(engine_available_minor(&fx.engine, d.buyer), 200000000);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(depth_every_ask_level_of_a_wide_band)
{
    static uint64_t ids[LADDER_LEVELS];
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 8192);
    uint32_t id = book_instrument(&fx, "WIDE", WIDE_REFERENCE, WIDE_BAND_BP);
    grant(&fx, d.seller, id, 5 * WIDE_LEVELS);
    wide_fill_side(&fx, d.seller, id, SIDE_SELL, ids);
    CHECK(!test_current_failed);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, id, SIDE_BUY, NULL, 0), 0);
    CHECK(sides_check(&fx, id) == 0);
    CHECK(fixture_check(&fx) == 0);
    wide_thin_side(&fx, d.seller, id, SIDE_SELL, ids);
    CHECK(!test_current_failed);
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller, id), 5 * WIDE_LEVELS);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

/* Ladder indexes on both sides of word boundaries, with empty words
 * between them, so that the summary word is what finds the next level. */
static const uint32_t sparse_indexes[] = {0,    1,    62,   63,   64,   65,   127,  128,
                                          191,  192,  2047, 2048, 4031, 4032, 4093, 4094};
#define SPARSE_COUNT (sizeof sparse_indexes / sizeof sparse_indexes[0])

TEST(sweeps_cross_word_boundaries_best_first)
{
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 1024);
    uint32_t bids = book_instrument(&fx, "BIDS", WIDE_REFERENCE, WIDE_BAND_BP);
    uint32_t asks = book_instrument(&fx, "ASKS", WIDE_REFERENCE, WIDE_BAND_BP);
    grant(&fx, d.seller, bids, 1000);
    grant(&fx, d.seller, asks, 1000);
    for (uint32_t i = 0; i < SPARSE_COUNT; i++) {
        int64_t price = WIDE_LOW + sparse_indexes[i];
        CHECK(rest(&fx, d.buyer, bids, SIDE_BUY, price, 1 + i) != 0);
        CHECK(rest(&fx, d.seller, asks, SIDE_SELL, price, 1 + i) != 0);
    }
    struct depth_level levels[SPARSE_COUNT + 1];
    CHECK_EQ_I64(engine_book_depth(&fx.engine, bids, SIDE_BUY, levels, SPARSE_COUNT + 1),
                 SPARSE_COUNT);
    for (uint32_t i = 0; i < SPARSE_COUNT; i++) {
        uint32_t k = (uint32_t)SPARSE_COUNT - 1 - i;
        CHECK_EQ_I64(levels[i].price_ticks, WIDE_LOW + sparse_indexes[k]);
        CHECK_EQ_I64(levels[i].quantity, 1 + k);
    }
    CHECK_EQ_I64(engine_book_depth(&fx.engine, asks, SIDE_SELL, levels, SPARSE_COUNT + 1),
                 SPARSE_COUNT);
    for (uint32_t i = 0; i < SPARSE_COUNT; i++) {
        CHECK_EQ_I64(levels[i].price_ticks, WIDE_LOW + sparse_indexes[i]);
        CHECK_EQ_I64(levels[i].quantity, 1 + i);
    }
    CHECK(fixture_check(&fx) == 0);

    /* A sell down to the band low takes every bid, highest first. */
    const int64_t total = SPARSE_COUNT * (SPARSE_COUNT + 1) / 2;
    struct outcome o = fixture_order(&fx, d.seller, bids, SIDE_SELL, WIDE_LOW, total, TIF_IOC);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, total);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), SPARSE_COUNT);
    for (uint32_t i = 0; i < SPARSE_COUNT; i++) {
        uint32_t k = (uint32_t)SPARSE_COUNT - 1 - i;
        const struct event *trade = fixture_event(&fx, EVENT_TRADE, i);
        CHECK_EQ_I64(trade->u.trade.price_ticks, WIDE_LOW + sparse_indexes[k]);
        CHECK_EQ_I64(trade->u.trade.quantity, 1 + k);
    }
    /* A market buy takes every ask, lowest first. */
    struct command c = fixture_command(COMMAND_ORDER_PLACE, d.buyer2);
    c.u.order_place.instrument_id = asks;
    c.u.order_place.side = SIDE_BUY;
    c.u.order_place.order_type = ORDER_TYPE_MARKET;
    c.u.order_place.time_in_force = TIF_FOK;
    c.u.order_place.quantity = total;
    o = fixture_apply(&fx, &c);
    CHECK_EQ_I64(o.result, RESULT_OK);
    CHECK_EQ_I64(o.value, total);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), SPARSE_COUNT);
    for (uint32_t i = 0; i < SPARSE_COUNT; i++) {
        const struct event *trade = fixture_event(&fx, EVENT_TRADE, i);
        CHECK_EQ_I64(trade->u.trade.price_ticks, WIDE_LOW + sparse_indexes[i]);
        CHECK_EQ_I64(trade->u.trade.quantity, 1 + i);
    }
    CHECK_EQ_I64(engine_book_depth(&fx.engine, bids, SIDE_BUY, levels, 1), 0);
    CHECK_EQ_I64(engine_book_depth(&fx.engine, asks, SIDE_SELL, levels, 1), 0);
    CHECK(sides_check(&fx, bids) == 0);
    CHECK(sides_check(&fx, asks) == 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(fifo_within_a_level_after_removals)
{
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 1024);
    uint32_t id = book_instrument(&fx, "FIFO", 1000, 1000);
    grant(&fx, d.seller, id, 100);
    uint64_t a = rest(&fx, d.seller, id, SIDE_SELL, 1001, 3);
    uint64_t b = rest(&fx, d.seller, id, SIDE_SELL, 1001, 4);
    uint64_t c = rest(&fx, d.seller, id, SIDE_SELL, 1001, 5);
    uint64_t e = rest(&fx, d.seller, id, SIDE_SELL, 1001, 6);
    uint64_t f = rest(&fx, d.seller, id, SIDE_SELL, 1001, 7);
    CHECK(a != 0 && b != 0 && c != 0 && e != 0 && f != 0);
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){1001, 25}, 1));

    /* Out of the middle, the head and the tail. */
    CHECK_EQ_I64(cancel(&fx, d.seller, c).value, 5);
    CHECK(sides_check(&fx, id) == 0);
    CHECK_EQ_I64(cancel(&fx, d.seller, a).value, 3);
    CHECK(sides_check(&fx, id) == 0);
    CHECK_EQ_I64(cancel(&fx, d.seller, f).value, 7);
    CHECK(sides_check(&fx, id) == 0);
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){1001, 10}, 1));
    uint64_t g = rest(&fx, d.seller, id, SIDE_SELL, 1001, 2);
    CHECK(g != 0);
    CHECK(fixture_check(&fx) == 0);

    /* A taker meets b, e, g in arrival order. */
    struct outcome o = fixture_order(&fx, d.buyer, id, SIDE_BUY, 1001, 11, TIF_IOC);
    CHECK_EQ_I64(o.value, 11);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 3);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.maker_order_id, b);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.quantity, 4);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 1)->u.trade.maker_order_id, e);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 1)->u.trade.quantity, 6);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 2)->u.trade.maker_order_id, g);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 2)->u.trade.quantity, 1);
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){1001, 1}, 1));
    CHECK(sides_check(&fx, id) == 0);

    /* The partly filled tail is now the head; an order behind it waits. */
    uint64_t h = rest(&fx, d.seller, id, SIDE_SELL, 1001, 9);
    o = fixture_order(&fx, d.buyer, id, SIDE_BUY, 1001, 2, TIF_IOC);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.maker_order_id, g);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.quantity, 1);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 1)->u.trade.maker_order_id, h);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 1)->u.trade.quantity, 1);
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){1001, 8}, 1));
    CHECK_EQ_I64(engine_position(&fx.engine, d.seller, id), 100 - 13);
    CHECK_EQ_I64(engine_position(&fx.engine, d.buyer, id), 13);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(side_check_detects_a_corrupt_level)
{
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 1024);
    uint32_t id = book_instrument(&fx, "BAD", 1000, 1000);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 963, 5) != 0);
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 963, 6) != 0);
    CHECK(sides_check(&fx, id) == 0);
    struct ladder *ladder = fx.engine.instruments[id].sides[SIDE_BUY];
    char errmsg[128];
    const struct instrument *in = &fx.engine.instruments[id];

    ladder->levels[63].quantity++; /* total no longer the orders' sum */
    CHECK_EQ_I64(book_side_check(&fx.engine, in, SIDE_BUY, errmsg, sizeof errmsg),
                 ERR_INVARIANT);
    ladder->levels[63].quantity--;
    ladder->words[1] |= 1; /* a bit for an empty level */
    CHECK_EQ_I64(book_side_check(&fx.engine, in, SIDE_BUY, errmsg, sizeof errmsg),
                 ERR_INVARIANT);
    ladder->words[1] = 0;
    ladder->summary &= ~1ULL; /* a level whose word is not in the summary */
    CHECK_EQ_I64(book_side_check(&fx.engine, in, SIDE_BUY, errmsg, sizeof errmsg),
                 ERR_INVARIANT);
    ladder->summary |= 1ULL;
    ladder->order_count++;
    CHECK_EQ_I64(book_side_check(&fx.engine, in, SIDE_BUY, errmsg, sizeof errmsg),
                 ERR_INVARIANT);
    ladder->order_count--;
    uint32_t tail = ladder->levels[63].tail; /* a tail that is not the last */
    ladder->levels[63].tail = ladder->levels[63].head;
    CHECK_EQ_I64(book_side_check(&fx.engine, in, SIDE_BUY, errmsg, sizeof errmsg),
                 ERR_INVARIANT);
    ladder->levels[63].tail = tail;
    CHECK_EQ_I64(book_side_check(&fx.engine, in, SIDE_BUY, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(book_side_check(&fx.engine, in, SIDE_SELL, errmsg, sizeof errmsg), 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST(rebase_keeps_levels_and_fifo)
{
    struct fixture fx;
    struct book_desk d;
    book_desk_init(&fx, &d, 1024);
    uint32_t id = book_instrument(&fx, "MOVE", WIDE_REFERENCE, WIDE_BAND_BP);
    grant(&fx, d.seller, id, 1000);
    uint64_t low = rest(&fx, d.buyer, id, SIDE_BUY, 8000, 1);
    uint64_t edge = rest(&fx, d.buyer, id, SIDE_BUY, 8053, 2);
    uint64_t first = rest(&fx, d.buyer, id, SIDE_BUY, 10000, 3);
    uint64_t second = rest(&fx, d.buyer2, id, SIDE_BUY, 10000, 4);
    uint64_t top = rest(&fx, d.seller, id, SIDE_SELL, WIDE_HIGH, 5);
    CHECK(low != 0 && edge != 0 && first != 0 && second != 0 && top != 0);

    /* Up 100: band 8053..12147, the bid at 8000 leaves, ladder index 0 is
     * now 8053. */
    CHECK_EQ_I64(set_reference(&fx, id, 10100).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 1);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_DONE, 0)->id, low);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_DONE, 0)->code, DONE_OUTSIDE_BAND);
    CHECK_EQ_I64(fx.engine.instruments[id].ladder_base_ticks, 8053);
    CHECK(depth_equals(&fx, id, SIDE_BUY, (const int64_t[]){10000, 7, 8053, 2}, 2));
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){WIDE_HIGH, 5}, 1));
    CHECK(fixture_check(&fx) == 0);

    /* Down 200: band 7853..11947, the ask at 12047 leaves. */
    CHECK_EQ_I64(set_reference(&fx, id, 9900).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 1);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_ORDER_DONE, 0)->id, top);
    CHECK_EQ_I64(fx.engine.instruments[id].ladder_base_ticks, 7853);
    CHECK(depth_equals(&fx, id, SIDE_BUY, (const int64_t[]){10000, 7, 8053, 2}, 2));
    CHECK(depth_equals(&fx, id, SIDE_SELL, NULL, 0));
    CHECK(fixture_check(&fx) == 0);

    /* The level at 10000 kept its FIFO through both moves. */
    struct outcome o = fixture_order(&fx, d.seller, id, SIDE_SELL, 8053, 5, TIF_IOC);
    CHECK_EQ_I64(o.value, 5);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_TRADE), 2);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.maker_order_id, first);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 0)->u.trade.quantity, 3);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 1)->u.trade.maker_order_id, second);
    CHECK_EQ_I64(fixture_event(&fx, EVENT_TRADE, 1)->u.trade.quantity, 2);
    CHECK(depth_equals(&fx, id, SIDE_BUY, (const int64_t[]){10000, 2, 8053, 2}, 2));

    /* A jump past the whole ladder: every order leaves, the ladder is clean
     * at its new edges. */
    CHECK_EQ_I64(set_reference(&fx, id, 20000).result, RESULT_OK);
    CHECK_EQ_I64(fixture_count(&fx, EVENT_ORDER_DONE), 2);
    CHECK_EQ_I64(fx.engine.instruments[id].ladder_base_ticks, 17953);
    CHECK(depth_equals(&fx, id, SIDE_BUY, NULL, 0));
    CHECK(rest(&fx, d.buyer, id, SIDE_BUY, 17953, 1) != 0);
    CHECK(rest(&fx, d.seller, id, SIDE_SELL, 22047, 1) != 0);
    CHECK(depth_equals(&fx, id, SIDE_BUY, (const int64_t[]){17953, 1}, 1));
    CHECK(depth_equals(&fx, id, SIDE_SELL, (const int64_t[]){22047, 1}, 1));
    CHECK(sides_check(&fx, id) == 0);
    CHECK(fixture_check(&fx) == 0);
    fixture_free(&fx);
}

TEST_MAIN()
