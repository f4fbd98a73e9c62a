/* Accounts and positions: the tree house -> super -> master -> agent ->
 * member, balances and credit, holdings per instrument, and the commands
 * that manage them (create, status, credit, limits, secret, cash, position
 * grant, PT settings). Authorization happens before, in auth.c.
 */
#ifndef NODOWN_CORE_ACCOUNT_H
#define NODOWN_CORE_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/state.h"

#define ACCOUNT_HOUSE_ID 0u

static inline struct account *account_get(const struct engine *engine, uint32_t account_id)
{
    if (account_id >= engine->account_count)
        return 0;
    return &engine->accounts[account_id];
}

/* Is ancestor_id a proper ancestor of account_id? */
bool account_is_ancestor(const struct engine *engine, uint32_t ancestor_id,
                         uint32_t account_id);

/* Are the account and all its ancestors active? The walk up the tree. */
bool account_chain_walk(const struct engine *engine, uint32_t account_id);

/* The same, cached per account until the next status change anywhere
 * (engine->status_epoch): statuses change rarely, commands check them
 * every time. The cache is not state; a restored engine starts cold. */
static inline bool account_chain_active(const struct engine *engine, uint32_t account_id)
{
    struct account *account = &engine->accounts[account_id];
    if (account->chain_epoch != engine->status_epoch) {
        account->chain_active = account_chain_walk(engine, account_id);
        account->chain_epoch = engine->status_epoch;
    }
    return account->chain_active;
}

static inline bool account_is_operator(const struct account *account)
{
    return account->kind == ACCOUNT_KIND_HOUSE || account->kind == ACCOUNT_KIND_OPERATOR;
}

static inline int64_t account_available_minor(const struct account *account)
{
    return account->balance_minor + account->credit_limit_minor - account->reserved_minor -
           account->stake_open_minor;
}

/* Moves amount_minor from one account's balance to another's. */
static inline void account_transfer(struct engine *engine, uint32_t from_id, uint32_t to_id,
                                    int64_t amount_minor)
{
    engine->accounts[from_id].balance_minor -= amount_minor;
    engine->accounts[to_id].balance_minor += amount_minor;
}

/* Recomputes every parent's credit_given from the accounts (after a
 * snapshot is decoded: it is derived, not encoded). */
void account_credit_given_rebuild(struct engine *engine);

/* Creates the house; called by engine_init and snapshot decode. */
void account_create_house(struct engine *engine);

/* Account, cash, position-grant, PT_SET and COMMISSION_SET commands. */
void account_apply(struct engine *engine, const struct command *command,
                   struct outcome *outcome);

/* May an account of kind be opened under a parent of parent_kind? (The
 * client asks it too, to say which kinds a parent takes.) */
bool account_kind_allowed(uint8_t parent_kind, uint8_t kind);

/* The position slot of (account, instrument), or INDEX_NONE. */
uint32_t position_find(const struct engine *engine, uint32_t account_id,
                       uint32_t instrument_id);

/* Finds or creates it; INDEX_NONE when the pool is full. */
uint32_t position_acquire(struct engine *engine, uint32_t account_id, uint32_t instrument_id);

/* Frees the position when it holds nothing and reserves nothing, so that a
 * closed-out holding leaves no trace in the state. */
void position_release_if_empty(struct engine *engine, uint32_t slot);

#endif
