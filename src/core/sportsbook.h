/* Fixed-odds markets: sport events, markets and their odds, bets, position
 * taking (auto and manual), live exposure per PT level, and settlement.
 * See docs/sportsbook.md for the rules in prose.
 */
#ifndef NODOWN_CORE_SPORTSBOOK_H
#define NODOWN_CORE_SPORTSBOOK_H

#include <stdint.h>

#include "core/state.h"

void sportsbook_apply(struct engine *engine, const struct command *command,
                      struct outcome *outcome);

/* The member's win on a full win: stake * (odds - 1), rounded down. */
int64_t sportsbook_win_minor(int64_t stake_minor, int32_t odds_milli);

/* Splits amount over the PT levels by shares: agent, master and super get
 * their share rounded down, the house the rest, so the parts add up to
 * amount exactly. */
void sportsbook_split(int64_t amount_minor, const uint16_t shares_bp[PT_LEVELS],
                      int64_t parts_minor[PT_LEVELS]);

/* The PT level accounts of a member: agent, master, super, house. */
void sportsbook_levels(const struct engine *engine, uint32_t member_id,
                       uint32_t level_ids[PT_LEVELS]);

/* Adds (sign 1) or removes (sign -1) a bet's amounts to its levels'
 * exposure entries; entries must exist when adding (see sportsbook.c). */
uint32_t exposure_find(const struct engine *engine, uint32_t account_id, uint32_t market_id);
uint32_t exposure_acquire(struct engine *engine, uint32_t account_id, uint32_t market_id);
void exposure_add_bet(struct engine *engine, const struct bet *bet);

/* Override lookup for the snapshot codec. */
uint32_t pt_override_find(const struct engine *engine, uint32_t account_id,
                          uint32_t sport_event_id, uint32_t market_id);
void pt_override_insert(struct engine *engine, uint32_t slot);

#endif
