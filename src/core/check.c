/* The invariant checker: engine_check() recomputes from the objects what
 * the state keeps as running totals, and checks the rules no command may
 * break (docs/invariants.md):
 *
 *   money         all balances sum to zero (the house holds the other side
 *                 of every deposit), so trades, fees and settlements
 *                 neither create nor destroy money;
 *   holdings      positions in each instrument sum to zero;
 *   reserves      an account's reserve equals what its open buy orders may
 *                 cost; a position's reserve equals its open sell quantity;
 *   books         levels, bitmaps and FIFOs agree; no book is crossed at
 *                 rest; every resting order lies inside its band;
 *   bets          every bet's PT shares sum to 100 %; open stakes and
 *                 exposures equal what the open bets add up to;
 *   no trace      no empty position is kept;
 *   credit given  each parent's running total of its open children's
 *                 credit equals their sum;
 *   commission    rates within COMMISSION_BP_MAX, none for the house and
 *                 operators; each open bet's commission vector within it
 *                 too; all of it 0 before logic version 3. (Commission
 *                 paid moves money between balances only, which the money
 *                 rule above checks.)
 * It runs in tests, after every snapshot decode, and in `nodown verify`.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/account.h"
#include "core/book.h"
#include "core/engine.h"
#include "core/session.h"
#include "core/sportsbook.h"
#include "core/trading.h"

#define CHECK_FAIL(...)                                                        \
    do {                                                                       \
        snprintf(errmsg, errmsg_size, __VA_ARGS__);                            \
        return ERR_INVARIANT;                                                  \
    } while (0)

static int check_money(const struct engine *engine, char *errmsg, size_t errmsg_size)
{
    uint64_t total = 0; /* modular: a sum that is zero mod 2^64 is zero here */
    for (uint32_t id = 0; id < engine->account_count; id++)
        total += (uint64_t)engine->accounts[id].balance_minor;
    if (total != 0)
        CHECK_FAIL("balances sum to %lld, not 0", (long long)total);
    return 0;
}

/* Each parent's credit_given equals its open children's credit limits
 * summed, compared modulo 2^64 as check_money() does. */
static int check_credit_given(const struct engine *engine, char *errmsg, size_t errmsg_size)
{
    memset(engine->check_account_minor, 0, engine->account_count * sizeof(int64_t));
    for (uint32_t id = 1; id < engine->account_count; id++) {
        const struct account *child = &engine->accounts[id];
        if (child->status != ACCOUNT_STATUS_CLOSED)
            engine->check_account_minor[child->parent_id] =
                (int64_t)((uint64_t)engine->check_account_minor[child->parent_id] +
                          (uint64_t)child->credit_limit_minor);
    }
    for (uint32_t id = 0; id < engine->account_count; id++) {
        const struct credit_given *given = &engine->credit_given[id];
        uint64_t kept = (uint64_t)given->carries * (uint64_t)AMOUNT_MAX_MINOR +
                        (uint64_t)given->low_minor;
        if (given->low_minor < 0 || given->low_minor >= AMOUNT_MAX_MINOR ||
            given->carries < 0 || kept != (uint64_t)engine->check_account_minor[id])
            CHECK_FAIL("account %u's credit given to children is kept wrong", id);
    }
    return 0;
}

/* Commission rates (commission.c): at most COMMISSION_BP_MAX, 0 for the
 * house and operators, and 0 everywhere before logic version 3. */
static int check_commission_rates(const struct engine *engine, char *errmsg,
                                  size_t errmsg_size)
{
    bool active = engine->logic_version >= LOGIC_VERSION_COMMISSION;
    for (uint32_t id = 0; id < engine->account_count; id++) {
        bool may = active && !account_is_operator(&engine->accounts[id]);
        for (uint32_t t = 0; t < MARKET_TYPE_COUNT; t++) {
            uint16_t rate_bp = engine->commissions[id].rate_bp[t];
            if (rate_bp > COMMISSION_BP_MAX || (rate_bp != 0 && !may))
                CHECK_FAIL("account %u has a commission rate of %u bp for market type %u", id,
                           rate_bp, t);
        }
    }
    return 0;
}

/* A bet's frozen commission: what its levels earn adds up to at most the
 * highest rate, and to 0 for a bet under a logic version before 3. */
static int check_bet_commission(const struct engine *engine, const struct bet *bet,
                                char *errmsg, size_t errmsg_size)
{
    uint32_t total_bp = 0;
    for (uint32_t level = 0; level < COMMISSION_LEVELS; level++)
        total_bp += bet->commission_bp[level];
    if (total_bp > COMMISSION_BP_MAX ||
        (total_bp != 0 && engine->logic_version < LOGIC_VERSION_COMMISSION))
        CHECK_FAIL("bet %llu earns %u bp of commission", (unsigned long long)bet->bet_id,
                   total_bp);
    return 0;
}

/* Adds an open order's needs to the per-account and per-position sums. */
static int check_order_needs(const struct engine *engine, const struct order *order,
                             char *errmsg, size_t errmsg_size)
{
    const struct instrument *instrument = &engine->instruments[order->instrument_id];
    uint32_t slot = position_find(engine, order->account_id, order->instrument_id);
    if (slot == INDEX_NONE || slot != order->position_slot)
        CHECK_FAIL("order %llu has no position, or points at another",
                   (unsigned long long)order->order_id);
    if (order->price_ticks < instrument->band_low_ticks ||
        order->price_ticks > instrument->band_high_ticks)
        CHECK_FAIL("order %llu outside its band", (unsigned long long)order->order_id);
    if (order_find(engine, order->order_id) == INDEX_NONE)
        CHECK_FAIL("order %llu missing from the index", (unsigned long long)order->order_id);
    engine->check_position_orders[slot]++;
    if (order->side == SIDE_BUY)
        engine->check_account_minor[order->account_id] +=
            trading_reserve_minor(instrument, order->price_ticks, order->quantity_open);
    else
        engine->check_position_quantity[slot] += order->quantity_open;
    return 0;
}

static int check_book(const struct engine *engine, const struct instrument *instrument,
                      char *errmsg, size_t errmsg_size, uint32_t *order_count)
{
    for (uint32_t side = 0; side < SIDE_COUNT; side++) {
        if (book_side_check(engine, instrument, side, errmsg, errmsg_size) != 0)
            return ERR_INVARIANT;
        const struct ladder *ladder = instrument->sides[side];
        for (uint32_t index = ladder_best(ladder, side); index != INDEX_NONE;
             index = ladder_next_worse(ladder, side, index)) {
            for (uint32_t slot = ladder->levels[index].head; slot != INDEX_NONE;
                 slot = engine->orders[slot].next) {
                if (check_order_needs(engine, &engine->orders[slot], errmsg, errmsg_size))
                    return ERR_INVARIANT;
                (*order_count)++;
            }
        }
    }
    uint32_t bid = ladder_best(instrument->sides[SIDE_BUY], SIDE_BUY);
    uint32_t ask = ladder_best(instrument->sides[SIDE_SELL], SIDE_SELL);
    if (bid != INDEX_NONE && ask != INDEX_NONE && bid >= ask)
        CHECK_FAIL("book %.8s crossed at rest: bid %lld >= ask %lld", instrument->symbol,
                   (long long)book_level_price(instrument, bid),
                   (long long)book_level_price(instrument, ask));
    uint32_t queued = 0;
    uint32_t prev = INDEX_NONE;
    for (uint32_t slot = instrument->queue_head; slot != INDEX_NONE;
         slot = engine->orders[slot].next) {
        const struct order *order = &engine->orders[slot];
        if ((order->flags & ORDER_FLAG_QUEUED) == 0 || order->prev != prev ||
            ++queued > instrument->queue_count)
            CHECK_FAIL("queue of %.8s inconsistent", instrument->symbol);
        if (check_order_needs(engine, order, errmsg, errmsg_size))
            return ERR_INVARIANT;
        prev = slot;
    }
    if (queued != instrument->queue_count || prev != instrument->queue_tail)
        CHECK_FAIL("queue of %.8s has %u orders, says %u", instrument->symbol, queued,
                   instrument->queue_count);
    *order_count += queued;
    return 0;
}

static int check_orders(const struct engine *engine, char *errmsg, size_t errmsg_size)
{
    memset(engine->check_account_minor, 0, engine->account_count * sizeof(int64_t));
    memset(engine->check_position_quantity, 0,
           engine->limits.positions_max * sizeof(int64_t));
    memset(engine->check_position_orders, 0, engine->limits.positions_max * sizeof(uint32_t));
    uint32_t order_count = 0;
    for (uint32_t id = 0; id < engine->instrument_count; id++) {
        if (check_book(engine, &engine->instruments[id], errmsg, errmsg_size, &order_count))
            return ERR_INVARIANT;
    }
    if (order_count != pool_used(&engine->order_pool) ||
        order_count != engine->order_index.count)
        CHECK_FAIL("%u open orders, pool says %u, index %u", order_count,
                   pool_used(&engine->order_pool), engine->order_index.count);
    for (uint32_t id = 0; id < engine->account_count; id++) {
        if (engine->accounts[id].reserved_minor != engine->check_account_minor[id])
            CHECK_FAIL("account %u reserves %lld, its buy orders need %lld", id,
                       (long long)engine->accounts[id].reserved_minor,
                       (long long)engine->check_account_minor[id]);
    }
    return 0;
}

static int check_positions(const struct engine *engine, char *errmsg, size_t errmsg_size)
{
    int64_t totals[INSTRUMENTS_CAP];
    memset(totals, 0, engine->instrument_count * sizeof totals[0]);
    uint32_t count = 0;
    for (uint32_t id = 0; id < engine->account_count; id++) {
        uint32_t next_instrument = 0; /* the list is strictly increasing */
        for (uint32_t slot = engine->accounts[id].position_head; slot != INDEX_NONE;
             slot = engine->positions[slot].next) {
            const struct position *p = &engine->positions[slot];
            if (p->account_id != id || p->instrument_id < next_instrument ||
                p->instrument_id >= engine->instrument_count ||
                ++count > pool_used(&engine->position_pool))
                CHECK_FAIL("positions of account %u out of order", id);
            if (p->quantity == 0 && p->quantity_reserved == 0 && p->order_count == 0)
                CHECK_FAIL("account %u keeps an empty position", id);
            if (p->quantity_reserved != engine->check_position_quantity[slot] ||
                p->order_count != engine->check_position_orders[slot])
                CHECK_FAIL("position %u/%u reserves %lld in %u orders, orders say %lld in %u",
                           id, p->instrument_id, (long long)p->quantity_reserved,
                           p->order_count, (long long)engine->check_position_quantity[slot],
                           engine->check_position_orders[slot]);
            totals[p->instrument_id] += p->quantity;
            next_instrument = p->instrument_id + 1;
        }
    }
    if (count != pool_used(&engine->position_pool))
        CHECK_FAIL("%u positions listed, pool holds %u", count, pool_used(&engine->position_pool));
    for (uint32_t id = 0; id < engine->instrument_count; id++) {
        if (totals[id] != 0)
            CHECK_FAIL("positions in instrument %u sum to %lld", id, (long long)totals[id]);
    }
    return 0;
}

/* An exposure entry against a recomputation from the market's bets. */
static int check_exposure(const struct engine *engine, uint32_t market_id, uint32_t slot,
                          char *errmsg, size_t errmsg_size)
{
    const struct market *market = &engine->markets[market_id];
    const struct exposure *exposure = &engine->exposures[slot];
    int64_t win[SELECTIONS_MAX] = {0};
    int64_t stake[SELECTIONS_MAX] = {0};
    for (uint32_t b = market->bet_head; b != INDEX_NONE; b = engine->bets[b].next) {
        const struct bet *bet = &engine->bets[b];
        uint32_t level_ids[PT_LEVELS];
        int64_t win_parts[PT_LEVELS];
        int64_t stake_parts[PT_LEVELS];
        sportsbook_levels(engine, bet->account_id, level_ids);
        sportsbook_split(sportsbook_win_minor(bet->stake_minor, bet->odds_milli),
                         bet->shares_bp, win_parts);
        sportsbook_split(bet->stake_minor, bet->shares_bp, stake_parts);
        for (uint32_t level = 0; level < PT_LEVELS; level++) {
            if (level_ids[level] != exposure->account_id || bet->shares_bp[level] == 0)
                continue;
            win[bet->selection] += win_parts[level];
            stake[bet->selection] += stake_parts[level];
        }
    }
    for (uint32_t s = 0; s < SELECTIONS_MAX; s++) {
        if (win[s] != exposure->win_liability_minor[s] || stake[s] != exposure->stake_in_minor[s])
            CHECK_FAIL("exposure of account %u on market %u selection %u differs from its bets",
                       exposure->account_id, market_id, s);
    }
    return 0;
}

static int check_market(const struct engine *engine, uint32_t market_id, uint32_t *bet_count,
                        char *errmsg, size_t errmsg_size)
{
    const struct market *market = &engine->markets[market_id];
    uint32_t count = 0;
    int64_t stake_total = 0;
    for (uint32_t b = market->bet_head; b != INDEX_NONE; b = engine->bets[b].next) {
        const struct bet *bet = &engine->bets[b];
        uint32_t share_total = 0;
        for (uint32_t level = 0; level < PT_LEVELS; level++)
            share_total += bet->shares_bp[level];
        if (share_total != BP_ONE)
            CHECK_FAIL("bet %llu shares sum to %u bp", (unsigned long long)bet->bet_id,
                       share_total);
        if (bet->market_id != market_id || ++count > market->bet_count)
            CHECK_FAIL("bets of market %u inconsistent", market_id);
        if (check_bet_commission(engine, bet, errmsg, errmsg_size) != 0)
            return ERR_INVARIANT;
        engine->check_account_minor[bet->account_id] += bet->stake_minor;
        stake_total += bet->stake_minor;
        uint32_t level_ids[PT_LEVELS];
        sportsbook_levels(engine, bet->account_id, level_ids);
        for (uint32_t level = 0; level < PT_LEVELS; level++) {
            if (bet->shares_bp[level] != 0 &&
                exposure_find(engine, level_ids[level], market_id) == INDEX_NONE)
                CHECK_FAIL("bet %llu level %u has no exposure entry",
                           (unsigned long long)bet->bet_id, level);
        }
    }
    if (count != market->bet_count || stake_total != market->stake_total_minor)
        CHECK_FAIL("market %u counts %u bets, has %u", market_id, market->bet_count, count);
    *bet_count += count;
    for (uint32_t slot = market->exposure_head; slot != INDEX_NONE;
         slot = engine->exposures[slot].next) {
        if (check_exposure(engine, market_id, slot, errmsg, errmsg_size) != 0)
            return ERR_INVARIANT;
    }
    return 0;
}

static int check_bets(const struct engine *engine, char *errmsg, size_t errmsg_size)
{
    memset(engine->check_account_minor, 0, engine->account_count * sizeof(int64_t));
    uint32_t bet_count = 0;
    for (uint32_t id = 0; id < engine->market_count; id++) {
        if (check_market(engine, id, &bet_count, errmsg, errmsg_size) != 0)
            return ERR_INVARIANT;
    }
    if (bet_count != pool_used(&engine->bet_pool))
        CHECK_FAIL("%u open bets, pool holds %u", bet_count, pool_used(&engine->bet_pool));
    for (uint32_t id = 0; id < engine->account_count; id++) {
        if (engine->accounts[id].stake_open_minor != engine->check_account_minor[id])
            CHECK_FAIL("account %u holds %lld of stakes, its bets %lld", id,
                       (long long)engine->accounts[id].stake_open_minor,
                       (long long)engine->check_account_minor[id]);
    }
    return 0;
}

int engine_check(const struct engine *engine, char *errmsg, size_t errmsg_size)
{
    if (check_money(engine, errmsg, errmsg_size) != 0 ||
        check_credit_given(engine, errmsg, errmsg_size) != 0 ||
        check_commission_rates(engine, errmsg, errmsg_size) != 0 ||
        check_orders(engine, errmsg, errmsg_size) != 0 ||
        check_positions(engine, errmsg, errmsg_size) != 0 ||
        check_bets(engine, errmsg, errmsg_size) != 0)
        return ERR_INVARIANT;
    const char *why = session_check(engine);
    if (why != NULL) {
        snprintf(errmsg, errmsg_size, "sessions: %s", why);
        return ERR_INVARIANT;
    }
    if (errmsg_size > 0)
        errmsg[0] = '\0';
    return 0;
}
