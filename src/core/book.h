/* Price-time order book for one instrument: two ladders of price levels,
 * each level a FIFO of pooled orders, and the order-id index.
 *
 * A ladder covers LADDER_LEVELS consecutive ticks from the instrument's
 * ladder base (the low end of the day's band). Level i holds price
 * base + i. A bitmap of non-empty levels, with a one-word summary, finds
 * the best price in two bit scans. Orders are appended at a level's tail
 * and leave from anywhere; matching always takes the head.
 *
 *   NEW --rest--> RESTING --fill--> (partial) --fill--> FILLED  [trading.c]
 *                    |                  |
 *                    +------cancel------+--> CANCELLED        [book_order_remove]
 */
#ifndef NODOWN_CORE_BOOK_H
#define NODOWN_CORE_BOOK_H

#include <stdint.h>

#include "core/state.h"

static inline uint32_t book_level_index(const struct instrument *instrument,
                                        int64_t price_ticks)
{
    int64_t index = price_ticks - instrument->ladder_base_ticks;
    return (uint32_t)index;
}

static inline int64_t book_level_price(const struct instrument *instrument, uint32_t index)
{
    return instrument->ladder_base_ticks + (int64_t)index;
}

void ladder_clear(struct ladder *ladder);

/* The best non-empty level of a side (highest bid, lowest ask), or
 * INDEX_NONE. */
uint32_t ladder_best(const struct ladder *ladder, enum side side);

/* The next non-empty level after index, going away from the best. */
uint32_t ladder_next_worse(const struct ladder *ladder, enum side side, uint32_t index);

/* Appends a resting order (price inside the ladder) at its level's tail. */
void book_order_append(struct engine *engine, struct instrument *instrument, uint32_t slot);

/* Unlinks a resting order from its level. */
void book_order_remove(struct engine *engine, struct instrument *instrument, uint32_t slot);

/* Moves the ladder base to new_base_ticks; every resting order must lie
 * inside the new ladder. Levels keep their FIFOs. */
void book_rebase(struct instrument *instrument, int64_t new_base_ticks);

/* Order-id index of resting and queued orders. */
uint32_t order_find(const struct engine *engine, uint64_t order_id);
void order_index_add(struct engine *engine, uint32_t slot);
void order_index_remove(struct engine *engine, uint32_t slot);

/* Structural check of one side: bitmap, level totals and links agree. */
int book_side_check(const struct engine *engine, const struct instrument *instrument,
                    enum side side, char *errmsg, size_t errmsg_size);

#endif
