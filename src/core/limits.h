/* Every limit of the state machine, with its reason.
 *
 * The core allocates all of its memory once, in engine_init(), from a
 * struct limits chosen by the caller (a test uses tiny pools to reach the
 * "full" rejects; a server uses the defaults). The *_CAP values are hard
 * ceilings that keep index types and arithmetic safe; the *_DEFAULT values
 * are what `nodown serve` and the benchmarks use. Running out of a pool is a
 * deterministic reject with a reason, never a crash or a malloc.
 */
#ifndef NODOWN_CORE_LIMITS_H
#define NODOWN_CORE_LIMITS_H

#include <stdint.h>

#include "lib/pool.h" /* INDEX_NONE: indexes into pools are uint32_t */

/* Accounts: the house, its supers, masters, agents and members. */
#define ACCOUNTS_CAP (1u << 24)
#define ACCOUNTS_DEFAULT (1u << 17)

/* Orders resting in every book or waiting in a pre-open queue. */
#define ORDERS_CAP (1u << 26)
#define ORDERS_DEFAULT (1u << 21)

/* Instruments: each carries two price ladders of LADDER_LEVELS levels. */
#define INSTRUMENTS_CAP 4096u
#define INSTRUMENTS_DEFAULT 64u

/* A price ladder covers LADDER_LEVELS consecutive ticks from its base; the
 * day's price band must fit inside it (a wider band is clamped, see
 * docs/trading.md). 4096 levels keep a bitmap summary in one word. */
#define LADDER_LEVELS 4096u
#define LADDER_WORDS (LADDER_LEVELS / 64u)
_Static_assert(LADDER_WORDS <= 64u, "the ladder summary is one uint64_t");

/* (account, instrument) holdings, including zero holdings with reserves. */
#define POSITIONS_CAP (1u << 26)
#define POSITIONS_DEFAULT (1u << 20)

/* (account, client_id) sessions remembered for exactly-once. */
#define SESSIONS_CAP (1u << 22)
#define SESSIONS_DEFAULT (1u << 16)

/* From logic version 3, sessions one account may hold: opening one more
 * evicts the account's least recently used, so no account can take more
 * than its share of the table (docs/protocol.md, Session bounds). */
#define SESSIONS_PER_ACCOUNT_CAP 4096u
#define SESSIONS_PER_ACCOUNT_DEFAULT 64u

/* From logic version 3, trading days a session may go unused before
 * DAY_END frees it. Ten years of trading days at most. */
#define SESSION_IDLE_DAYS_CAP 2600u
#define SESSION_IDLE_DAYS_DEFAULT 5u

/* Outcomes remembered per session (its window): a client may have this
 * many commands unacknowledged and still get each one's first outcome on
 * resend. The window is part of the business logic, since it decides
 * which resends are answered: 8 under logic version 1, 32 from version 2
 * (session_window). A later version may widen it, never narrow it, so a
 * client told a window at logon can keep to it. The ring holds the
 * widest. */
#define SESSION_WINDOW_V1 8u
#define SESSION_WINDOW_V2 32u
#define SESSION_OUTCOMES_MAX SESSION_WINDOW_V2

/* Sportsbook: events, markets, open bets, exposures, manual PT overrides. */
#define SPORT_EVENTS_CAP (1u << 22)
#define SPORT_EVENTS_DEFAULT (1u << 14)
#define MARKETS_CAP (1u << 22)
#define MARKETS_DEFAULT (1u << 16)
#define BETS_CAP (1u << 26)
#define BETS_DEFAULT (1u << 20)
#define EXPOSURES_CAP (1u << 24)
#define EXPOSURES_DEFAULT (1u << 18)
#define PT_OVERRIDES_CAP (1u << 22)
#define PT_OVERRIDES_DEFAULT (1u << 14)

/* A market has at most three selections (1X2); handicap and over/under
 * have two. */
#define SELECTIONS_MAX 3u

/* Levels above a member that share a bet: agent, master, super, house. */
#define PT_LEVELS 4u

/* Levels that earn commission on a bet (logic version 3): member, agent,
 * master, super. The house pays, with the other PT levels. */
#define COMMISSION_LEVELS 4u

/* The highest commission rate, 10 % of the stake: what the house may give
 * a super. Every other rate is at most its parent's, so a bet pays at most
 * this in total, and stake * rate stays far inside int64_t. */
#define COMMISSION_BP_MAX 1000u

/* Arithmetic bounds. Every product below stays inside int64_t:
 *   notional  = price_ticks * tick_size_minor * quantity
 *             <= 2^40 * 2^20 * 2^30 would overflow, so each factor is
 *   bounded such that PRICE_TICKS_MAX * TICK_SIZE_MINOR_MAX * QUANTITY_MAX
 *   <= 2^62.
 *   win       = stake * (odds_milli - 1000) / 1000 <= 2^34 * 2^20
 *   win share = win * share_bp <= 2^54 / 2^10 * 2^14 */
#define PRICE_TICKS_MAX ((int64_t)1 << 24)      /* 16.7 M ticks */
#define TICK_SIZE_MINOR_MAX ((int64_t)1 << 8)   /* 256 minor per tick */
#define QUANTITY_MAX ((int64_t)1 << 30)         /* 1.07 G units */
_Static_assert(24 + 8 + 30 <= 62, "notional fits in int64_t");
#define STAKE_MAX_MINOR ((int64_t)1 << 34)      /* 17 G minor units */
#define AMOUNT_MAX_MINOR ((int64_t)1 << 52)     /* one deposit, one limit */
/* What one PT level may stand to pay, or hold in stakes, on one selection
 * of one market, and what a market may hold in stakes: far above any
 * exposure limit, it keeps every sum over a market's bets in int64_t. */
#define EXPOSURE_TOTAL_MAX_MINOR ((int64_t)1 << 52)
#define BP_ONE 10000u                           /* 100 % in basis points */
_Static_assert(COMMISSION_BP_MAX <= BP_ONE, "a commission rate is a share of the stake");
_Static_assert(STAKE_MAX_MINOR <= INT64_MAX / BP_ONE, "stake * rate fits in int64_t");

/* Runtime sizes, chosen by the caller of engine_init(). */
struct limits {
    uint32_t accounts_max;
    uint32_t orders_max;
    uint32_t instruments_max;
    uint32_t positions_max;
    uint32_t sessions_max;
    uint32_t sport_events_max;
    uint32_t markets_max;
    uint32_t bets_max;
    uint32_t exposures_max;
    uint32_t pt_overrides_max;
    /* Rules rather than pools (logic version 3): every node of a stream
     * must run with the same values, as with sessions_max. */
    uint32_t sessions_per_account_max;
    uint32_t session_idle_days;
};

void limits_default(struct limits *limits);

/* Returns 0 when every value is between 1 and its cap. */
int limits_validate(const struct limits *limits);

#endif
