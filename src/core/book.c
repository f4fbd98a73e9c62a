/* The order book's ladders, FIFOs and order index (see book.h). */
#include "core/book.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"

/* Bit scans. __builtin_ctzll and __builtin_clzll are gcc and clang
 * builtins that compile to one instruction; C11 has no portable spelling.
 * Both are undefined for 0, which every caller rules out first. */
static inline uint32_t bit_lowest(uint64_t word)
{
    assert(word != 0);
    return (uint32_t)__builtin_ctzll(word);
}

static inline uint32_t bit_highest(uint64_t word)
{
    assert(word != 0);
    return 63u - (uint32_t)__builtin_clzll(word);
}

void ladder_clear(struct ladder *ladder)
{
    for (uint32_t i = 0; i < LADDER_LEVELS; i++) {
        ladder->levels[i].head = INDEX_NONE;
        ladder->levels[i].tail = INDEX_NONE;
        ladder->levels[i].quantity = 0;
    }
    memset(ladder->words, 0, sizeof ladder->words);
    ladder->summary = 0;
    ladder->order_count = 0;
    ladder->best_index = INDEX_NONE;
}

/* The highest non-empty level at or below index, or INDEX_NONE. */
static uint32_t ladder_highest_at_or_below(const struct ladder *ladder, uint32_t index)
{
    assert(index < LADDER_LEVELS);
    uint32_t word_index = index >> 6;
    uint64_t bits = ladder->words[word_index] & (~0ULL >> (63u - (index & 63u)));
    if (bits != 0)
        return word_index * 64u + bit_highest(bits);
    uint64_t summary = ladder->summary & ((1ULL << word_index) - 1u);
    if (summary == 0)
        return INDEX_NONE;
    word_index = bit_highest(summary);
    return word_index * 64u + bit_highest(ladder->words[word_index]);
}

/* The lowest non-empty level at or above index, or INDEX_NONE. */
static uint32_t ladder_lowest_at_or_above(const struct ladder *ladder, uint32_t index)
{
    assert(index < LADDER_LEVELS);
    uint32_t word_index = index >> 6;
    uint64_t bits = ladder->words[word_index] & (~0ULL << (index & 63u));
    if (bits != 0)
        return word_index * 64u + bit_lowest(bits);
    uint64_t summary = word_index == 63u ? 0 : ladder->summary & (~0ULL << (word_index + 1u));
    if (summary == 0)
        return INDEX_NONE;
    word_index = bit_lowest(summary);
    return word_index * 64u + bit_lowest(ladder->words[word_index]);
}

/* The best level found by scanning the bitmap; ladder->best_index keeps
 * it between changes, and book_side_check compares the two. */
static uint32_t ladder_best_scan(const struct ladder *ladder, enum side side)
{
    if (ladder->summary == 0)
        return INDEX_NONE;
    if (side == SIDE_BUY)
        return ladder_highest_at_or_below(ladder, LADDER_LEVELS - 1u);
    return ladder_lowest_at_or_above(ladder, 0);
}

uint32_t ladder_best(const struct ladder *ladder, enum side side)
{
    (void)side;
    return ladder->best_index;
}

uint32_t ladder_next_worse(const struct ladder *ladder, enum side side, uint32_t index)
{
    if (side == SIDE_BUY)
        return index == 0 ? INDEX_NONE : ladder_highest_at_or_below(ladder, index - 1u);
    return index + 1u >= LADDER_LEVELS ? INDEX_NONE
                                       : ladder_lowest_at_or_above(ladder, index + 1u);
}

static inline void ladder_bit_set(struct ladder *ladder, uint32_t index)
{
    ladder->words[index >> 6] |= 1ULL << (index & 63u);
    ladder->summary |= 1ULL << (index >> 6);
}

static inline void ladder_bit_clear(struct ladder *ladder, uint32_t index)
{
    ladder->words[index >> 6] &= ~(1ULL << (index & 63u));
    if (ladder->words[index >> 6] == 0)
        ladder->summary &= ~(1ULL << (index >> 6));
}

void book_order_append(struct engine *engine, struct instrument *instrument, uint32_t slot)
{
    struct order *order = &engine->orders[slot];
    struct ladder *ladder = instrument->sides[order->side];
    uint32_t index = book_level_index(instrument, order->price_ticks);
    assert(index < LADDER_LEVELS);
    assert(order->quantity_open > 0);
    struct level *level = &ladder->levels[index];
    order->next = INDEX_NONE;
    order->prev = level->tail;
    if (level->tail == INDEX_NONE) {
        level->head = slot;
        ladder_bit_set(ladder, index);
        bool better = order->side == SIDE_BUY ? index > ladder->best_index
                                              : index < ladder->best_index;
        if (ladder->best_index == INDEX_NONE || better)
            ladder->best_index = index;
    } else {
        engine->orders[level->tail].next = slot;
    }
    level->tail = slot;
    level->quantity += order->quantity_open;
    ladder->order_count++;
}

void book_order_remove(struct engine *engine, struct instrument *instrument, uint32_t slot)
{
    struct order *order = &engine->orders[slot];
    struct ladder *ladder = instrument->sides[order->side];
    uint32_t index = book_level_index(instrument, order->price_ticks);
    assert(index < LADDER_LEVELS);
    struct level *level = &ladder->levels[index];
    if (order->prev == INDEX_NONE)
        level->head = order->next;
    else
        engine->orders[order->prev].next = order->next;
    if (order->next == INDEX_NONE)
        level->tail = order->prev;
    else
        engine->orders[order->next].prev = order->prev;
    level->quantity -= order->quantity_open;
    assert(level->quantity >= 0);
    if (level->head == INDEX_NONE) {
        assert(level->quantity == 0);
        ladder_bit_clear(ladder, index);
        if (index == ladder->best_index)
            ladder->best_index = ladder_best_scan(ladder, order->side);
    }
    ladder->order_count--;
}

static void ladder_rebuild_bits(struct ladder *ladder)
{
    memset(ladder->words, 0, sizeof ladder->words);
    ladder->summary = 0;
    for (uint32_t i = 0; i < LADDER_LEVELS; i++) {
        if (ladder->levels[i].head != INDEX_NONE)
            ladder_bit_set(ladder, i);
    }
}

static void ladder_shift(struct ladder *ladder, enum side side, int64_t shift)
{
    struct level empty = {INDEX_NONE, INDEX_NONE, 0};
    if (shift >= (int64_t)LADDER_LEVELS || shift <= -(int64_t)LADDER_LEVELS) {
        assert(ladder->order_count == 0);
        for (uint32_t i = 0; i < LADDER_LEVELS; i++)
            ladder->levels[i] = empty;
    } else if (shift > 0) {
        uint32_t by = (uint32_t)shift;
        memmove(&ladder->levels[by], &ladder->levels[0],
                (LADDER_LEVELS - by) * sizeof(struct level));
        for (uint32_t i = 0; i < by; i++)
            ladder->levels[i] = empty;
    } else if (shift < 0) {
        uint32_t by = (uint32_t)(-shift);
        memmove(&ladder->levels[0], &ladder->levels[by],
                (LADDER_LEVELS - by) * sizeof(struct level));
        for (uint32_t i = LADDER_LEVELS - by; i < LADDER_LEVELS; i++)
            ladder->levels[i] = empty;
    }
    ladder_rebuild_bits(ladder);
    ladder->best_index = ladder_best_scan(ladder, side);
}

void book_rebase(struct instrument *instrument, int64_t new_base_ticks)
{
    /* A level at old index i holds base_old + i = base_new + (i + shift). */
    int64_t shift = instrument->ladder_base_ticks - new_base_ticks;
    for (uint32_t side = 0; side < SIDE_COUNT; side++)
        ladder_shift(instrument->sides[side], side, shift);
    instrument->ladder_base_ticks = new_base_ticks;
}

static bool order_match(const void *context, uint32_t slot, const void *key)
{
    const struct engine *engine = context;
    return engine->orders[slot].order_id == *(const uint64_t *)key;
}

/* Order ids are handed out one by one, so the id itself is the hash: new
 * orders land in consecutive entries and the oldest leave first, which
 * keeps a large index's accesses near each other in memory. Ids only
 * collide when an order outlives a table's worth of newer ones, and linear
 * probing takes care of that. */
static uint64_t order_hash(uint64_t order_id)
{
    return order_id;
}

static uint64_t order_slot_hash(const void *context, uint32_t slot)
{
    const struct engine *engine = context;
    return order_hash(engine->orders[slot].order_id);
}

uint32_t order_find(const struct engine *engine, uint64_t order_id)
{
    uint32_t at = index_table_find(&engine->order_index, order_hash(order_id), order_match,
                                   engine, &order_id);
    return at == INDEX_NONE ? INDEX_NONE : engine->order_index.entries[at];
}

void order_index_add(struct engine *engine, uint32_t slot)
{
    /* Ids are unique counters: no need to look for one already there. */
    index_table_insert(&engine->order_index, order_hash(engine->orders[slot].order_id), slot);
}

void order_index_remove(struct engine *engine, uint32_t slot)
{
    uint64_t order_id = engine->orders[slot].order_id;
    uint32_t at = index_table_find(&engine->order_index, order_hash(order_id), order_match,
                                   engine, &order_id);
    assert(at != INDEX_NONE);
    index_table_remove_at(&engine->order_index, at, order_slot_hash, engine);
}

static int book_level_check(const struct engine *engine, const struct instrument *instrument,
                            const struct level *level, int64_t price_ticks, enum side side,
                            uint32_t *order_count)
{
    int64_t quantity = 0;
    uint32_t prev = INDEX_NONE;
    for (uint32_t slot = level->head; slot != INDEX_NONE; slot = engine->orders[slot].next) {
        const struct order *order = &engine->orders[slot];
        if (order->prev != prev || order->price_ticks != price_ticks || order->side != side ||
            order->quantity_open == 0 || (order->flags & ORDER_FLAG_QUEUED) != 0 ||
            &engine->instruments[order->instrument_id] != instrument)
            return -1;
        quantity += order->quantity_open;
        prev = slot;
        if (++*order_count > engine->limits.orders_max)
            return -1;
    }
    return (quantity == level->quantity && prev == level->tail) ? 0 : -1;
}

int book_side_check(const struct engine *engine, const struct instrument *instrument,
                    enum side side, char *errmsg, size_t errmsg_size)
{
    const struct ladder *ladder = instrument->sides[side];
    uint32_t order_count = 0;
    for (uint32_t i = 0; i < LADDER_LEVELS; i++) {
        const struct level *level = &ladder->levels[i];
        bool bit = (ladder->words[i >> 6] >> (i & 63u)) & 1u;
        bool summary = (ladder->summary >> (i >> 6)) & 1u;
        if (bit != (level->head != INDEX_NONE) || (bit && !summary) ||
            book_level_check(engine, instrument, level, book_level_price(instrument, i), side,
                             &order_count) != 0) {
            snprintf(errmsg, errmsg_size, "instrument %.8s side %d level %u inconsistent",
                     instrument->symbol, (int)side, i);
            return ERR_INVARIANT;
        }
    }
    if (ladder->best_index != ladder_best_scan(ladder, side)) {
        snprintf(errmsg, errmsg_size, "instrument %.8s side %d best level %u is stale",
                 instrument->symbol, (int)side, ladder->best_index);
        return ERR_INVARIANT;
    }
    if (order_count != ladder->order_count) {
        snprintf(errmsg, errmsg_size, "instrument %.8s side %d order count %u != %u",
                 instrument->symbol, (int)side, order_count, ladder->order_count);
        return ERR_INVARIANT;
    }
    return 0;
}
