/* A bounded, direct-mapped record of finished orders (see orders_done.h). */
#include "replica/orders_done.h"

#include <assert.h>
#include <string.h>

#include "core/result.h"
#include "lib/mem.h"

_Static_assert((ORDERS_DONE_SLOTS & (ORDERS_DONE_SLOTS - 1)) == 0, "a power of two");

int orders_done_init(struct orders_done *done)
{
    memset(done, 0, sizeof *done);
    done->slots = mem_array_alloc(ORDERS_DONE_SLOTS, sizeof *done->slots);
    return done->slots == NULL ? ERR_NOMEM : 0;
}

void orders_done_free(struct orders_done *done)
{
    mem_free(done->slots);
    done->slots = NULL;
}

static uint32_t orders_done_slot(uint64_t order_id)
{
    return (uint32_t)(order_id & (ORDERS_DONE_SLOTS - 1));
}

void orders_done_note(void *context, const struct event *event)
{
    struct orders_done *done = context;
    if (event->type != EVENT_ORDER_DONE)
        return;
    assert(done->slots != NULL);
    assert(event->id != 0);
    struct order_done *entry = &done->slots[orders_done_slot(event->id)];
    entry->order_id = event->id;
    entry->client_order_id = event->u.order.client_order_id;
    entry->account_id = event->account_id;
    entry->instrument_id = event->u.order.instrument_id;
    entry->price_ticks = event->u.order.price_ticks;
    entry->quantity_filled = event->u.order.quantity_filled;
    entry->side = event->u.order.side;
    entry->reason = (uint8_t)event->code;
    done->noted++;
    assert(entry->reason <= DONE_ACCOUNT_INACTIVE);
}

const struct order_done *orders_done_find(const struct orders_done *done, uint64_t order_id)
{
    if (done == NULL || done->slots == NULL || order_id == 0)
        return NULL;
    const struct order_done *entry = &done->slots[orders_done_slot(order_id)];
    return entry->order_id == order_id ? entry : NULL;
}
