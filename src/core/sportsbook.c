/* Fixed-odds markets and position taking (see sportsbook.h and
 * docs/sportsbook.md).
 *
 * A bet's life:
 *
 *   BET_PLACE --checks--> OPEN (in its market's list, stake held against
 *   [sportsbook_bet_place]    the member's credit, amounts in each PT
 *                             level's exposure)
 *                 --MARKET_SETTLE--> paid out and freed [sportsbook_settle]
 *
 * Position taking: at acceptance the bet's risk is split over the member's
 * agent, master and super by their shares for the market's type (a manual
 * override for the market or its event, if the level set one, else the
 * auto share), each capped by what is left of 100 % going up the tree; the
 * house takes the rest. The vector is frozen in the bet, so later PT
 * changes rewrite nothing. Every amount a level would pay or keep is
 * computed with sportsbook_split(), the same function settlement uses, so
 * a level's exposure is exactly what settlement would move.
 *
 * From logic version 3 the bet also freezes its commission vector, and
 * settlement pays it (commission.c); exposure does not count it.
 */
#include "core/sportsbook.h"

#include <assert.h>
#include <string.h>

#include "core/account.h"
#include "core/commission.h"
#include "core/odds.h"
#include "core/result.h"
#include "lib/hash.h"

int64_t sportsbook_win_minor(int64_t stake_minor, int32_t odds_milli)
{
    assert(stake_minor >= 0 && stake_minor <= STAKE_MAX_MINOR);
    assert(odds_milli >= ODDS_MILLI_MIN && odds_milli <= ODDS_MILLI_MAX);
    return stake_minor * (odds_milli - 1000) / 1000;
}

void sportsbook_split(int64_t amount_minor, const uint16_t shares_bp[PT_LEVELS],
                      int64_t parts_minor[PT_LEVELS])
{
    assert(amount_minor >= 0);
    int64_t rest_minor = amount_minor;
    for (uint32_t level = 0; level + 1 < PT_LEVELS; level++) {
        parts_minor[level] = amount_minor / BP_ONE * shares_bp[level] +
                             amount_minor % BP_ONE * shares_bp[level] / BP_ONE;
        rest_minor -= parts_minor[level];
    }
    parts_minor[PT_LEVELS - 1] = rest_minor;
    assert(rest_minor >= 0);
}

void sportsbook_levels(const struct engine *engine, uint32_t member_id,
                       uint32_t level_ids[PT_LEVELS])
{
    assert(engine->accounts[member_id].kind == ACCOUNT_KIND_MEMBER);
    uint32_t id = member_id;
    for (uint32_t level = 0; level < PT_LEVELS; level++) {
        id = engine->accounts[id].parent_id;
        level_ids[level] = id;
    }
    assert(level_ids[PT_LEVELS - 1] == ACCOUNT_HOUSE_ID);
}

/* ---- Exposure entries: (level account, market) -> amounts. ---- */

struct pair_key {
    uint32_t first;
    uint32_t second;
};

static bool exposure_match(const void *context, uint32_t slot, const void *key)
{
    const struct engine *engine = context;
    const struct pair_key *wanted = key;
    return engine->exposures[slot].account_id == wanted->first &&
           engine->exposures[slot].market_id == wanted->second;
}

static uint64_t exposure_slot_hash(const void *context, uint32_t slot)
{
    const struct engine *engine = context;
    return hash_pair64(engine->exposures[slot].account_id, engine->exposures[slot].market_id);
}

uint32_t exposure_find(const struct engine *engine, uint32_t account_id, uint32_t market_id)
{
    struct pair_key key = {account_id, market_id};
    uint32_t at = index_table_find(&engine->exposure_index, hash_pair64(account_id, market_id),
                                   exposure_match, engine, &key);
    return at == INDEX_NONE ? INDEX_NONE : engine->exposure_index.entries[at];
}

uint32_t exposure_acquire(struct engine *engine, uint32_t account_id, uint32_t market_id)
{
    uint32_t slot = exposure_find(engine, account_id, market_id);
    if (slot != INDEX_NONE)
        return slot;
    slot = pool_acquire(&engine->exposure_pool);
    if (slot == INDEX_NONE)
        return INDEX_NONE;
    struct exposure *exposure = &engine->exposures[slot];
    memset(exposure, 0, sizeof *exposure);
    exposure->account_id = account_id;
    exposure->market_id = market_id;
    exposure->next = engine->markets[market_id].exposure_head;
    engine->markets[market_id].exposure_head = slot;
    index_table_insert(&engine->exposure_index, hash_pair64(account_id, market_id), slot);
    return slot;
}

/* Worst loss of an exposure entry over which selection wins. */
static int64_t exposure_worst_minor(const struct exposure *exposure, uint8_t selection_count)
{
    int64_t stake_in_total = 0;
    for (uint8_t s = 0; s < selection_count; s++)
        stake_in_total += exposure->stake_in_minor[s];
    int64_t worst = INT64_MIN;
    for (uint8_t s = 0; s < selection_count; s++) {
        int64_t loss = exposure->win_liability_minor[s] -
                       (stake_in_total - exposure->stake_in_minor[s]);
        worst = loss > worst ? loss : worst;
    }
    return worst;
}

int64_t engine_exposure_minor(const struct engine *engine, uint32_t account_id,
                              uint32_t market_id)
{
    if (market_id >= engine->market_count)
        return 0;
    uint32_t slot = exposure_find(engine, account_id, market_id);
    if (slot == INDEX_NONE)
        return 0;
    return exposure_worst_minor(&engine->exposures[slot],
                                engine->markets[market_id].selection_count);
}

/* A bet's contribution to each level: what it pays if the selection wins,
 * and what it keeps of the stake if it loses. */
static void exposure_parts(const struct bet *bet, int64_t win_parts[PT_LEVELS],
                           int64_t stake_parts[PT_LEVELS])
{
    sportsbook_split(sportsbook_win_minor(bet->stake_minor, bet->odds_milli), bet->shares_bp,
                     win_parts);
    sportsbook_split(bet->stake_minor, bet->shares_bp, stake_parts);
}

void exposure_add_bet(struct engine *engine, const struct bet *bet)
{
    uint32_t level_ids[PT_LEVELS];
    int64_t win_parts[PT_LEVELS];
    int64_t stake_parts[PT_LEVELS];
    sportsbook_levels(engine, bet->account_id, level_ids);
    exposure_parts(bet, win_parts, stake_parts);
    for (uint32_t level = 0; level < PT_LEVELS; level++) {
        if (bet->shares_bp[level] == 0)
            continue;
        uint32_t slot = exposure_find(engine, level_ids[level], bet->market_id);
        assert(slot != INDEX_NONE);
        engine->exposures[slot].win_liability_minor[bet->selection] += win_parts[level];
        engine->exposures[slot].stake_in_minor[bet->selection] += stake_parts[level];
    }
}

/* ---- Manual PT overrides: (level account, event, market) -> share. ---- */

struct override_key {
    uint32_t account_id;
    uint32_t sport_event_id;
    uint32_t market_id;
};

static uint64_t override_hash(uint32_t account_id, uint32_t sport_event_id, uint32_t market_id)
{
    return hash_pair64(account_id, ((uint64_t)sport_event_id << 32) | market_id);
}

static bool override_match(const void *context, uint32_t slot, const void *key)
{
    const struct engine *engine = context;
    const struct override_key *wanted = key;
    const struct pt_override *override = &engine->pt_overrides[slot];
    return override->account_id == wanted->account_id &&
           override->sport_event_id == wanted->sport_event_id &&
           override->market_id == wanted->market_id;
}

static uint64_t override_slot_hash(const void *context, uint32_t slot)
{
    const struct engine *engine = context;
    const struct pt_override *override = &engine->pt_overrides[slot];
    return override_hash(override->account_id, override->sport_event_id, override->market_id);
}

static uint32_t override_position(const struct engine *engine, uint32_t account_id,
                                  uint32_t sport_event_id, uint32_t market_id)
{
    struct override_key key = {account_id, sport_event_id, market_id};
    return index_table_find(&engine->pt_override_index,
                            override_hash(account_id, sport_event_id, market_id),
                            override_match, engine, &key);
}

uint32_t pt_override_find(const struct engine *engine, uint32_t account_id,
                          uint32_t sport_event_id, uint32_t market_id)
{
    uint32_t at = override_position(engine, account_id, sport_event_id, market_id);
    return at == INDEX_NONE ? INDEX_NONE : engine->pt_override_index.entries[at];
}

void pt_override_insert(struct engine *engine, uint32_t slot)
{
    const struct pt_override *override = &engine->pt_overrides[slot];
    index_table_insert(&engine->pt_override_index,
                       override_hash(override->account_id, override->sport_event_id,
                                     override->market_id),
                       slot);
}

/* A level's share of a bet on market: manual override for the market,
 * else for its event, else auto; never above the level's ceiling. */
static uint16_t sportsbook_share_bp(const struct engine *engine, uint32_t account_id,
                                    uint32_t market_id)
{
    const struct market *market = &engine->markets[market_id];
    const struct account *account = &engine->accounts[account_id];
    uint32_t slot = pt_override_find(engine, account_id, market->sport_event_id, market_id);
    if (slot == INDEX_NONE)
        slot = pt_override_find(engine, account_id, market->sport_event_id, INDEX_NONE);
    if (slot == INDEX_NONE)
        return account->pt_share_bp[market->type];
    uint16_t share_bp = engine->pt_overrides[slot].share_bp;
    return share_bp < account->pt_max_bp[market->type] ? share_bp
                                                        : account->pt_max_bp[market->type];
}

static void sportsbook_allocate(const struct engine *engine, uint32_t member_id,
                                uint32_t market_id, uint16_t shares_bp[PT_LEVELS])
{
    uint32_t level_ids[PT_LEVELS];
    sportsbook_levels(engine, member_id, level_ids);
    uint32_t rest_bp = BP_ONE;
    for (uint32_t level = 0; level + 1 < PT_LEVELS; level++) {
        uint32_t share_bp = sportsbook_share_bp(engine, level_ids[level], market_id);
        share_bp = share_bp < rest_bp ? share_bp : rest_bp;
        shares_bp[level] = (uint16_t)share_bp;
        rest_bp -= share_bp;
    }
    shares_bp[PT_LEVELS - 1] = (uint16_t)rest_bp;
}

/* ---- Commands. ---- */

static uint8_t sportsbook_selection_count(uint8_t market_type)
{
    return market_type == MARKET_TYPE_1X2 ? 3 : 2;
}

/* From logic version 3 a command says how many prices or results it
 * carries (LOGIC_VERSION_SELECTION_COUNTS): exactly one per selection of
 * the market, and nothing in the slots past them. Before, the count is
 * not looked at, as it never was. surplus: a slot past selection_count is
 * not 0. */
static bool sportsbook_count_wrong(const struct engine *engine, uint8_t count,
                                   uint8_t selection_count, bool surplus)
{
    assert(selection_count >= 2 && selection_count <= SELECTIONS_MAX);
    if (engine->logic_version < LOGIC_VERSION_SELECTION_COUNTS)
        return false;
    return count != selection_count || surplus;
}

static bool sportsbook_odds_surplus(const int32_t odds_milli[SELECTIONS_MAX], uint8_t count)
{
    for (uint8_t s = count; s < SELECTIONS_MAX; s++) {
        if (odds_milli[s] != 0)
            return true;
    }
    return false;
}

static int sportsbook_odds_check(const int32_t odds_milli[SELECTIONS_MAX], uint8_t count)
{
    for (uint8_t s = 0; s < count; s++) {
        if (odds_milli[s] < ODDS_MILLI_MIN || odds_milli[s] > ODDS_MILLI_MAX)
            return REJECT_ODDS_INVALID;
    }
    return RESULT_OK;
}

static void sportsbook_emit_odds(struct engine *engine, uint32_t market_id)
{
    const struct market *market = &engine->markets[market_id];
    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_ODDS;
    event.code = market->status;
    event.id = market_id;
    for (uint8_t s = 0; s < SELECTIONS_MAX; s++)
        event.u.odds.odds_milli[s] = market->odds_milli[s];
    engine_emit(engine, &event);
}

static int sportsbook_event_create(struct engine *engine, const struct command *command,
                                   struct outcome *outcome)
{
    if (engine->sport_event_count >= engine->limits.sport_events_max)
        return REJECT_EVENTS_FULL;
    uint32_t id = engine->sport_event_count++;
    engine->sport_events[id].external_ref = command->u.sport_event_create.external_ref;
    engine->sport_events[id].market_count = 0;
    outcome->id = id;
    return RESULT_OK;
}

static int sportsbook_market_check(const struct engine *engine, const struct command *command)
{
    const struct command_market_create *create = &command->u.market_create;
    if (create->sport_event_id >= engine->sport_event_count)
        return REJECT_EVENT_UNKNOWN;
    if (create->market_type >= MARKET_TYPE_COUNT)
        return REJECT_MARKET_TYPE_INVALID;
    uint8_t count = sportsbook_selection_count(create->market_type);
    if (sportsbook_count_wrong(engine, create->odds_count, count,
                               sportsbook_odds_surplus(create->odds_milli, count)))
        return REJECT_SELECTION_COUNT;
    if (sportsbook_odds_check(create->odds_milli, count) != RESULT_OK)
        return REJECT_ODDS_INVALID;
    if (create->stake_min_minor <= 0 || create->stake_max_minor < create->stake_min_minor ||
        create->stake_max_minor > STAKE_MAX_MINOR)
        return REJECT_MARKET_INVALID;
    /* Lines up to 100 goals either way; a 1X2 market has none. */
    if (create->line_quarters < -400 || create->line_quarters > 400 ||
        (create->market_type == MARKET_TYPE_1X2 && create->line_quarters != 0) ||
        (create->market_type == MARKET_TYPE_OVER_UNDER && create->line_quarters <= 0))
        return REJECT_MARKET_INVALID;
    if (engine->market_count >= engine->limits.markets_max)
        return REJECT_MARKETS_FULL;
    return RESULT_OK;
}

static int sportsbook_market_create(struct engine *engine, const struct command *command,
                                    struct outcome *outcome)
{
    const struct command_market_create *create = &command->u.market_create;
    int result = sportsbook_market_check(engine, command);
    if (result == REJECT_SELECTION_COUNT)
        outcome->value = sportsbook_selection_count(create->market_type);
    if (result != RESULT_OK)
        return result;
    uint32_t id = engine->market_count++;
    struct market *market = &engine->markets[id];
    memset(market, 0, sizeof *market);
    market->sport_event_id = create->sport_event_id;
    market->type = create->market_type;
    market->status = MARKET_STATUS_OPEN;
    market->selection_count = sportsbook_selection_count(create->market_type);
    market->line_quarters = create->line_quarters;
    for (uint8_t s = 0; s < market->selection_count; s++)
        market->odds_milli[s] = create->odds_milli[s];
    market->stake_min_minor = create->stake_min_minor;
    market->stake_max_minor = create->stake_max_minor;
    market->bet_head = INDEX_NONE;
    market->bet_tail = INDEX_NONE;
    market->exposure_head = INDEX_NONE;
    engine->sport_events[create->sport_event_id].market_count++;
    sportsbook_emit_odds(engine, id);
    outcome->id = id;
    return RESULT_OK;
}

static int sportsbook_set_odds(struct engine *engine, const struct command *command,
                               struct outcome *outcome)
{
    uint32_t id = command->u.market_set_odds.market_id;
    if (id >= engine->market_count)
        return REJECT_MARKET_UNKNOWN;
    struct market *market = &engine->markets[id];
    if (market->status == MARKET_STATUS_SETTLED)
        return REJECT_MARKET_SETTLED;
    const int32_t *odds_milli = command->u.market_set_odds.odds_milli;
    if (sportsbook_count_wrong(engine, command->u.market_set_odds.odds_count,
                               market->selection_count,
                               sportsbook_odds_surplus(odds_milli, market->selection_count))) {
        outcome->value = market->selection_count;
        return REJECT_SELECTION_COUNT;
    }
    if (sportsbook_odds_check(odds_milli, market->selection_count) != RESULT_OK)
        return REJECT_ODDS_INVALID;
    for (uint8_t s = 0; s < market->selection_count; s++)
        market->odds_milli[s] = command->u.market_set_odds.odds_milli[s];
    sportsbook_emit_odds(engine, id);
    outcome->id = id;
    return RESULT_OK;
}

static int sportsbook_set_status(struct engine *engine, const struct command *command,
                                 struct outcome *outcome)
{
    uint32_t id = command->u.market_set_status.market_id;
    uint8_t status = command->u.market_set_status.status;
    if (id >= engine->market_count)
        return REJECT_MARKET_UNKNOWN;
    if (status != MARKET_STATUS_OPEN && status != MARKET_STATUS_SUSPENDED)
        return REJECT_STATUS_INVALID;
    struct market *market = &engine->markets[id];
    if (market->status == MARKET_STATUS_SETTLED)
        return REJECT_MARKET_SETTLED;
    market->status = status;
    sportsbook_emit_odds(engine, id);
    outcome->id = id;
    outcome->value = status;
    return RESULT_OK;
}

static int sportsbook_pt_override(struct engine *engine, const struct command *command,
                                  struct outcome *outcome)
{
    uint32_t account_id = command->sender_account_id;
    uint32_t event_id = command->u.pt_override.sport_event_id;
    uint32_t market_id = command->u.pt_override.market_id;
    uint16_t share_bp = command->u.pt_override.share_bp;
    const struct account *account = &engine->accounts[account_id];
    if (event_id >= engine->sport_event_count)
        return REJECT_EVENT_UNKNOWN;
    uint16_t ceiling_bp = BP_ONE;
    if (market_id != INDEX_NONE) {
        if (market_id >= engine->market_count ||
            engine->markets[market_id].sport_event_id != event_id)
            return REJECT_MARKET_UNKNOWN;
        /* A settled market takes no new share, but an override on it can
         * still be removed: otherwise its slot would be held for ever. */
        if (engine->markets[market_id].status == MARKET_STATUS_SETTLED &&
            share_bp != PT_SHARE_NONE)
            return REJECT_MARKET_SETTLED;
        ceiling_bp = account->pt_max_bp[engine->markets[market_id].type];
    } else {
        for (uint32_t type = 0; type < MARKET_TYPE_COUNT; type++)
            ceiling_bp = account->pt_max_bp[type] < ceiling_bp ? account->pt_max_bp[type]
                                                               : ceiling_bp;
    }
    uint32_t at = override_position(engine, account_id, event_id, market_id);
    outcome->id = event_id;
    if (share_bp == PT_SHARE_NONE) {
        if (at != INDEX_NONE) {
            uint32_t slot = engine->pt_override_index.entries[at];
            index_table_remove_at(&engine->pt_override_index, at, override_slot_hash, engine);
            pool_release(&engine->pt_override_pool, slot);
        }
        return RESULT_OK;
    }
    if (share_bp > BP_ONE)
        return REJECT_SHARE_INVALID;
    if (share_bp > ceiling_bp)
        return REJECT_SHARE_ABOVE_MAX;
    uint32_t slot = at == INDEX_NONE ? pool_acquire(&engine->pt_override_pool)
                                     : engine->pt_override_index.entries[at];
    if (slot == INDEX_NONE)
        return REJECT_OVERRIDES_FULL;
    struct pt_override *override = &engine->pt_overrides[slot];
    override->account_id = account_id;
    override->sport_event_id = event_id;
    override->market_id = market_id;
    override->share_bp = share_bp;
    if (at == INDEX_NONE)
        pt_override_insert(engine, slot);
    outcome->value = share_bp;
    return RESULT_OK;
}

static int sportsbook_bet_terms(const struct engine *engine, const struct command *command,
                                int32_t *odds_milli)
{
    uint32_t market_id = command->u.bet_place.market_id;
    int64_t stake_minor = command->u.bet_place.stake_minor;
    if (market_id >= engine->market_count)
        return REJECT_MARKET_UNKNOWN;
    const struct market *market = &engine->markets[market_id];
    const struct account *member = &engine->accounts[command->sender_account_id];
    if (market->status != MARKET_STATUS_OPEN)
        return REJECT_MARKET_NOT_OPEN;
    if (command->u.bet_place.selection >= market->selection_count)
        return REJECT_SELECTION_INVALID;
    int32_t seen_milli = command->u.bet_place.odds_milli;
    int32_t current_milli = market->odds_milli[command->u.bet_place.selection];
    if (seen_milli < ODDS_MILLI_MIN || seen_milli > ODDS_MILLI_MAX)
        return REJECT_ODDS_INVALID;
    if (current_milli < seen_milli ||
        (current_milli > seen_milli && !command->u.bet_place.accept_better_odds))
        return REJECT_ODDS_CHANGED;
    /* A stake so negative that the subtraction would overflow (undefined
     * behaviour) is refused here too, as the wrapped difference, negative,
     * refused it on earlier builds (issue 14, found by fuzz_engine). */
    if (stake_minor < EXPOSURE_TOTAL_MAX_MINOR - INT64_MAX ||
        market->stake_total_minor > EXPOSURE_TOTAL_MAX_MINOR - stake_minor)
        return REJECT_EXPOSURE_LIMIT;
    if (stake_minor < market->stake_min_minor || stake_minor > market->stake_max_minor ||
        (member->bet_stake_max_minor != 0 && stake_minor > member->bet_stake_max_minor))
        return REJECT_STAKE_LIMIT;
    if (account_available_minor(member) < stake_minor)
        return REJECT_FUNDS_INSUFFICIENT;
    *odds_milli = current_milli;
    return RESULT_OK;
}

/* Would the bet take any level over its exposure limit, and are there
 * enough free exposure entries for the levels that have none yet? */
static int sportsbook_bet_exposure(const struct engine *engine, const struct bet *bet)
{
    uint32_t level_ids[PT_LEVELS];
    int64_t win_parts[PT_LEVELS];
    int64_t stake_parts[PT_LEVELS];
    const struct market *market = &engine->markets[bet->market_id];
    sportsbook_levels(engine, bet->account_id, level_ids);
    exposure_parts(bet, win_parts, stake_parts);
    uint32_t entries_needed = 0;
    for (uint32_t level = 0; level < PT_LEVELS; level++) {
        if (bet->shares_bp[level] == 0)
            continue;
        struct exposure exposure;
        memset(&exposure, 0, sizeof exposure);
        uint32_t slot = exposure_find(engine, level_ids[level], bet->market_id);
        if (slot == INDEX_NONE)
            entries_needed++;
        else
            exposure = engine->exposures[slot];
        int64_t before = exposure_worst_minor(&exposure, market->selection_count);
        if (exposure.win_liability_minor[bet->selection] >
                EXPOSURE_TOTAL_MAX_MINOR - win_parts[level] ||
            exposure.stake_in_minor[bet->selection] >
                EXPOSURE_TOTAL_MAX_MINOR - stake_parts[level])
            return REJECT_EXPOSURE_LIMIT;
        exposure.win_liability_minor[bet->selection] += win_parts[level];
        exposure.stake_in_minor[bet->selection] += stake_parts[level];
        int64_t after = exposure_worst_minor(&exposure, market->selection_count);
        int64_t limit = engine->accounts[level_ids[level]].exposure_limit_minor;
        /* A bet that lowers a level's worst loss is never refused. */
        if (limit != 0 && after > limit && after > before)
            return REJECT_EXPOSURE_LIMIT;
    }
    if (entries_needed > engine->exposure_pool.free_count)
        return REJECT_EXPOSURES_FULL;
    return RESULT_OK;
}

static int sportsbook_bet_place(struct engine *engine, const struct command *command,
                                struct outcome *outcome)
{
    int32_t odds_milli = 0;
    int result = sportsbook_bet_terms(engine, command, &odds_milli);
    if (result != RESULT_OK)
        return result;
    struct bet bet = {
        .bet_id = engine->bet_id_next,
        .account_id = command->sender_account_id,
        .market_id = command->u.bet_place.market_id,
        .stake_minor = command->u.bet_place.stake_minor,
        .odds_milli = odds_milli,
        .selection = command->u.bet_place.selection,
        .next = INDEX_NONE,
    };
    sportsbook_allocate(engine, bet.account_id, bet.market_id, bet.shares_bp);
    commission_freeze(engine, bet.account_id, engine->markets[bet.market_id].type,
                      bet.commission_bp);
    result = sportsbook_bet_exposure(engine, &bet);
    if (result != RESULT_OK)
        return result;
    uint32_t slot = pool_acquire(&engine->bet_pool);
    if (slot == INDEX_NONE)
        return REJECT_BETS_FULL;
    uint32_t level_ids[PT_LEVELS];
    sportsbook_levels(engine, bet.account_id, level_ids);
    for (uint32_t level = 0; level < PT_LEVELS; level++) {
        if (bet.shares_bp[level] != 0)
            exposure_acquire(engine, level_ids[level], bet.market_id);
    }
    engine->bet_id_next++;
    engine->bets[slot] = bet;
    struct market *market = &engine->markets[bet.market_id];
    if (market->bet_tail == INDEX_NONE)
        market->bet_head = slot;
    else
        engine->bets[market->bet_tail].next = slot;
    market->bet_tail = slot;
    market->bet_count++;
    market->stake_total_minor += bet.stake_minor;
    engine->accounts[bet.account_id].stake_open_minor += bet.stake_minor;
    exposure_add_bet(engine, &bet);

    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_BET_ACCEPTED;
    event.account_id = bet.account_id;
    event.id = bet.bet_id;
    event.u.bet.market_id = bet.market_id;
    event.u.bet.selection = bet.selection;
    event.u.bet.odds_milli = bet.odds_milli;
    event.u.bet.stake_minor = bet.stake_minor;
    memcpy(event.u.bet.shares_bp, bet.shares_bp, sizeof bet.shares_bp);
    engine_emit(engine, &event);
    outcome->id = bet.bet_id;
    outcome->value = odds_milli;
    return RESULT_OK;
}

/* The member's balance change for a bet with this result. */
static int64_t sportsbook_payout_minor(const struct bet *bet, uint8_t result)
{
    int64_t win_minor = sportsbook_win_minor(bet->stake_minor, bet->odds_milli);
    switch (result) {
    case BET_RESULT_WIN: return win_minor;
    case BET_RESULT_LOSE: return -bet->stake_minor;
    case BET_RESULT_HALF_WIN: return win_minor / 2;
    case BET_RESULT_HALF_LOSE: return -(bet->stake_minor / 2);
    default: assert(result == BET_RESULT_VOID); return 0;
    }
}

static void sportsbook_settle_bet(struct engine *engine, const struct bet *bet, uint8_t result)
{
    uint32_t level_ids[PT_LEVELS];
    int64_t parts_minor[PT_LEVELS];
    int64_t payout_minor = sportsbook_payout_minor(bet, result);
    int64_t sign = payout_minor < 0 ? -1 : 1;
    sportsbook_levels(engine, bet->account_id, level_ids);
    sportsbook_split(payout_minor * sign, bet->shares_bp, parts_minor);
    struct account *member = &engine->accounts[bet->account_id];
    member->balance_minor += payout_minor;
    member->stake_open_minor -= bet->stake_minor;
    assert(member->stake_open_minor >= 0);
    for (uint32_t level = 0; level < PT_LEVELS; level++)
        engine->accounts[level_ids[level]].balance_minor -= sign * parts_minor[level];

    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_BET_SETTLED;
    event.code = result;
    event.account_id = bet->account_id;
    event.id = bet->bet_id;
    event.u.bet.market_id = bet->market_id;
    event.u.bet.selection = bet->selection;
    event.u.bet.odds_milli = bet->odds_milli;
    event.u.bet.stake_minor = bet->stake_minor;
    event.u.bet.payout_minor = payout_minor;
    memcpy(event.u.bet.shares_bp, bet->shares_bp, sizeof bet->shares_bp);
    engine_emit(engine, &event);
    commission_settle(engine, bet, result);
}

static int sportsbook_settle(struct engine *engine, const struct command *command,
                             struct outcome *outcome)
{
    uint32_t id = command->u.market_settle.market_id;
    if (id >= engine->market_count)
        return REJECT_MARKET_UNKNOWN;
    struct market *market = &engine->markets[id];
    if (market->status == MARKET_STATUS_SETTLED)
        return REJECT_MARKET_SETTLED;
    const uint8_t *results = command->u.market_settle.results;
    bool surplus = false;
    for (uint8_t s = market->selection_count; s < SELECTIONS_MAX; s++)
        surplus = surplus || results[s] != 0;
    if (sportsbook_count_wrong(engine, command->u.market_settle.result_count,
                               market->selection_count, surplus)) {
        outcome->value = market->selection_count;
        return REJECT_SELECTION_COUNT;
    }
    for (uint8_t s = 0; s < market->selection_count; s++) {
        bool half = results[s] == BET_RESULT_HALF_WIN || results[s] == BET_RESULT_HALF_LOSE;
        if (results[s] >= BET_RESULT_COUNT || (half && market->type == MARKET_TYPE_1X2))
            return REJECT_RESULT_INVALID;
    }
    for (uint32_t slot = market->bet_head; slot != INDEX_NONE;) {
        uint32_t next = engine->bets[slot].next;
        sportsbook_settle_bet(engine, &engine->bets[slot], results[engine->bets[slot].selection]);
        pool_release(&engine->bet_pool, slot);
        slot = next;
    }
    for (uint32_t slot = market->exposure_head; slot != INDEX_NONE;) {
        uint32_t next = engine->exposures[slot].next;
        struct pair_key key = {engine->exposures[slot].account_id, id};
        uint32_t at = index_table_find(&engine->exposure_index, hash_pair64(key.first, id),
                                       exposure_match, engine, &key);
        index_table_remove_at(&engine->exposure_index, at, exposure_slot_hash, engine);
        pool_release(&engine->exposure_pool, slot);
        slot = next;
    }
    outcome->id = id;
    outcome->value = market->bet_count;
    market->bet_head = market->bet_tail = market->exposure_head = INDEX_NONE;
    market->bet_count = 0;
    market->stake_total_minor = 0;
    market->status = MARKET_STATUS_SETTLED;
    for (uint8_t s = 0; s < market->selection_count; s++)
        market->results[s] = results[s];
    sportsbook_emit_odds(engine, id);
    return RESULT_OK;
}

void sportsbook_apply(struct engine *engine, const struct command *command,
                      struct outcome *outcome)
{
    int result;
    switch (command->type) {
    case COMMAND_SPORT_EVENT_CREATE:
        result = sportsbook_event_create(engine, command, outcome);
        break;
    case COMMAND_MARKET_CREATE: result = sportsbook_market_create(engine, command, outcome); break;
    case COMMAND_MARKET_SET_ODDS: result = sportsbook_set_odds(engine, command, outcome); break;
    case COMMAND_MARKET_SET_STATUS: result = sportsbook_set_status(engine, command, outcome); break;
    case COMMAND_MARKET_SETTLE: result = sportsbook_settle(engine, command, outcome); break;
    case COMMAND_BET_PLACE: result = sportsbook_bet_place(engine, command, outcome); break;
    case COMMAND_PT_OVERRIDE: result = sportsbook_pt_override(engine, command, outcome); break;
    default: assert(!"not a sportsbook command"); result = REJECT_COMMAND_UNKNOWN; break;
    }
    outcome->result = (uint16_t)result;
}
