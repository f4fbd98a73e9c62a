/* Authorization of every command (see auth.h and docs/authorization.md).
 *
 * Rules, by the class of each command type:
 *   OPERATOR   markets, instruments, the daily cycle, logic versions, cash
 *              and position grants: the house or an operator account.
 *   TRADE      orders and bets: a member, for itself only (the command has
 *              no other account to act for).
 *   OWNER      cancel and replace: the member that owns the order; an
 *              operator may also cancel.
 *   DOWNLINE   status, credit, limits, auto PT, commission rate of a
 *              target account: a proper ancestor of the target, or an
 *              operator.
 *   CREATE     a new account under a parent: the parent itself, an ancestor
 *              of it, or an operator.
 *   SECRET     the target itself, a proper ancestor, or an operator.
 *   PT_LEVEL   a manual PT override: a super, master or agent, for itself.
 * The sender must exist, and it and every ancestor must be active.
 */
#include "core/auth.h"

#include <assert.h>

#include "core/account.h"
#include "core/book.h"
#include "core/engine.h"
#include "core/result.h"

enum auth_class {
    AUTH_OPERATOR,
    AUTH_TRADE,
    AUTH_OWNER,
    AUTH_DOWNLINE,
    AUTH_CREATE,
    AUTH_SECRET,
    AUTH_PT_LEVEL,
};

static enum auth_class auth_class_of(uint16_t type)
{
    switch (type) {
    case COMMAND_ACCOUNT_CREATE: return AUTH_CREATE;
    case COMMAND_ACCOUNT_SET_STATUS:
    case COMMAND_ACCOUNT_SET_CREDIT:
    case COMMAND_ACCOUNT_SET_LIMITS:
    case COMMAND_PT_SET:
    case COMMAND_COMMISSION_SET: return AUTH_DOWNLINE;
    case COMMAND_ACCOUNT_SET_SECRET: return AUTH_SECRET;
    case COMMAND_PT_OVERRIDE: return AUTH_PT_LEVEL;
    case COMMAND_ORDER_PLACE:
    case COMMAND_BET_PLACE: return AUTH_TRADE;
    case COMMAND_ORDER_CANCEL:
    case COMMAND_ORDER_REPLACE: return AUTH_OWNER;
    default: return AUTH_OPERATOR;
    }
}

/* Before logic version 3 an unknown target was refused before the
 * sender's rights were looked at, so that any sender could learn whether
 * an account or order exists. From LOGIC_VERSION_HIDDEN_TARGETS a sender
 * that may not see the target (engine_may_read: itself, its downline, or
 * everything for an operator) is told the same as for one that does not
 * exist: REJECT_ORDER_UNKNOWN for another's order (the owner of a finished
 * order is told that too: the index no longer knows whose it was), and
 * REJECT_NOT_AUTHORIZED for an account, known or not, outside its reach.
 * A sender that may see the target is still told which: an agent that
 * cancels its member's order is not authorized, an operator that names
 * an unknown account is told so. */
static bool auth_hides_unknown_account(const struct engine *engine, const struct account *sender)
{
    return engine->logic_version >= LOGIC_VERSION_HIDDEN_TARGETS && !account_is_operator(sender);
}

static int auth_owner(const struct engine *engine, const struct command *command,
                      const struct account *sender, uint32_t *order_slot)
{
    uint32_t slot = order_find(engine, command_order_id(command));
    if (slot == INDEX_NONE)
        return REJECT_ORDER_UNKNOWN;
    uint32_t owner_id = engine->orders[slot].account_id;
    if (engine->logic_version >= LOGIC_VERSION_HIDDEN_TARGETS &&
        !engine_may_read(engine, command->sender_account_id, owner_id))
        return REJECT_ORDER_UNKNOWN;
    *order_slot = slot;
    if (owner_id == command->sender_account_id)
        return RESULT_OK;
    if (command->type == COMMAND_ORDER_CANCEL && account_is_operator(sender))
        return RESULT_OK;
    return REJECT_NOT_AUTHORIZED;
}

static int auth_account(const struct engine *engine, const struct command *command,
                        enum auth_class class, const struct account *sender)
{
    /* The id is the client's: INDEX_NONE (UINT32_MAX) is just one more
     * unknown account, never an assertion (issue 14: it stopped every node). */
    uint32_t target_id = command_account_id(command);
    assert(class != AUTH_OPERATOR && class != AUTH_TRADE && class != AUTH_OWNER);
    if (target_id >= engine->account_count)
        return auth_hides_unknown_account(engine, sender) ? REJECT_NOT_AUTHORIZED
                                                         : REJECT_ACCOUNT_UNKNOWN;
    if (account_is_operator(sender))
        return RESULT_OK;
    uint32_t sender_id = command->sender_account_id;
    if (account_is_ancestor(engine, sender_id, target_id))
        return RESULT_OK;
    if (target_id == sender_id && (class == AUTH_CREATE || class == AUTH_SECRET))
        return RESULT_OK;
    return REJECT_NOT_AUTHORIZED;
}

int auth_check(const struct engine *engine, const struct command *command,
               uint32_t *order_slot)
{
    *order_slot = INDEX_NONE;
    uint32_t sender_id = command->sender_account_id;
    if (sender_id >= engine->account_count)
        return REJECT_SENDER_UNKNOWN;
    if (!account_chain_active(engine, sender_id))
        return REJECT_SENDER_INACTIVE;
    const struct account *sender = &engine->accounts[sender_id];
    enum auth_class class = auth_class_of(command->type);
    switch (class) {
    case AUTH_OPERATOR:
        return account_is_operator(sender) ? RESULT_OK : REJECT_NOT_AUTHORIZED;
    case AUTH_TRADE:
        return sender->kind == ACCOUNT_KIND_MEMBER ? RESULT_OK : REJECT_NOT_AUTHORIZED;
    case AUTH_OWNER:
        return auth_owner(engine, command, sender, order_slot);
    case AUTH_PT_LEVEL:
        return sender->kind >= ACCOUNT_KIND_SUPER && sender->kind <= ACCOUNT_KIND_AGENT
                   ? RESULT_OK
                   : REJECT_NOT_AUTHORIZED;
    default:
        return auth_account(engine, command, class, sender);
    }
}

int engine_may_read(const struct engine *engine, uint32_t reader_id, uint32_t target_id)
{
    if (reader_id >= engine->account_count || target_id >= engine->account_count)
        return 0;
    if (reader_id == target_id || account_is_operator(&engine->accounts[reader_id]))
        return 1;
    return account_is_ancestor(engine, reader_id, target_id) ? 1 : 0;
}
