/* The state of the trading machine: every object the core keeps, and the
 * engine that owns them. Shared by the modules of src/core only; the rest
 * of nodown uses engine.h.
 *
 * Ownership: the engine allocates every array below once, in engine_init(),
 * sized by struct limits. Objects refer to each other by uint32_t index
 * (INDEX_NONE for none), never by pointer, so a snapshot can be taken and
 * restored without fixing pointers up. Identifiers shown to clients
 * (account, instrument, event and market ids) are dense indexes assigned in
 * log order; order and bet ids are counters that never repeat.
 */
#ifndef NODOWN_CORE_STATE_H
#define NODOWN_CORE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/command.h"
#include "core/event.h"
#include "core/limits.h"
#include "lib/index_table.h"
#include "lib/pool.h"

/* The logic versions this build can run. ACTIVATE_LOGIC of a higher one
 * stops the replica instead of diverging (docs/upgrades.md). */
#define LOGIC_VERSION_MIN 1u
#define LOGIC_VERSION_MAX 3u

struct account {
    /* First cache line: what every command of the account reads. */
    _Alignas(64) uint32_t parent_id; /* the house is its own parent */
    uint8_t kind;             /* enum account_kind */
    uint8_t status;           /* enum account_status */
    uint8_t depth;            /* house 0, super 1, ... member 4 */
    uint8_t has_secret;
    uint32_t session_hint;    /* its last session: a cache, not state */
    uint32_t position_hint;   /* its last position: a cache, not state */
    uint32_t chain_epoch;     /* status_epoch when chain_active was cached */
    uint8_t chain_active;     /* it and every ancestor active: a cache */
    uint8_t secret_one_time;  /* set by another account: logic 3 */
    int64_t balance_minor;
    int64_t credit_limit_minor;
    int64_t reserved_minor;   /* what open buy orders may still cost */
    int64_t stake_open_minor; /* stakes of unsettled bets */
    int64_t order_quantity_max;       /* 0: none */
    /* Second line: read by some commands only. */
    int64_t order_notional_max_minor; /* 0: none */
    int64_t day_fees_minor;
    int64_t bet_stake_max_minor;      /* 0: none */
    int64_t exposure_limit_minor;     /* 0: none; per market, PT levels */
    int64_t day_open_balance_minor;
    uint16_t pt_share_bp[MARKET_TYPE_COUNT]; /* auto PT, set by an ancestor */
    uint16_t pt_max_bp[MARKET_TYPE_COUNT];   /* ceiling for manual PT */
    uint32_t position_head;   /* positions, sorted by instrument id */
    /* The highest last_seq of its sessions that were evicted or freed (logic
     * 3): a session it opens must start above it (docs/protocol.md). */
    uint64_t session_horizon_seq;
};
_Static_assert(sizeof(struct account) == 128, "two cache lines an account");

/* The credit a parent has given its direct children that are not closed,
 * in total: carries × AMOUNT_MAX_MINOR + low_minor, 0 <= low_minor <
 * AMOUNT_MAX_MINOR. Before logic version 3 nothing bounded it (2^24
 * children of up to 2^52 each), so it takes more than 64 bits. Derived from
 * the accounts, never encoded: snapshot_decode() rebuilds it. */
struct credit_given {
    int64_t low_minor;
    int64_t carries;
};

/* The commission rate an account's parent gives it, per market type, in
 * basis points of the stake (logic version 3; 0 before, and for the house
 * and operators). Beside the accounts rather than in them, which are two
 * cache lines already full; only bets and COMMISSION_SET read it. */
struct account_commission {
    uint16_t rate_bp[MARKET_TYPE_COUNT];
};

struct account_secret {
    uint8_t salt[SECRET_SALT_SIZE];
    uint8_t hash[SECRET_HASH_SIZE];
};

struct position {
    uint32_t account_id;
    uint32_t instrument_id;
    int64_t quantity;
    int64_t quantity_reserved; /* open sell orders */
    uint32_t order_count;      /* open orders, which keep it alive */
    uint32_t next;             /* in the account's list */
};

/* A resting or queued order: 48 bytes (see docs/trading.md for the budget
 * of bytes per resting order). */
struct order {
    uint64_t order_id;
    uint64_t client_order_id;
    int32_t price_ticks;
    uint32_t quantity_open;
    uint32_t quantity_filled;
    uint32_t next; /* FIFO of the level or of the pre-open queue */
    uint32_t prev;
    uint32_t account_id;
    uint32_t position_slot; /* the (account, instrument) position it keeps alive */
    uint16_t instrument_id;
    uint8_t side;
    uint8_t flags; /* ORDER_FLAG_* */
};
_Static_assert(sizeof(struct order) == 48, "order budget");
_Static_assert(QUANTITY_MAX <= UINT32_MAX, "order quantities are uint32_t");
_Static_assert(PRICE_TICKS_MAX <= INT32_MAX, "order prices are int32_t");
_Static_assert(INSTRUMENTS_CAP <= UINT16_MAX, "order instrument is uint16_t");

#define ORDER_FLAG_GTC 0x01    /* else a day order */
#define ORDER_FLAG_QUEUED 0x02 /* in the pre-open queue, not the book */

struct level {
    uint32_t head;
    uint32_t tail;
    int64_t quantity; /* open quantity of every order at this price */
};

/* One side of a book: levels by price offset from the ladder base, and a
 * two-level bitmap of the non-empty ones for finding the best price. */
struct ladder {
    struct level levels[LADDER_LEVELS];
    uint64_t words[LADDER_WORDS];
    uint64_t summary; /* bit w: words[w] != 0 */
    uint32_t order_count;
    uint32_t best_index; /* best non-empty level, INDEX_NONE: derived, kept */
};

struct instrument {
    char symbol[SYMBOL_SIZE];
    int64_t tick_size_minor;
    int64_t lot_size;
    int64_t reference_price_ticks;
    uint16_t band_bp;
    uint16_t fee_maker_bp;
    uint16_t fee_taker_bp;
    uint8_t phase;
    int64_t band_low_ticks;
    int64_t band_high_ticks;
    int64_t ladder_base_ticks;
    int64_t last_price_ticks;  /* 0: no trade yet */
    int64_t day_volume;
    int64_t day_trade_count;
    uint32_t queue_head;       /* pre-open queue */
    uint32_t queue_tail;
    uint32_t queue_count;
    struct ladder *sides[SIDE_COUNT];
};

struct session_outcome {
    uint64_t client_seq;
    struct outcome outcome;
};

/* A session is on two lists, most recently used first: the table's and
 * its account's (enum session_list_kind, session.c). */
struct session_link {
    uint32_t prev;
    uint32_t next;
};

struct session_list {
    uint32_t head; /* most recently used */
    uint32_t tail; /* least recently used: the next to be evicted */
    uint32_t count;
};

struct session {
    uint32_t account_id; /* INDEX_NONE: a free slot */
    uint32_t ring_next;
    uint64_t client_id;
    uint64_t last_seq;
    uint64_t last_used;  /* engine->session_clock at its last command (logic 3) */
    uint32_t last_day;   /* engine->day_count at its last command (logic 3) */
    struct session_link links[2]; /* derived from last_used */
    struct session_outcome ring[SESSION_OUTCOMES_MAX]; /* session_window() in use */
};

struct sport_event {
    uint64_t external_ref;
    uint32_t market_count;
};

struct market {
    uint32_t sport_event_id;
    uint8_t type;   /* enum market_type */
    uint8_t status; /* enum market_status */
    uint8_t selection_count;
    uint8_t results[SELECTIONS_MAX];
    int32_t line_quarters;
    int32_t odds_milli[SELECTIONS_MAX];
    int64_t stake_min_minor;
    int64_t stake_max_minor;
    int64_t stake_total_minor;
    uint32_t bet_head; /* open bets, oldest first */
    uint32_t bet_tail;
    uint32_t bet_count;
    uint32_t exposure_head;
};

struct bet {
    uint64_t bet_id;
    uint32_t account_id;
    uint32_t market_id;
    int64_t stake_minor;
    int32_t odds_milli;
    uint8_t selection;
    uint16_t shares_bp[PT_LEVELS]; /* agent, master, super, house */
    /* What each level earns, in bp of the turnover: member, agent,
     * master, super (logic 3; all 0 on a bet accepted before). */
    uint16_t commission_bp[COMMISSION_LEVELS];
    uint32_t next;
};

/* What one PT level stands to lose or win on one market. */
struct exposure {
    uint32_t account_id;
    uint32_t market_id;
    int64_t win_liability_minor[SELECTIONS_MAX]; /* paid if it wins */
    int64_t stake_in_minor[SELECTIONS_MAX];      /* kept if it loses */
    uint32_t next; /* in the market's list */
};

struct pt_override {
    uint32_t account_id;
    uint32_t sport_event_id;
    uint32_t market_id; /* INDEX_NONE: whole event */
    uint16_t share_bp;
};

struct engine {
    struct limits limits;
    uint32_t logic_version;
    /* The highest logic version this run applies: LOGIC_VERSION_MAX unless
     * lowered (engine_logic_version_max_set). Not part of the state. */
    uint32_t logic_version_max;
    uint32_t trading_date;  /* yyyymmdd, 0 before the first day */
    uint8_t day_open;
    uint64_t now_ns;        /* monotonic stream time of the last command */
    uint64_t order_id_next;
    uint64_t bet_id_next;
    uint32_t status_epoch;  /* bumped by every status change: a cache key */

    struct account *accounts;
    struct account_secret *secrets;
    struct account_commission *commissions;
    struct credit_given *credit_given; /* per parent, derived */
    uint32_t account_count;

    struct position *positions;
    struct pool position_pool;
    struct index_table position_index;

    struct order *orders;
    struct pool order_pool;
    struct index_table order_index;

    struct instrument *instruments;
    struct ladder *ladders;
    uint32_t instrument_count;

    struct session *sessions;
    uint32_t session_count;
    struct pool session_pool;
    struct index_table session_index;
    struct session_list session_lru;      /* every session: derived */
    struct session_list *account_sessions; /* per account: derived */
    uint64_t session_clock; /* stamps each use of a session (logic 3) */
    uint32_t day_count;     /* trading days started (logic 3) */

    struct sport_event *sport_events;
    uint32_t sport_event_count;
    struct market *markets;
    uint32_t market_count;
    struct bet *bets;
    struct pool bet_pool;
    struct exposure *exposures;
    struct pool exposure_pool;
    struct index_table exposure_index;
    struct pt_override *pt_overrides;
    struct pool pt_override_pool;
    struct index_table pt_override_index;

    uint32_t *scratch; /* canonical-order sorts; max of the sorted pools */
    uint32_t command_order_slot; /* the order auth found for this command */

    /* engine_check()'s recomputations, allocated at init. */
    int64_t *check_account_minor; /* reserves, then stakes, per account */
    int64_t *check_position_quantity;
    uint32_t *check_position_orders;

    /* The sink's callback, set for the duration of one engine_apply(). */
    event_emit_cb emit_cb;
    void *emit_context;
};

static inline void engine_emit(const struct engine *engine, const struct event *event)
{
    if (engine->emit_cb != NULL)
        engine->emit_cb(engine->emit_context, event);
}

#endif
