/* Agent commission (rebate) on turnover, from logic version 3 (see
 * docs/sportsbook.md, "Commission").
 *
 * A parent gives each direct child a rate per market type, at most its own
 * (COMMISSION_SET). A bet freezes, beside its PT shares, what each of the
 * member, agent, master and super earns; settlement of a result other
 * than void pays it, and the PT levels pay it in proportion to their
 * shares of the bet, so no money is made or lost.
 */
#ifndef NODOWN_CORE_COMMISSION_H
#define NODOWN_CORE_COMMISSION_H

#include <stdint.h>

#include "core/state.h"

/* COMMISSION_SET, authorized already: returns RESULT_OK or a reject. */
int commission_set(struct engine *engine, const struct command *command,
                   struct outcome *outcome);

/* The commission vector a bet of member_id on a market of market_type
 * freezes: what the member, agent, master and super each earn, in bp of
 * the turnover. All 0 before logic version 3. */
void commission_freeze(const struct engine *engine, uint32_t member_id, uint8_t market_type,
                       uint16_t commission_bp[COMMISSION_LEVELS]);

/* Pays a settled bet's commission for its result and emits
 * EVENT_COMMISSION when anything moves. */
void commission_settle(struct engine *engine, const struct bet *bet, uint8_t result);

/* The migration to logic version 3: every account's rates start at 0. */
void commission_logic_3(struct engine *engine);

#endif
