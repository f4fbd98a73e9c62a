/* Agent commission (rebate) on turnover (see commission.h and
 * docs/sportsbook.md, "Commission").
 *
 * Rates. Each account but the house and operators holds the rate its
 * parent gives it for each market type (engine->commissions): at most the
 * parent's own when it is set, at most COMMISSION_BP_MAX under the house.
 * A parent may lower its own rate below what it gave its children: the
 * children's rates stay as they are, and each bet caps them on its path.
 *
 * A bet's vector [commission_freeze], from the super down, with r the
 * rates as set and e the rates the bet uses:
 *
 *   e_super  = min(r_super, COMMISSION_BP_MAX)
 *   e_master = min(r_master, e_super)
 *   e_agent  = min(r_agent, e_master)
 *   e_member = min(r_member, e_agent)
 *
 * so that e never grows going down. Each level earns its rate less its
 * child's on the path: the member e_member, the agent e_agent - e_member,
 * the master e_master - e_agent, the super e_super - e_master. Together
 * they earn e_super of the turnover.
 *
 * Settlement [commission_settle]: the turnover T is the stake for a win
 * or a loss, half the stake (rounded down) for a half win or a half loss,
 * and 0 for a void. Each level earns floor(T * its bp / 10000); the total
 * C is paid by the bet's PT levels by their frozen shares, with
 * sportsbook_split(): agent, master and super pay their share rounded
 * down, the house the rest. Every balance that goes up has its
 * counterpart going down by exactly as much: money is conserved.
 */
#include "core/commission.h"

#include <assert.h>
#include <string.h>

#include "core/account.h"
#include "core/result.h"
#include "core/sportsbook.h"

int commission_set(struct engine *engine, const struct command *command,
                   struct outcome *outcome)
{
    uint32_t id = command->u.commission_set.account_id;
    uint8_t type = command->u.commission_set.market_type;
    uint16_t rate_bp = command->u.commission_set.rate_bp;
    assert(engine->logic_version >= LOGIC_VERSION_COMMISSION);
    assert(id < engine->account_count);
    const struct account *account = &engine->accounts[id];
    /* The house and operators take no bets' commission: they have no
     * parent that pays them one (the house pays, as the last PT level). */
    if (account_is_operator(account))
        return REJECT_ACCOUNT_KIND;
    if (type >= MARKET_TYPE_COUNT)
        return REJECT_MARKET_TYPE_INVALID;
    if (rate_bp > COMMISSION_BP_MAX)
        return REJECT_COMMISSION_INVALID;
    uint32_t parent_id = account->parent_id;
    if (parent_id != ACCOUNT_HOUSE_ID) {
        uint16_t parent_bp = engine->commissions[parent_id].rate_bp[type];
        if (rate_bp > parent_bp) {
            outcome->value = parent_bp; /* the most it may be now */
            return REJECT_COMMISSION_ABOVE_PARENT;
        }
    }
    engine->commissions[id].rate_bp[type] = rate_bp;
    outcome->id = id;
    outcome->value = rate_bp;
    return RESULT_OK;
}

void commission_freeze(const struct engine *engine, uint32_t member_id, uint8_t market_type,
                       uint16_t commission_bp[COMMISSION_LEVELS])
{
    memset(commission_bp, 0, COMMISSION_LEVELS * sizeof commission_bp[0]);
    if (engine->logic_version < LOGIC_VERSION_COMMISSION)
        return;
    assert(engine->accounts[member_id].kind == ACCOUNT_KIND_MEMBER);
    assert(market_type < MARKET_TYPE_COUNT);
    /* path: member, agent, master, super. */
    uint32_t path[COMMISSION_LEVELS];
    path[0] = member_id;
    for (uint32_t level = 1; level < COMMISSION_LEVELS; level++)
        path[level] = engine->accounts[path[level - 1]].parent_id;
    assert(engine->accounts[path[COMMISSION_LEVELS - 1]].kind == ACCOUNT_KIND_SUPER);
    uint32_t effective_bp[COMMISSION_LEVELS];
    uint32_t above_bp = COMMISSION_BP_MAX;
    for (uint32_t level = COMMISSION_LEVELS; level-- > 0;) {
        uint32_t rate_bp = engine->commissions[path[level]].rate_bp[market_type];
        effective_bp[level] = rate_bp < above_bp ? rate_bp : above_bp;
        above_bp = effective_bp[level];
    }
    commission_bp[0] = (uint16_t)effective_bp[0];
    uint32_t total_bp = commission_bp[0];
    for (uint32_t level = 1; level < COMMISSION_LEVELS; level++) {
        assert(effective_bp[level] >= effective_bp[level - 1]);
        commission_bp[level] = (uint16_t)(effective_bp[level] - effective_bp[level - 1]);
        total_bp += commission_bp[level];
    }
    assert(total_bp == effective_bp[COMMISSION_LEVELS - 1]);
    assert(total_bp <= COMMISSION_BP_MAX);
}

/* The stake the rates apply to: what the result really staked. */
static int64_t commission_turnover_minor(const struct bet *bet, uint8_t result)
{
    switch (result) {
    case BET_RESULT_WIN:
    case BET_RESULT_LOSE: return bet->stake_minor;
    case BET_RESULT_HALF_WIN:
    case BET_RESULT_HALF_LOSE: return bet->stake_minor / 2;
    default: assert(result == BET_RESULT_VOID); return 0;
    }
}

static void commission_emit(struct engine *engine, const struct bet *bet, uint8_t result,
                            int64_t turnover_minor, const int64_t earned[COMMISSION_LEVELS],
                            const int64_t paid[PT_LEVELS])
{
    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_COMMISSION;
    event.code = result;
    event.account_id = bet->account_id;
    event.id = bet->bet_id;
    event.u.commission.market_id = bet->market_id;
    event.u.commission.turnover_minor = turnover_minor;
    memcpy(event.u.commission.earned_minor, earned, sizeof event.u.commission.earned_minor);
    memcpy(event.u.commission.paid_minor, paid, sizeof event.u.commission.paid_minor);
    engine_emit(engine, &event);
}

void commission_settle(struct engine *engine, const struct bet *bet, uint8_t result)
{
    int64_t turnover_minor = commission_turnover_minor(bet, result);
    assert(turnover_minor >= 0 && turnover_minor <= STAKE_MAX_MINOR);
    int64_t earned[COMMISSION_LEVELS];
    int64_t total_minor = 0;
    for (uint32_t level = 0; level < COMMISSION_LEVELS; level++) {
        earned[level] = turnover_minor * bet->commission_bp[level] / BP_ONE;
        total_minor += earned[level];
    }
    if (total_minor == 0)
        return; /* before logic 3, a void, or no rates: nothing moves */
    assert(engine->logic_version >= LOGIC_VERSION_COMMISSION);
    int64_t paid[PT_LEVELS];
    uint32_t level_ids[PT_LEVELS]; /* agent, master, super, house */
    sportsbook_split(total_minor, bet->shares_bp, paid);
    sportsbook_levels(engine, bet->account_id, level_ids);
    engine->accounts[bet->account_id].balance_minor += earned[0];
    for (uint32_t level = 1; level < COMMISSION_LEVELS; level++)
        engine->accounts[level_ids[level - 1]].balance_minor += earned[level];
    int64_t paid_minor = 0;
    for (uint32_t level = 0; level < PT_LEVELS; level++) {
        engine->accounts[level_ids[level]].balance_minor -= paid[level];
        paid_minor += paid[level];
    }
    assert(paid_minor == total_minor);
    commission_emit(engine, bet, result, turnover_minor, earned, paid);
}

void commission_logic_3(struct engine *engine)
{
    assert(engine->logic_version >= LOGIC_VERSION_COMMISSION);
    /* One pass over the accounts, no other object: bets accepted before
     * froze zeros, which they keep. */
    memset(engine->commissions, 0, engine->account_count * sizeof engine->commissions[0]);
}
