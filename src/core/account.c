/* Accounts and positions (see account.h).
 *
 * Every command here has already passed auth_check(): the sender may act on
 * the target. What is left is the business validation, in the order a
 * reader would check it, and the change itself.
 */
#include "core/account.h"

#include <assert.h>
#include <string.h>

#include "core/commission.h"
#include "core/result.h"
#include "core/trading.h"
#include "lib/hash.h"

bool account_is_ancestor(const struct engine *engine, uint32_t ancestor_id,
                         uint32_t account_id)
{
    assert(account_id < engine->account_count);
    uint32_t id = account_id;
    /* The tree is at most five levels deep; the bound guards a corrupt one. */
    for (int depth = 0; depth < 8 && id != ACCOUNT_HOUSE_ID; depth++) {
        id = engine->accounts[id].parent_id;
        if (id == ancestor_id)
            return true;
    }
    return false;
}

bool account_chain_walk(const struct engine *engine, uint32_t account_id)
{
    assert(account_id < engine->account_count);
    uint32_t id = account_id;
    for (int depth = 0; depth < 8; depth++) {
        if (engine->accounts[id].status != ACCOUNT_STATUS_ACTIVE)
            return false;
        if (id == ACCOUNT_HOUSE_ID)
            return true;
        id = engine->accounts[id].parent_id;
    }
    assert(!"account tree deeper than its five levels");
    return false;
}

static void account_init(struct account *account, uint32_t parent_id, uint8_t kind,
                         uint8_t depth)
{
    memset(account, 0, sizeof *account);
    account->parent_id = parent_id;
    account->kind = kind;
    account->status = ACCOUNT_STATUS_ACTIVE;
    account->depth = depth;
    account->position_head = INDEX_NONE;
    account->session_hint = INDEX_NONE;
    account->position_hint = INDEX_NONE;
    account->chain_epoch = UINT32_MAX;
}

void account_create_house(struct engine *engine)
{
    assert(engine->account_count == 0);
    account_init(&engine->accounts[0], ACCOUNT_HOUSE_ID, ACCOUNT_KIND_HOUSE, 0);
    for (uint32_t type = 0; type < MARKET_TYPE_COUNT; type++)
        engine->accounts[0].pt_max_bp[type] = BP_ONE;
    memset(&engine->secrets[0], 0, sizeof engine->secrets[0]);
    memset(&engine->commissions[0], 0, sizeof engine->commissions[0]);
    memset(&engine->credit_given[0], 0, sizeof engine->credit_given[0]);
    engine->account_count = 1;
}

/* The kind a parent of kind parent_kind may create under itself. */
bool account_kind_allowed(uint8_t parent_kind, uint8_t kind)
{
    if (parent_kind == ACCOUNT_KIND_HOUSE)
        return kind == ACCOUNT_KIND_SUPER || kind == ACCOUNT_KIND_OPERATOR;
    if (parent_kind >= ACCOUNT_KIND_MEMBER)
        return false;
    return kind == parent_kind + 1;
}

/* ---- Credit given to children. ----
 *
 * A parent's credit_given is the sum of its open children's credit limits
 * (struct credit_given). Every command that changes one keeps it: a child
 * created, its credit set, the child closed (a closed account's credit can
 * be used no more, nor changed, so it stops counting). */

static void credit_given_add(struct credit_given *given, int64_t delta_minor)
{
    assert(delta_minor >= -AMOUNT_MAX_MINOR && delta_minor <= AMOUNT_MAX_MINOR);
    assert(given->low_minor >= 0 && given->low_minor < AMOUNT_MAX_MINOR);
    given->low_minor += delta_minor;
    if (given->low_minor >= AMOUNT_MAX_MINOR) {
        given->low_minor -= AMOUNT_MAX_MINOR;
        given->carries++;
    } else if (given->low_minor < 0) {
        given->low_minor += AMOUNT_MAX_MINOR;
        given->carries--;
    }
    assert(given->low_minor >= 0 && given->low_minor < AMOUNT_MAX_MINOR);
    assert(given->carries >= 0);
}

void account_credit_given_rebuild(struct engine *engine)
{
    memset(engine->credit_given, 0, engine->account_count * sizeof *engine->credit_given);
    for (uint32_t id = 1; id < engine->account_count; id++) {
        const struct account *child = &engine->accounts[id];
        if (child->status != ACCOUNT_STATUS_CLOSED)
            credit_given_add(&engine->credit_given[child->parent_id], child->credit_limit_minor);
    }
}

/* A child's credit may not exceed its parent's, except under the house.
 * From logic version 3 (LOGIC_VERSION_CREDIT_TOTAL), a raise may not take
 * what the parent gives its children in total above its own limit either;
 * lowering a child's credit is never refused, nor is lowering the
 * parent's own, so that an ancestor can always cut risk at once.
 * old_minor is the child's credit now (0 for a new child). */
static int account_credit_check(const struct engine *engine, uint32_t parent_id,
                                int64_t old_minor, int64_t credit_limit_minor)
{
    if (credit_limit_minor < 0 || credit_limit_minor > AMOUNT_MAX_MINOR)
        return REJECT_AMOUNT_INVALID;
    if (parent_id == ACCOUNT_HOUSE_ID)
        return RESULT_OK;
    int64_t parent_minor = engine->accounts[parent_id].credit_limit_minor;
    if (credit_limit_minor > parent_minor)
        return REJECT_CREDIT_ABOVE_PARENT;
    if (engine->logic_version < LOGIC_VERSION_CREDIT_TOTAL || credit_limit_minor <= old_minor)
        return RESULT_OK;
    struct credit_given after = engine->credit_given[parent_id];
    credit_given_add(&after, credit_limit_minor - old_minor);
    if (after.carries != 0 || after.low_minor > parent_minor)
        return REJECT_CREDIT_ABOVE_PARENT_TOTAL;
    return RESULT_OK;
}

static int account_create(struct engine *engine, const struct command *command,
                          struct outcome *outcome)
{
    uint32_t parent_id = command->u.account_create.parent_id;
    uint8_t kind = command->u.account_create.kind;
    const struct account *parent = &engine->accounts[parent_id];
    if (parent->status == ACCOUNT_STATUS_CLOSED)
        return REJECT_ACCOUNT_CLOSED;
    if (!account_kind_allowed(parent->kind, kind))
        return REJECT_ACCOUNT_KIND;
    int result = account_credit_check(engine, parent_id, 0,
                                      command->u.account_create.credit_limit_minor);
    if (result != RESULT_OK)
        return result;
    if (engine->account_count >= engine->limits.accounts_max)
        return REJECT_ACCOUNTS_FULL;
    uint32_t id = engine->account_count++;
    account_init(&engine->accounts[id], parent_id, kind, (uint8_t)(parent->depth + 1));
    engine->accounts[id].credit_limit_minor = command->u.account_create.credit_limit_minor;
    memset(&engine->secrets[id], 0, sizeof engine->secrets[id]);
    memset(&engine->commissions[id], 0, sizeof engine->commissions[id]);
    memset(&engine->credit_given[id], 0, sizeof engine->credit_given[id]);
    credit_given_add(&engine->credit_given[parent_id], engine->accounts[id].credit_limit_minor);
    outcome->id = id;
    assert(engine->accounts[id].depth <= 4);
    return RESULT_OK;
}

/* Closing is final, so nothing may be left behind in the account: no
 * money either way, no open bet, no holding, and before logic version 3
 * no open order either. From logic version 3 (LOGIC_VERSION_INACTIVE_CANCELS)
 * its open orders are cancelled by the close, so only positions that hold
 * something count: one kept alive by open orders goes with them. */
static bool account_closable(const struct engine *engine, const struct account *account)
{
    if (account->balance_minor != 0 || account->stake_open_minor != 0)
        return false;
    if (engine->logic_version < LOGIC_VERSION_INACTIVE_CANCELS)
        return account->reserved_minor == 0 && account->position_head == INDEX_NONE;
    for (uint32_t slot = account->position_head; slot != INDEX_NONE;
         slot = engine->positions[slot].next) {
        if (engine->positions[slot].quantity != 0)
            return false;
    }
    return true;
}

static int account_set_status(struct engine *engine, const struct command *command,
                              struct outcome *outcome)
{
    uint32_t id = command->u.account_set_status.account_id;
    uint8_t status = command->u.account_set_status.status;
    struct account *account = &engine->accounts[id];
    if (status >= ACCOUNT_STATUS_COUNT)
        return REJECT_STATUS_INVALID;
    if (id == ACCOUNT_HOUSE_ID)
        return REJECT_ACCOUNT_KIND;
    if (account->status == ACCOUNT_STATUS_CLOSED)
        return REJECT_ACCOUNT_CLOSED;
    if (status == ACCOUNT_STATUS_CLOSED && !account_closable(engine, account))
        return REJECT_ACCOUNT_NOT_EMPTY;
    if (status == ACCOUNT_STATUS_CLOSED)
        credit_given_add(&engine->credit_given[account->parent_id], -account->credit_limit_minor);
    account->status = status;
    engine->status_epoch = engine->status_epoch + 1 == UINT32_MAX ? 0 : engine->status_epoch + 1;
    outcome->id = id;
    /* The orders of an account that can no longer trade would still
     * trade as makers: from logic version 3 they go now, with its
     * downline's, and the outcome says how many. */
    if (status != ACCOUNT_STATUS_ACTIVE &&
        engine->logic_version >= LOGIC_VERSION_INACTIVE_CANCELS)
        outcome->value = trading_cancel_downline(engine, id);
    assert(status != ACCOUNT_STATUS_CLOSED || account->position_head == INDEX_NONE ||
           engine->logic_version < LOGIC_VERSION_INACTIVE_CANCELS);
    return RESULT_OK;
}

/* ---- Ceilings that fall (logic 3). ----
 *
 * When an account's credit limit or its PT maximum for a market type is
 * lowered, every account below it that holds more is capped to the new
 * value (LOGIC_VERSION_CEILING_CASCADE): its credit limit, or its PT
 * maximum and share for that type. Accepted bets keep their frozen
 * shares; the next bet reads the capped settings. Accounts have no child
 * lists: the downline is found by id, from the account's id up (a child
 * is always created after its parent), each checked by a walk up the tree
 * of at most four steps, so the cost is at most limits.accounts_max such
 * walks, and the events come in id order. */

static void account_emit_cap(struct engine *engine, uint32_t account_id, uint32_t ceiling_id,
                             uint16_t kind, uint8_t market_type)
{
    const struct account *account = &engine->accounts[account_id];
    struct event event;
    memset(&event, 0, sizeof event);
    event.type = EVENT_ACCOUNT_CAPPED;
    event.code = kind;
    event.account_id = account_id;
    event.id = ceiling_id;
    if (kind == CAP_PT) {
        event.u.cap.market_type = market_type;
        event.u.cap.pt_share_bp = account->pt_share_bp[market_type];
        event.u.cap.pt_max_bp = account->pt_max_bp[market_type];
    } else {
        event.u.cap.credit_limit_minor = account->credit_limit_minor;
    }
    engine_emit(engine, &event);
}

/* Caps the open downline of ceiling_id to its new credit limit. */
static void account_cap_credit(struct engine *engine, uint32_t ceiling_id)
{
    int64_t ceiling_minor = engine->accounts[ceiling_id].credit_limit_minor;
    for (uint32_t id = ceiling_id + 1; id < engine->account_count; id++) {
        struct account *account = &engine->accounts[id];
        if (account->credit_limit_minor <= ceiling_minor ||
            account->status == ACCOUNT_STATUS_CLOSED ||
            !account_is_ancestor(engine, ceiling_id, id))
            continue;
        credit_given_add(&engine->credit_given[account->parent_id],
                         ceiling_minor - account->credit_limit_minor);
        account->credit_limit_minor = ceiling_minor;
        account_emit_cap(engine, id, ceiling_id, CAP_CREDIT, 0);
    }
}

/* Caps the downline of ceiling_id to its new PT maximum for type. */
static void account_cap_pt(struct engine *engine, uint32_t ceiling_id, uint8_t type)
{
    uint16_t ceiling_bp = engine->accounts[ceiling_id].pt_max_bp[type];
    for (uint32_t id = ceiling_id + 1; id < engine->account_count; id++) {
        struct account *account = &engine->accounts[id];
        if (account->pt_max_bp[type] <= ceiling_bp || !account_is_ancestor(engine, ceiling_id, id))
            continue;
        account->pt_max_bp[type] = ceiling_bp;
        if (account->pt_share_bp[type] > ceiling_bp)
            account->pt_share_bp[type] = ceiling_bp;
        account_emit_cap(engine, id, ceiling_id, CAP_PT, type);
    }
}

static int account_set_credit(struct engine *engine, const struct command *command,
                              struct outcome *outcome)
{
    uint32_t id = command->u.account_set_credit.account_id;
    int64_t credit_minor = command->u.account_set_credit.credit_limit_minor;
    if (id == ACCOUNT_HOUSE_ID)
        return REJECT_ACCOUNT_KIND;
    struct account *account = &engine->accounts[id];
    int result = account_credit_check(engine, account->parent_id, account->credit_limit_minor,
                                      credit_minor);
    if (result != RESULT_OK)
        return result;
    credit_given_add(&engine->credit_given[account->parent_id],
                     credit_minor - account->credit_limit_minor);
    bool lowered = credit_minor < account->credit_limit_minor;
    account->credit_limit_minor = credit_minor;
    if (lowered && engine->logic_version >= LOGIC_VERSION_CEILING_CASCADE)
        account_cap_credit(engine, id);
    outcome->id = id;
    outcome->value = credit_minor;
    return RESULT_OK;
}

static int account_set_limits(struct engine *engine, const struct command *command,
                              struct outcome *outcome)
{
    const struct command_account_limits *limits = &command->u.account_set_limits;
    if (limits->order_quantity_max < 0 || limits->order_quantity_max > QUANTITY_MAX)
        return REJECT_AMOUNT_INVALID;
    if (limits->order_notional_max_minor < 0 ||
        limits->order_notional_max_minor > AMOUNT_MAX_MINOR)
        return REJECT_AMOUNT_INVALID;
    if (limits->bet_stake_max_minor < 0 || limits->bet_stake_max_minor > STAKE_MAX_MINOR)
        return REJECT_AMOUNT_INVALID;
    if (limits->exposure_limit_minor < 0 || limits->exposure_limit_minor > AMOUNT_MAX_MINOR)
        return REJECT_AMOUNT_INVALID;
    struct account *account = &engine->accounts[limits->account_id];
    account->order_quantity_max = limits->order_quantity_max;
    account->order_notional_max_minor = limits->order_notional_max_minor;
    account->bet_stake_max_minor = limits->bet_stake_max_minor;
    account->exposure_limit_minor = limits->exposure_limit_minor;
    outcome->id = limits->account_id;
    return RESULT_OK;
}

static int account_set_secret(struct engine *engine, const struct command *command,
                              struct outcome *outcome)
{
    uint32_t id = command->u.account_set_secret.account_id;
    memcpy(engine->secrets[id].salt, command->u.account_set_secret.salt, SECRET_SALT_SIZE);
    memcpy(engine->secrets[id].hash, command->u.account_set_secret.hash, SECRET_HASH_SIZE);
    engine->accounts[id].has_secret = 1;
    /* From logic version 3 a reset is a one-time secret: the account must
     * set its own before anything else (engine_authorize). */
    if (engine->logic_version >= LOGIC_VERSION_ONE_TIME_SECRET)
        engine->accounts[id].secret_one_time = command->sender_account_id != id;
    outcome->id = id;
    return RESULT_OK;
}

static int account_cash(struct engine *engine, const struct command *command,
                        struct outcome *outcome)
{
    uint32_t id = command->u.cash.account_id;
    int64_t amount_minor = command->u.cash.amount_minor;
    struct account *account = &engine->accounts[id];
    if (amount_minor <= 0 || amount_minor > AMOUNT_MAX_MINOR)
        return REJECT_AMOUNT_INVALID;
    if (id == ACCOUNT_HOUSE_ID)
        return REJECT_ACCOUNT_KIND;
    if (account->status == ACCOUNT_STATUS_CLOSED)
        return REJECT_ACCOUNT_CLOSED;
#ifdef NODOWN_TEST_DIVERGE
    /* Only in build/test/nodown-diverge (Makefile): a build whose state
     * parts from every other's, for the tests that must catch one. */
    if (amount_minor == 12345)
        amount_minor++;
#endif
    if (command->type == COMMAND_CASH_DEPOSIT) {
        if (account->balance_minor > AMOUNT_MAX_MINOR - amount_minor)
            return REJECT_AMOUNT_INVALID;
        account_transfer(engine, ACCOUNT_HOUSE_ID, id, amount_minor);
    } else {
        /* A withdrawal takes cash, never credit. */
        int64_t free_minor =
            account->balance_minor - account->reserved_minor - account->stake_open_minor;
        if (free_minor < amount_minor)
            return REJECT_FUNDS_INSUFFICIENT;
        account_transfer(engine, id, ACCOUNT_HOUSE_ID, amount_minor);
    }
    outcome->id = id;
    outcome->value = account->balance_minor;
    return RESULT_OK;
}

static int account_position_grant(struct engine *engine, const struct command *command,
                                  struct outcome *outcome)
{
    uint32_t id = command->u.position_grant.account_id;
    uint32_t instrument_id = command->u.position_grant.instrument_id;
    int64_t quantity = command->u.position_grant.quantity;
    if (instrument_id >= engine->instrument_count)
        return REJECT_INSTRUMENT_UNKNOWN;
    if (engine->accounts[id].kind != ACCOUNT_KIND_MEMBER)
        return REJECT_ACCOUNT_KIND;
    if (quantity == 0 || quantity > QUANTITY_MAX || quantity < -QUANTITY_MAX)
        return REJECT_QUANTITY_ZERO;
    uint32_t slot = position_find(engine, id, instrument_id);
    if (quantity < 0) {
        if (slot == INDEX_NONE)
            return REJECT_POSITION_INSUFFICIENT;
        const struct position *position = &engine->positions[slot];
        if (position->quantity - position->quantity_reserved < -quantity)
            return REJECT_POSITION_INSUFFICIENT;
    } else {
        slot = position_acquire(engine, id, instrument_id);
        if (slot == INDEX_NONE)
            return REJECT_POSITIONS_FULL;
    }
    uint32_t house_slot = position_acquire(engine, ACCOUNT_HOUSE_ID, instrument_id);
    if (house_slot == INDEX_NONE) {
        position_release_if_empty(engine, slot);
        return REJECT_POSITIONS_FULL;
    }
    engine->positions[slot].quantity += quantity;
    engine->positions[house_slot].quantity -= quantity;
    outcome->id = id;
    outcome->value = engine->positions[slot].quantity;
    position_release_if_empty(engine, slot);
    position_release_if_empty(engine, house_slot);
    return RESULT_OK;
}

static int account_pt_set(struct engine *engine, const struct command *command,
                          struct outcome *outcome)
{
    uint32_t id = command->u.pt_set.account_id;
    uint8_t type = command->u.pt_set.market_type;
    uint16_t share_bp = command->u.pt_set.share_bp;
    uint16_t max_bp = command->u.pt_set.max_bp;
    struct account *account = &engine->accounts[id];
    if (account->kind < ACCOUNT_KIND_SUPER || account->kind > ACCOUNT_KIND_AGENT)
        return REJECT_ACCOUNT_KIND;
    if (type >= MARKET_TYPE_COUNT)
        return REJECT_MARKET_TYPE_INVALID;
    if (share_bp > BP_ONE || max_bp > BP_ONE || share_bp > max_bp)
        return REJECT_SHARE_INVALID;
    /* "within its own limits": an ancestor grants at most its own ceiling;
     * an operator speaks for the house, whose ceiling is 100 %. */
    const struct account *sender = &engine->accounts[command->sender_account_id];
    uint16_t ceiling_bp = account_is_operator(sender) ? BP_ONE : sender->pt_max_bp[type];
    if (max_bp > ceiling_bp)
        return REJECT_SHARE_ABOVE_MAX;
    bool lowered = max_bp < account->pt_max_bp[type];
    account->pt_share_bp[type] = share_bp;
    account->pt_max_bp[type] = max_bp;
    if (lowered && engine->logic_version >= LOGIC_VERSION_CEILING_CASCADE)
        account_cap_pt(engine, id, type);
    outcome->id = id;
    outcome->value = share_bp;
    return RESULT_OK;
}

void account_apply(struct engine *engine, const struct command *command,
                   struct outcome *outcome)
{
    int result;
    /* Operator commands reach here with an unchecked target id. Create,
     * status and cash commands check a closed account themselves. */
    /* Every command here names an account; the client chose the id, and
     * INDEX_NONE (UINT32_MAX) is one more unknown one (issue 14: it stopped
     * every node). */
    uint32_t target = command_account_id(command);
    if (target >= engine->account_count) {
        outcome->result = REJECT_ACCOUNT_UNKNOWN;
        return;
    }
    bool checks_itself = command->type == COMMAND_ACCOUNT_CREATE ||
                         command->type == COMMAND_ACCOUNT_SET_STATUS ||
                         command->type == COMMAND_CASH_DEPOSIT ||
                         command->type == COMMAND_CASH_WITHDRAW;
    if (!checks_itself &&
        engine->accounts[target].status == ACCOUNT_STATUS_CLOSED) {
        outcome->result = REJECT_ACCOUNT_CLOSED;
        return;
    }
    switch (command->type) {
    case COMMAND_ACCOUNT_CREATE: result = account_create(engine, command, outcome); break;
    case COMMAND_ACCOUNT_SET_STATUS: result = account_set_status(engine, command, outcome); break;
    case COMMAND_ACCOUNT_SET_CREDIT: result = account_set_credit(engine, command, outcome); break;
    case COMMAND_ACCOUNT_SET_LIMITS: result = account_set_limits(engine, command, outcome); break;
    case COMMAND_ACCOUNT_SET_SECRET: result = account_set_secret(engine, command, outcome); break;
    case COMMAND_CASH_DEPOSIT:
    case COMMAND_CASH_WITHDRAW: result = account_cash(engine, command, outcome); break;
    case COMMAND_POSITION_GRANT: result = account_position_grant(engine, command, outcome); break;
    case COMMAND_PT_SET: result = account_pt_set(engine, command, outcome); break;
    case COMMAND_COMMISSION_SET: result = commission_set(engine, command, outcome); break;
    default: assert(!"not an account command"); result = REJECT_COMMAND_UNKNOWN; break;
    }
    outcome->result = (uint16_t)result;
}

/* Positions are found by (account, instrument) through an index table. */
struct position_key {
    uint32_t account_id;
    uint32_t instrument_id;
};

static bool position_match(const void *context, uint32_t slot, const void *key)
{
    const struct engine *engine = context;
    const struct position_key *wanted = key;
    return engine->positions[slot].account_id == wanted->account_id &&
           engine->positions[slot].instrument_id == wanted->instrument_id;
}

static uint64_t position_hash(uint32_t account_id, uint32_t instrument_id)
{
    return hash_mix64(((uint64_t)account_id << 32) | instrument_id);
}

static uint64_t position_slot_hash(const void *context, uint32_t slot)
{
    const struct engine *engine = context;
    return position_hash(engine->positions[slot].account_id,
                         engine->positions[slot].instrument_id);
}

uint32_t position_find(const struct engine *engine, uint32_t account_id, uint32_t instrument_id)
{
    /* A freed position has account_id INDEX_NONE, so a stale hint fails. */
    uint32_t hint = engine->accounts[account_id].position_hint;
    if (hint != INDEX_NONE && engine->positions[hint].account_id == account_id &&
        engine->positions[hint].instrument_id == instrument_id)
        return hint;
    struct position_key key = {account_id, instrument_id};
    uint32_t at = index_table_find(&engine->position_index,
                                   position_hash(account_id, instrument_id), position_match,
                                   engine, &key);
    return at == INDEX_NONE ? INDEX_NONE : engine->position_index.entries[at];
}

uint32_t position_acquire(struct engine *engine, uint32_t account_id, uint32_t instrument_id)
{
    uint32_t slot = position_find(engine, account_id, instrument_id);
    if (slot != INDEX_NONE)
        return slot;
    slot = pool_acquire(&engine->position_pool);
    if (slot == INDEX_NONE)
        return INDEX_NONE;
    struct position *position = &engine->positions[slot];
    memset(position, 0, sizeof *position);
    position->account_id = account_id;
    position->instrument_id = instrument_id;
    /* Keep the account's list sorted by instrument: a canonical order. */
    uint32_t *link = &engine->accounts[account_id].position_head;
    while (*link != INDEX_NONE && engine->positions[*link].instrument_id < instrument_id)
        link = &engine->positions[*link].next;
    position->next = *link;
    *link = slot;
    index_table_insert(&engine->position_index, position_hash(account_id, instrument_id), slot);
    engine->accounts[account_id].position_hint = slot;
    return slot;
}

void position_release_if_empty(struct engine *engine, uint32_t slot)
{
    struct position *position = &engine->positions[slot];
    if (position->quantity != 0 || position->quantity_reserved != 0 || position->order_count != 0)
        return;
    uint32_t *link = &engine->accounts[position->account_id].position_head;
    while (*link != slot) {
        assert(*link != INDEX_NONE);
        link = &engine->positions[*link].next;
    }
    *link = position->next;
    struct position_key key = {position->account_id, position->instrument_id};
    uint32_t at = index_table_find(&engine->position_index,
                                   position_hash(key.account_id, key.instrument_id),
                                   position_match, engine, &key);
    assert(at != INDEX_NONE);
    index_table_remove_at(&engine->position_index, at, position_slot_hash, engine);
    position->account_id = INDEX_NONE;
    pool_release(&engine->position_pool, slot);
}
