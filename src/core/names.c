/* Names and texts of results, errors, commands and account kinds: the one
 * place that turns the X-macros and enums into words; and which account a
 * command acts on, which authorization and the account commands share. */
#include <stddef.h>

#include "core/command.h"
#include "core/result.h"

const char *err_text(int error_code)
{
    switch (error_code) {
#define ERROR_TEXT(name, value, text) case value: return text;
    ERRORS(ERROR_TEXT)
#undef ERROR_TEXT
    default: return "unknown error";
    }
}

const char *err_name(int error_code)
{
    switch (error_code) {
#define ERROR_NAME(name, value, text) case value: return #name;
    ERRORS(ERROR_NAME)
#undef ERROR_NAME
    default: return "ERR_UNKNOWN";
    }
}

const char *result_text(int result_code)
{
    switch (result_code) {
#define REJECT_TEXT(name, value, text) case value: return text;
    REJECTS(REJECT_TEXT)
#undef REJECT_TEXT
    default: return "unknown result";
    }
}

const char *result_name(int result_code)
{
    switch (result_code) {
#define REJECT_NAME(name, value, text) case value: return #name;
    REJECTS(REJECT_NAME)
#undef REJECT_NAME
    default: return "RESULT_UNKNOWN";
    }
}

const char *command_type_name(enum command_type type)
{
    static const char *const names[COMMAND_TYPE_COUNT] = {
        "none", "account-create", "account-set-status", "account-set-credit",
        "account-set-limits", "account-set-secret", "cash-deposit", "cash-withdraw",
        "position-grant", "pt-set", "pt-override", "instrument-create",
        "instrument-set-phase", "instrument-set-reference", "order-place", "order-cancel",
        "order-replace", "sport-event-create", "market-create", "market-set-odds",
        "market-set-status", "market-settle", "bet-place", "day-start", "day-end",
        "activate-logic", "commission-set",
    };
    return (unsigned)type < COMMAND_TYPE_COUNT ? names[type] : "unknown";
}

uint32_t command_account_id(const struct command *command)
{
    switch (command->type) {
    case COMMAND_ACCOUNT_CREATE: return command->u.account_create.parent_id;
    case COMMAND_ACCOUNT_SET_STATUS: return command->u.account_set_status.account_id;
    case COMMAND_ACCOUNT_SET_CREDIT: return command->u.account_set_credit.account_id;
    case COMMAND_ACCOUNT_SET_LIMITS: return command->u.account_set_limits.account_id;
    case COMMAND_ACCOUNT_SET_SECRET: return command->u.account_set_secret.account_id;
    case COMMAND_PT_SET: return command->u.pt_set.account_id;
    case COMMAND_COMMISSION_SET: return command->u.commission_set.account_id;
    case COMMAND_POSITION_GRANT: return command->u.position_grant.account_id;
    case COMMAND_CASH_DEPOSIT:
    case COMMAND_CASH_WITHDRAW: return command->u.cash.account_id;
    default: return INDEX_NONE;
    }
}

bool command_names_account(uint16_t type)
{
    struct command probe = {.type = type}; /* every account field 0 */
    return command_account_id(&probe) != INDEX_NONE;
}

uint64_t command_order_id(const struct command *command)
{
    if (command->type == COMMAND_ORDER_CANCEL)
        return command->u.order_cancel.order_id;
    if (command->type == COMMAND_ORDER_REPLACE)
        return command->u.order_replace.order_id;
    return 0;
}

const char *account_kind_name(enum account_kind kind)
{
    static const char *const names[ACCOUNT_KIND_COUNT] = {
        "house", "super", "master", "agent", "member", "operator",
    };
    return (unsigned)kind < ACCOUNT_KIND_COUNT ? names[kind] : "unknown";
}
