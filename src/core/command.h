/* Commands: the only way the state changes.
 *
 * A command is a fixed-size struct; src/codec/command_codec.c gives it a
 * versioned binary form for the log. Every command carries the account that
 * sends it (already authenticated by a gateway) and (client_id, client_seq)
 * for exactly-once: the state machine remembers each client's last outcomes
 * and answers a resend with the first outcome instead of applying it again.
 *
 * The enums here are part of the log format: values never change meaning,
 * new ones are only appended.
 */
#ifndef NODOWN_CORE_COMMAND_H
#define NODOWN_CORE_COMMAND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/limits.h"
#include "lib/secret.h" /* SECRET_SALT_SIZE, SECRET_HASH_SIZE */

enum account_kind {
    ACCOUNT_KIND_HOUSE = 0,
    ACCOUNT_KIND_SUPER = 1,
    ACCOUNT_KIND_MASTER = 2,
    ACCOUNT_KIND_AGENT = 3,
    ACCOUNT_KIND_MEMBER = 4,
    ACCOUNT_KIND_OPERATOR = 5, /* staff under the house: markets, days */
    ACCOUNT_KIND_COUNT
};

enum account_status {
    ACCOUNT_STATUS_ACTIVE = 0,
    ACCOUNT_STATUS_SUSPENDED = 1, /* no new orders or bets; can be resumed */
    ACCOUNT_STATUS_CLOSED = 2,    /* final */
    ACCOUNT_STATUS_COUNT
};

enum side { SIDE_BUY = 0, SIDE_SELL = 1, SIDE_COUNT };

enum order_type { ORDER_TYPE_LIMIT = 0, ORDER_TYPE_MARKET = 1, ORDER_TYPE_COUNT };

enum time_in_force {
    TIF_DAY = 0, /* expires at end of day */
    TIF_GTC = 1, /* good till cancelled */
    TIF_IOC = 2, /* immediate or cancel: the rest is cancelled */
    TIF_FOK = 3, /* fill or kill: whole at once or nothing */
    TIF_COUNT
};

enum phase {
    PHASE_CLOSED = 0,     /* before the first start of day */
    PHASE_PRE_OPEN = 1,   /* orders queue, nothing matches */
    PHASE_OPEN = 2,       /* continuous matching */
    PHASE_HALTED = 3,     /* cancels only */
    PHASE_DAY_CLOSED = 4, /* after end of day, until the next start */
    PHASE_COUNT
};

enum market_type {
    MARKET_TYPE_1X2 = 0,       /* home, draw, away */
    MARKET_TYPE_HANDICAP = 1,  /* Asian handicap: home, away */
    MARKET_TYPE_OVER_UNDER = 2, /* over, under */
    MARKET_TYPE_COUNT
};

enum market_status {
    MARKET_STATUS_OPEN = 0,
    MARKET_STATUS_SUSPENDED = 1,
    MARKET_STATUS_SETTLED = 2,
    MARKET_STATUS_COUNT
};

enum bet_result {
    BET_RESULT_LOSE = 0,
    BET_RESULT_WIN = 1,
    BET_RESULT_VOID = 2,
    BET_RESULT_HALF_WIN = 3,
    BET_RESULT_HALF_LOSE = 4,
    BET_RESULT_COUNT
};

enum command_type {
    COMMAND_NONE = 0,
    COMMAND_ACCOUNT_CREATE = 1,
    COMMAND_ACCOUNT_SET_STATUS = 2,
    COMMAND_ACCOUNT_SET_CREDIT = 3,
    COMMAND_ACCOUNT_SET_LIMITS = 4,
    COMMAND_ACCOUNT_SET_SECRET = 5,
    COMMAND_CASH_DEPOSIT = 6,
    COMMAND_CASH_WITHDRAW = 7,
    COMMAND_POSITION_GRANT = 8,
    COMMAND_PT_SET = 9,
    COMMAND_PT_OVERRIDE = 10,
    COMMAND_INSTRUMENT_CREATE = 11,
    COMMAND_INSTRUMENT_SET_PHASE = 12,
    COMMAND_INSTRUMENT_SET_REFERENCE = 13,
    COMMAND_ORDER_PLACE = 14,
    COMMAND_ORDER_CANCEL = 15,
    COMMAND_ORDER_REPLACE = 16,
    COMMAND_SPORT_EVENT_CREATE = 17,
    COMMAND_MARKET_CREATE = 18,
    COMMAND_MARKET_SET_ODDS = 19,
    COMMAND_MARKET_SET_STATUS = 20,
    COMMAND_MARKET_SETTLE = 21,
    COMMAND_BET_PLACE = 22,
    COMMAND_DAY_START = 23,
    COMMAND_DAY_END = 24,
    COMMAND_ACTIVATE_LOGIC = 25,
    COMMAND_COMMISSION_SET = 26, /* logic version 3 */
    COMMAND_TYPE_COUNT
};

/* A PT override names a market, or with market_id == INDEX_NONE a whole
 * sport event; share_bp == PT_SHARE_NONE removes it. */
#define PT_SHARE_NONE 0xFFFFu

/* MARKET_CREATE, MARKET_SET_ODDS and MARKET_SETTLE say how many prices or
 * results they carry, in a field appended to their first form. Records of
 * the first form read it as 0, "not said", which logic versions 1 and 2
 * ignore as they always did (the slots past a market's selections are
 * unused; a missing result is a loss). From logic version 3 the count must
 * be the market's number of selections, and every slot past it 0. */
#define LOGIC_VERSION_SELECTION_COUNTS 3u

/* From logic version 3, the credit a parent gives its open direct children
 * stays within its own credit limit in total (docs/authorization.md). */
#define LOGIC_VERSION_CREDIT_TOTAL 3u

/* From logic version 3, outcomes carry what helps read them: an
 * ORDER_REPLACE that lowers the quantity in place says the order's total
 * filled in value, like every other replace (before: 0), and a DAY_START
 * or DAY_END refused for its date names the current trading date in id
 * (before: 0).
 * Both are remembered in the sessions' outcomes, so they change the
 * digest, hence the version. */
#define LOGIC_VERSION_ANSWERS 3u

/* From logic version 3, sessions are bounded: per account, by the table,
 * and by days unused; a session that is gone refuses its old sequences
 * (docs/protocol.md, Session bounds). */
#define LOGIC_VERSION_SESSION_BOUNDS 3u

/* From logic version 3, a secret an ancestor or operator set is good for
 * one thing only: setting the account's own (docs/authorization.md). */
#define LOGIC_VERSION_ONE_TIME_SECRET 3u

/* From logic version 3, suspending or closing an account cancels the
 * orders resting or queued for it and for its whole downline, at that
 * command, one EVENT_ORDER_DONE (DONE_ACCOUNT_INACTIVE) each; a member
 * with orders resting may then be closed (docs/authorization.md). */
#define LOGIC_VERSION_INACTIVE_CANCELS 3u

/* From logic version 3, lowering an account's credit or PT maximum caps
 * every account below it that holds more, one EVENT_ACCOUNT_CAPPED each
 * (docs/authorization.md). Bets already accepted keep their shares. */
#define LOGIC_VERSION_CEILING_CASCADE 3u

/* From logic version 3, a sender that may not see an account or order is
 * told the same whether it exists or not: REJECT_NOT_AUTHORIZED for an
 * account, REJECT_ORDER_UNKNOWN for an order (docs/authorization.md). */
#define LOGIC_VERSION_HIDDEN_TARGETS 3u

/* From logic version 3, a parent gives each direct child a commission
 * (rebate) rate on turnover per market type, each bet freezes its
 * commission vector and settlement pays it (docs/sportsbook.md,
 * "Commission"). Before, COMMISSION_SET does not exist: it is answered
 * REJECT_COMMAND_UNKNOWN, as by a build that does not know it. */
#define LOGIC_VERSION_COMMISSION 3u
#define SYMBOL_SIZE 8u

struct command {
    uint16_t type;              /* enum command_type */
    uint16_t reserved;
    uint32_t sender_account_id; /* authenticated by the gateway */
    uint64_t client_id;
    uint64_t client_seq;        /* 1, 2, 3, ... per (sender, client_id) */
    union {
        struct {
            uint32_t parent_id;
            uint8_t kind;
            int64_t credit_limit_minor;
        } account_create;
        struct {
            uint32_t account_id;
            uint8_t status;
        } account_set_status;
        struct {
            uint32_t account_id;
            int64_t credit_limit_minor;
        } account_set_credit;
        struct command_account_limits {
            uint32_t account_id;
            int64_t order_quantity_max;       /* 0: no account limit */
            int64_t order_notional_max_minor; /* 0: no account limit */
            int64_t bet_stake_max_minor;      /* 0: no account limit */
            int64_t exposure_limit_minor;     /* 0: no limit, per market */
        } account_set_limits;
        struct {
            uint32_t account_id;
            uint8_t salt[SECRET_SALT_SIZE];
            uint8_t hash[SECRET_HASH_SIZE];
        } account_set_secret;
        struct {
            uint32_t account_id;
            int64_t amount_minor;
        } cash; /* deposit and withdraw */
        struct {
            uint32_t account_id;
            uint32_t instrument_id;
            int64_t quantity; /* negative returns holdings to the house */
        } position_grant;
        struct {
            uint32_t account_id;
            uint8_t market_type;
            uint16_t share_bp; /* auto PT */
            uint16_t max_bp;   /* ceiling for the account's manual PT */
        } pt_set;
        struct {
            uint32_t sport_event_id;
            uint32_t market_id; /* INDEX_NONE: the whole event */
            uint16_t share_bp;  /* PT_SHARE_NONE: remove */
        } pt_override;
        struct command_instrument_create {
            char symbol[SYMBOL_SIZE];
            int64_t tick_size_minor;
            int64_t lot_size;
            int64_t reference_price_ticks;
            uint16_t band_bp; /* +- this share of the reference price */
            uint16_t fee_maker_bp;
            uint16_t fee_taker_bp;
        } instrument_create;
        struct {
            uint32_t instrument_id;
            uint8_t phase;
        } instrument_set_phase;
        struct {
            uint32_t instrument_id;
            int64_t reference_price_ticks;
        } instrument_set_reference;
        struct {
            uint32_t instrument_id;
            uint8_t side;
            uint8_t order_type;
            uint8_t time_in_force;
            int64_t price_ticks; /* ignored for market orders */
            int64_t quantity;
            uint64_t client_order_id;
        } order_place;
        struct {
            uint64_t order_id;
        } order_cancel;
        struct {
            uint64_t order_id;
            int64_t price_ticks;
            int64_t quantity; /* new open quantity */
        } order_replace;
        struct {
            uint64_t external_ref;
        } sport_event_create;
        struct command_market_create {
            uint32_t sport_event_id;
            uint8_t market_type;
            int32_t line_quarters; /* handicap or total, in quarter goals */
            int32_t odds_milli[SELECTIONS_MAX];
            int64_t stake_min_minor;
            int64_t stake_max_minor;
            uint8_t odds_count; /* appended: 0 = not said (see above) */
        } market_create;
        struct {
            uint32_t market_id;
            int32_t odds_milli[SELECTIONS_MAX];
            uint8_t odds_count; /* appended: 0 = not said */
        } market_set_odds;
        struct {
            uint32_t market_id;
            uint8_t status; /* open or suspended */
        } market_set_status;
        struct {
            uint32_t market_id;
            uint8_t results[SELECTIONS_MAX]; /* enum bet_result */
            uint8_t result_count; /* appended: 0 = not said */
        } market_settle;
        struct {
            uint32_t market_id;
            uint8_t selection;
            uint8_t accept_better_odds;
            int32_t odds_milli; /* the odds the member saw */
            int64_t stake_minor;
        } bet_place;
        struct {
            uint32_t trading_date; /* yyyymmdd */
        } day;
        struct {
            uint32_t logic_version;
        } activate_logic;
        struct {
            uint32_t account_id; /* the child whose rate its parent gives */
            uint8_t market_type;
            uint16_t rate_bp;    /* of the stake, at most COMMISSION_BP_MAX */
        } commission_set;
    } u;
};

/* The outcome of one command: what the client is told, and what a resend
 * returns. id is the new or affected object (account, order, bet, ...);
 * value depends on the command (filled quantity, accepted odds, ...).
 *
 * replace_filled is an answer only, never state: for an accepted
 * ORDER_REPLACE answered the first time, the quantity this replace filled
 * (value is the order's total filled since it was placed, as it has always
 * been). The snapshot and the digest leave it out, so it means nothing on
 * a resend's answer (duplicate 1), which every node gives alike from the
 * state. It shares a word with duplicate, so that the outcomes each
 * session remembers take no more room: one replace fills at most
 * QUANTITY_MAX (2^30), which 31 bits hold. */
struct outcome {
    uint16_t result;       /* enum result_code */
    uint16_t command_type;
    uint32_t duplicate : 1;       /* 1 when this answers a resend */
    uint32_t replace_filled : 31; /* see above */
    uint64_t id;
    int64_t value;
};
_Static_assert(QUANTITY_MAX < ((int64_t)1 << 31), "a replace's fill fits in replace_filled");

const char *command_type_name(enum command_type type);

/* The account a command acts on (for ACCOUNT_CREATE, the parent), or
 * INDEX_NONE for a command that names none. The id is the client's: a
 * command that names one may name INDEX_NONE too (command_names_account
 * tells the two apart). */
uint32_t command_account_id(const struct command *command);
bool command_names_account(uint16_t type);

/* The order a cancel or replace names, or 0 (order ids start at 1) for a
 * command that names none. */
uint64_t command_order_id(const struct command *command);
const char *account_kind_name(enum account_kind kind);

#endif
