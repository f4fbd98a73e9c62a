/* Events: what a command changed, as the rest of the system sees it.
 *
 * The core hands each event to a sink callback while it applies a command,
 * in a deterministic order; every replica emits the same events. The
 * market-data feed and the archive are built from them. A command's
 * outcome is not an event: engine_apply() returns it (and
 * engine_apply_batch() one per command), and that is what a gateway
 * answers its client with. A command that changes nothing emits nothing.
 * An event is a plain struct: the sink copies what it keeps. Once events
 * are written anywhere, their values become append-only.
 */
#ifndef NODOWN_CORE_EVENT_H
#define NODOWN_CORE_EVENT_H

#include <stdint.h>

#include "core/limits.h"

enum event_type {
    EVENT_NONE = 0,
    EVENT_ORDER_ACCEPTED = 1, /* resting or queued */
    EVENT_TRADE = 2,
    EVENT_ORDER_DONE = 3,     /* filled, cancelled, expired */
    EVENT_ORDER_REPLACED = 4,
    EVENT_BET_ACCEPTED = 5,
    EVENT_BET_SETTLED = 6,
    EVENT_ODDS = 7,           /* a market's odds or status changed */
    EVENT_DAY = 8,            /* a start or end of day */
    EVENT_STATEMENT = 9,      /* one account's end-of-day totals */
    EVENT_COMMISSION = 10,    /* commission paid on a settled bet (logic 3) */
    EVENT_ACCOUNT_CAPPED = 11, /* a ceiling above it fell: its setting capped (logic 3) */
    EVENT_TYPE_COUNT
};

/* Why an order is done. */
enum done_reason {
    DONE_FILLED = 0,
    DONE_CANCELLED = 1,
    DONE_EXPIRED = 2,       /* day order at end of day */
    DONE_IOC_REMAINDER = 3, /* IOC or market order remainder */
    DONE_SELF_TRADE = 4,    /* remainder cancelled by the self-trade rule */
    DONE_OUTSIDE_BAND = 5,  /* GTC order outside the new day's band */
    DONE_ACCOUNT_INACTIVE = 6, /* its account or an ancestor suspended or closed (logic 3) */
};

/* What an EVENT_ACCOUNT_CAPPED capped (its code). */
enum cap_kind {
    CAP_CREDIT = 0, /* credit_limit_minor, to the lowered credit of an ancestor */
    CAP_PT = 1,     /* pt_share_bp and pt_max_bp of one market type, to an ancestor's max */
};

struct event {
    uint16_t type; /* enum event_type */
    uint16_t code; /* done reason, bet result, market status, day start ... */
    uint32_t account_id;
    uint64_t id;   /* order id, bet id, market id, trading date */
    union {
        struct {
            uint32_t instrument_id;
            uint8_t side;
            int64_t price_ticks;
            int64_t quantity_open;
            int64_t quantity_filled;
            uint64_t client_order_id;
        } order;
        struct { /* account_id and id are the taker's */
            uint32_t instrument_id;
            uint32_t maker_account_id;
            uint8_t taker_side;
            uint64_t maker_order_id;
            int64_t price_ticks;
            int64_t quantity;
            int64_t maker_fee_minor;
            int64_t taker_fee_minor;
        } trade;
        struct {
            uint32_t market_id;
            uint8_t selection;
            int32_t odds_milli;
            int64_t stake_minor;
            int64_t payout_minor; /* member's balance change at settlement */
            uint16_t shares_bp[PT_LEVELS];
        } bet;
        struct { /* account_id is the member, id the bet, code its result */
            uint32_t market_id;
            int64_t turnover_minor; /* the stake the rates apply to */
            int64_t earned_minor[COMMISSION_LEVELS]; /* member, agent, master, super */
            int64_t paid_minor[PT_LEVELS];           /* agent, master, super, house */
        } commission;
        struct {
            uint8_t status;
            int32_t odds_milli[SELECTIONS_MAX];
        } odds;
        struct {
            int64_t balance_minor;
            int64_t credit_limit_minor;
            int64_t positions_value_minor; /* marked to close prices */
            int64_t day_change_minor;      /* balance change over the day */
            int64_t day_fees_minor;
        } statement;
        struct { /* account_id: the capped account; id: the ancestor whose ceiling fell */
            uint8_t market_type;   /* CAP_PT */
            uint16_t pt_share_bp;  /* CAP_PT: the values it now has */
            uint16_t pt_max_bp;
            int64_t credit_limit_minor; /* CAP_CREDIT: the value it now has */
        } cap;
    } u;
};

/* The sink is called for each event in order; it must not call back into
 * the engine. A NULL emit_cb drops events (the benchmarks, replay). */
typedef void (*event_emit_cb)(void *context, const struct event *event);
/* Told before each command of a batch (its index), so that a sink can tell
 * which command emitted an event; may be NULL. */
typedef void (*event_command_cb)(void *context, uint32_t index);

struct event_sink {
    event_emit_cb emit_cb;
    void *context;
    event_command_cb command_cb;
};

#endif
