/* Orders finished lately, for the order query: what the state forgets.
 *
 * The state machine frees an order the moment it is filled, cancelled or
 * expired (its slot goes back to the pool), so the state cannot say how an
 * order ended. A node can: its replica hands every EVENT_ORDER_DONE of the
 * apply to orders_done_note(), which keeps the order's last picture here,
 * outside the state. Nothing here is digested, snapshotted or decided on:
 * it is an answer only, and two nodes may know different sets of
 * finished orders (below).
 *
 * The bound: ORDERS_DONE_SLOTS entries, one per order id modulo the count
 * (direct-mapped). Order ids are a counter, so a finished order is
 * remembered until an order placed ORDERS_DONE_SLOTS orders after it
 * finishes in turn: whatever happens to the orders in between, the last
 * 65 536 orders placed that have finished are all known, which covers a
 * trading day of up to that many orders. What a node remembers is what it
 * applied since it started: a node restarted from a snapshot knows the
 * orders finished after that snapshot, not before it.
 */
#ifndef NODOWN_REPLICA_ORDERS_DONE_H
#define NODOWN_REPLICA_ORDERS_DONE_H

#include <stdint.h>

#include "core/event.h"

#define ORDERS_DONE_SLOTS (1u << 16) /* 65 536 entries of 48 bytes: 3 MiB */

/* One finished order, as its EVENT_ORDER_DONE told it. */
struct order_done {
    uint64_t order_id; /* 0: an empty slot (order ids start at 1) */
    uint64_t client_order_id;
    uint32_t account_id;
    uint32_t instrument_id;
    int64_t price_ticks;
    int64_t quantity_filled;
    uint8_t side;
    uint8_t reason; /* enum done_reason */
};

struct orders_done {
    struct order_done *slots; /* ORDERS_DONE_SLOTS */
    uint64_t noted;           /* finished orders noted since start */
};

/* Returns 0 or ERR_NOMEM. */
int orders_done_init(struct orders_done *done);
void orders_done_free(struct orders_done *done);

/* An event_sink callback (context: the struct orders_done): keeps every
 * EVENT_ORDER_DONE, ignores every other event. */
void orders_done_note(void *context, const struct event *event);

/* The finished order order_id, or NULL when it is not known here (open,
 * never placed, or forgotten). */
const struct order_done *orders_done_find(const struct orders_done *done, uint64_t order_id);

#endif
