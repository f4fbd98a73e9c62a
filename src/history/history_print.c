/* `nodown history`'s rows as text, JSON lines or CSV (history_print.h). */
#include "history/history_print.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "core/result.h"

/* Every field a row can have, in the CSV's column order. */
#define HISTORY_FIELDS(X)                                                                     \
    X(type) X(result) X(code) X(account) X(sender) X(client_id) X(client_seq) X(duplicate)    \
    X(order) X(bet) X(instrument) X(market) X(side) X(price_ticks) X(quantity)              \
    X(quantity_open) X(quantity_filled) X(client_order_id) X(maker_account) X(maker_order)  \
    X(maker_fee_minor) X(taker_fee_minor) X(selection) X(odds_milli) X(stake_minor)         \
    X(payout_minor) X(status) X(amount_minor) X(balance_minor) X(credit_limit_minor)        \
    X(reserved_minor) X(stake_open_minor) X(positions_value_minor) X(day_change_minor)      \
    X(day_fees_minor) X(turnover_minor) X(parent) X(kind) X(share_bp) X(max_bp) X(rate_bp) \
    X(trading_date) X(logic_version) X(outcome_id) X(outcome_value) X(commands) X(orders)  \
    X(trades) X(traded_quantity) X(fees_minor) X(bets) X(first_seq) X(last_seq)

enum history_field {
#define FIELD_ENUM(name) FIELD_##name,
    HISTORY_FIELDS(FIELD_ENUM)
#undef FIELD_ENUM
    FIELD_COUNT
};

static const char *const FIELD_NAMES[FIELD_COUNT] = {
#define FIELD_NAME(name) #name,
    HISTORY_FIELDS(FIELD_NAME)
#undef FIELD_NAME
};

/* A row's fields: a number, or a text (names of types and results). */
struct history_fields {
    bool set[FIELD_COUNT];
    int64_t value[FIELD_COUNT];
    const char *text[FIELD_COUNT];
};

static void set(struct history_fields *f, enum history_field field, int64_t value)
{
    f->set[field] = true;
    f->value[field] = value;
}

static void set_text(struct history_fields *f, enum history_field field, const char *text)
{
    f->set[field] = true;
    f->text[field] = text;
}

static const char *const EVENT_NAMES[EVENT_TYPE_COUNT] = {
    [EVENT_ORDER_ACCEPTED] = "order_accepted", [EVENT_TRADE] = "trade",
    [EVENT_ORDER_DONE] = "order_done",         [EVENT_ORDER_REPLACED] = "order_replaced",
    [EVENT_BET_ACCEPTED] = "bet_accepted",     [EVENT_BET_SETTLED] = "bet_settled",
    [EVENT_ODDS] = "odds",                     [EVENT_DAY] = "day",
    [EVENT_STATEMENT] = "statement",           [EVENT_COMMISSION] = "commission",
    [EVENT_ACCOUNT_CAPPED] = "account_capped",
};

const char *history_event_type_name(uint32_t type)
{
    return type < EVENT_TYPE_COUNT && EVENT_NAMES[type] != NULL ? EVENT_NAMES[type] : "unknown";
}

static void history_event_fields(const struct event *e, struct history_fields *f)
{
    set_text(f, FIELD_type, history_event_type_name(e->type));
    set(f, FIELD_code, e->code);
    set(f, FIELD_account, e->account_id);
    switch (e->type) {
    case EVENT_TRADE:
        set(f, FIELD_order, (int64_t)e->id);
        set(f, FIELD_instrument, e->u.trade.instrument_id);
        set(f, FIELD_maker_account, e->u.trade.maker_account_id);
        set(f, FIELD_maker_order, (int64_t)e->u.trade.maker_order_id);
        set(f, FIELD_side, e->u.trade.taker_side);
        set(f, FIELD_price_ticks, e->u.trade.price_ticks);
        set(f, FIELD_quantity, e->u.trade.quantity);
        set(f, FIELD_maker_fee_minor, e->u.trade.maker_fee_minor);
        set(f, FIELD_taker_fee_minor, e->u.trade.taker_fee_minor);
        break;
    case EVENT_ORDER_ACCEPTED:
    case EVENT_ORDER_DONE:
    case EVENT_ORDER_REPLACED:
        set(f, FIELD_order, (int64_t)e->id);
        set(f, FIELD_instrument, e->u.order.instrument_id);
        set(f, FIELD_side, e->u.order.side);
        set(f, FIELD_price_ticks, e->u.order.price_ticks);
        set(f, FIELD_quantity_open, e->u.order.quantity_open);
        set(f, FIELD_quantity_filled, e->u.order.quantity_filled);
        set(f, FIELD_client_order_id, (int64_t)e->u.order.client_order_id);
        break;
    case EVENT_BET_ACCEPTED:
    case EVENT_BET_SETTLED:
        set(f, FIELD_bet, (int64_t)e->id);
        set(f, FIELD_market, e->u.bet.market_id);
        set(f, FIELD_selection, e->u.bet.selection);
        set(f, FIELD_odds_milli, e->u.bet.odds_milli);
        set(f, FIELD_stake_minor, e->u.bet.stake_minor);
        set(f, FIELD_payout_minor, e->u.bet.payout_minor);
        break;
    case EVENT_COMMISSION:
        set(f, FIELD_bet, (int64_t)e->id);
        set(f, FIELD_market, e->u.commission.market_id);
        set(f, FIELD_turnover_minor, e->u.commission.turnover_minor);
        break;
    case EVENT_ODDS:
        set(f, FIELD_market, (int64_t)e->id);
        set(f, FIELD_status, e->u.odds.status);
        set(f, FIELD_odds_milli, e->u.odds.odds_milli[0]);
        break;
    case EVENT_STATEMENT:
        set(f, FIELD_balance_minor, e->u.statement.balance_minor);
        set(f, FIELD_credit_limit_minor, e->u.statement.credit_limit_minor);
        set(f, FIELD_positions_value_minor, e->u.statement.positions_value_minor);
        set(f, FIELD_day_change_minor, e->u.statement.day_change_minor);
        set(f, FIELD_day_fees_minor, e->u.statement.day_fees_minor);
        break;
    case EVENT_ACCOUNT_CAPPED:
        set(f, FIELD_parent, (int64_t)e->id);
        set(f, FIELD_share_bp, e->u.cap.pt_share_bp);
        set(f, FIELD_max_bp, e->u.cap.pt_max_bp);
        set(f, FIELD_credit_limit_minor, e->u.cap.credit_limit_minor);
        break;
    case EVENT_DAY:
        set(f, FIELD_trading_date, (int64_t)e->id);
        break;
    default:
        break;
    }
}

/* The fields a command names beyond its sender and outcome. */
static void history_command_body(const struct command *c, struct history_fields *f)
{
    if (command_names_account(c->type) && command_account_id(c) != INDEX_NONE)
        set(f, c->type == COMMAND_ACCOUNT_CREATE ? FIELD_parent : FIELD_account,
            command_account_id(c));
    if (command_order_id(c) != 0)
        set(f, FIELD_order, (int64_t)command_order_id(c));
    switch (c->type) {
    case COMMAND_ORDER_PLACE:
        set(f, FIELD_instrument, c->u.order_place.instrument_id);
        set(f, FIELD_side, c->u.order_place.side);
        set(f, FIELD_price_ticks, c->u.order_place.price_ticks);
        set(f, FIELD_quantity, c->u.order_place.quantity);
        set(f, FIELD_client_order_id, (int64_t)c->u.order_place.client_order_id);
        break;
    case COMMAND_ORDER_REPLACE:
        set(f, FIELD_price_ticks, c->u.order_replace.price_ticks);
        set(f, FIELD_quantity, c->u.order_replace.quantity);
        break;
    case COMMAND_BET_PLACE:
        set(f, FIELD_market, c->u.bet_place.market_id);
        set(f, FIELD_selection, c->u.bet_place.selection);
        set(f, FIELD_odds_milli, c->u.bet_place.odds_milli);
        set(f, FIELD_stake_minor, c->u.bet_place.stake_minor);
        break;
    case COMMAND_CASH_DEPOSIT:
    case COMMAND_CASH_WITHDRAW:
        set(f, FIELD_amount_minor, c->u.cash.amount_minor);
        break;
    case COMMAND_ACCOUNT_CREATE:
        set_text(f, FIELD_kind, account_kind_name((enum account_kind)c->u.account_create.kind));
        set(f, FIELD_credit_limit_minor, c->u.account_create.credit_limit_minor);
        break;
    case COMMAND_ACCOUNT_SET_STATUS:
        set(f, FIELD_status, c->u.account_set_status.status);
        break;
    case COMMAND_ACCOUNT_SET_CREDIT:
        set(f, FIELD_credit_limit_minor, c->u.account_set_credit.credit_limit_minor);
        break;
    case COMMAND_PT_SET:
        set(f, FIELD_share_bp, c->u.pt_set.share_bp);
        set(f, FIELD_max_bp, c->u.pt_set.max_bp);
        break;
    case COMMAND_COMMISSION_SET:
        set(f, FIELD_rate_bp, c->u.commission_set.rate_bp);
        break;
    case COMMAND_DAY_START:
    case COMMAND_DAY_END:
        set(f, FIELD_trading_date, c->u.day.trading_date);
        break;
    case COMMAND_ACTIVATE_LOGIC:
        set(f, FIELD_logic_version, c->u.activate_logic.logic_version);
        break;
    default:
        break;
    }
}

static void history_row_fields(const struct history_row *row, struct history_fields *f)
{
    memset(f, 0, sizeof *f);
    switch (row->kind) {
    case HISTORY_ROW_COMMAND:
        set_text(f, FIELD_type, command_type_name((enum command_type)row->command.type));
        set_text(f, FIELD_result, result_name(row->outcome.result));
        set(f, FIELD_sender, row->command.sender_account_id);
        set(f, FIELD_client_id, (int64_t)row->command.client_id);
        set(f, FIELD_client_seq, (int64_t)row->command.client_seq);
        set(f, FIELD_duplicate, row->outcome.duplicate);
        set(f, FIELD_outcome_id, (int64_t)row->outcome.id);
        set(f, FIELD_outcome_value, row->outcome.value);
        history_command_body(&row->command, f);
        break;
    case HISTORY_ROW_EVENT:
        history_event_fields(&row->event, f);
        break;
    case HISTORY_ROW_BALANCE:
        set(f, FIELD_account, row->balance.account_id);
        set(f, FIELD_balance_minor, row->balance.balance_minor);
        set(f, FIELD_credit_limit_minor, row->balance.credit_limit_minor);
        set(f, FIELD_reserved_minor, row->balance.reserved_minor);
        set(f, FIELD_stake_open_minor, row->balance.stake_open_minor);
        break;
    default: {
        const struct history_summary *s = &row->summary;
        set(f, FIELD_trading_date, s->trading_date);
        set(f, FIELD_account, s->account_id);
        set(f, FIELD_parent, s->parent_id);
        set_text(f, FIELD_kind, account_kind_name((enum account_kind)s->kind));
        const int64_t values[] = {s->commands,   s->orders,      s->trades,
                                  s->traded_quantity, s->fees_minor, s->bets,
                                  s->stake_minor, s->payout_minor, s->balance_minor,
                                  (int64_t)s->first_seq, (int64_t)s->last_seq};
        const enum history_field fields[] = {
            FIELD_commands,    FIELD_orders,       FIELD_trades,        FIELD_traded_quantity,
            FIELD_fees_minor,  FIELD_bets,         FIELD_stake_minor,   FIELD_payout_minor,
            FIELD_balance_minor, FIELD_first_seq,  FIELD_last_seq};
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
            set(f, fields[i], values[i]);
    }
    }
}

static const char *const KIND_NAMES[] = {"command", "event", "balance", "summary"};

/* The stream's stored time, UTC to the millisecond. */
static void history_time(uint64_t time_ns, char *text, size_t size)
{
    time_t seconds = (time_t)(time_ns / 1000000000u);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    size_t used = strftime(text, size, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(text + used, size - used, ".%03uZ", (unsigned)(time_ns / 1000000u % 1000u));
}

void history_print_begin(FILE *out, enum history_format format)
{
    if (format != HISTORY_CSV)
        return;
    fprintf(out, "seq,time,index,row");
    for (int i = 0; i < FIELD_COUNT; i++)
        fprintf(out, ",%s", FIELD_NAMES[i]);
    fputc('\n', out);
}

void history_print_row(FILE *out, enum history_format format, const struct history_row *row)
{
    struct history_fields f;
    history_row_fields(row, &f);
    char time_text[40] = "";
    if (row->time_ns != 0)
        history_time(row->time_ns, time_text, sizeof time_text);
    const char *kind = KIND_NAMES[row->kind < 4 ? row->kind : 3];
    bool has_index = row->index != FEED_INDEX_NONE && row->kind <= HISTORY_ROW_EVENT;
    if (format == HISTORY_JSON)
        fprintf(out, "{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"row\":\"%s\"", row->seq,
                time_text, kind);
    else if (format == HISTORY_CSV)
        fprintf(out, "%" PRIu64 ",%s,", row->seq, time_text);
    else
        fprintf(out, "%8" PRIu64 " %s %-7s", row->seq, time_text, kind);
    if (has_index && format == HISTORY_JSON)
        fprintf(out, ",\"index\":%u", row->index);
    else if (has_index && format == HISTORY_CSV)
        fprintf(out, "%u", row->index);
    else if (has_index)
        fprintf(out, " #%-4u", row->index);
    else if (format == HISTORY_TEXT)
        fprintf(out, "      ");
    if (format == HISTORY_CSV)
        fprintf(out, ",%s", kind);
    for (int i = 0; i < FIELD_COUNT; i++) {
        bool text = f.text[i] != NULL;
        if (format == HISTORY_CSV) {
            if (!f.set[i])
                fputc(',', out);
            else if (text)
                fprintf(out, ",%s", f.text[i]);
            else
                fprintf(out, ",%" PRId64, f.value[i]);
        } else if (f.set[i] && format == HISTORY_JSON) {
            if (text)
                fprintf(out, ",\"%s\":\"%s\"", FIELD_NAMES[i], f.text[i]);
            else
                fprintf(out, ",\"%s\":%" PRId64, FIELD_NAMES[i], f.value[i]);
        } else if (f.set[i]) {
            if (text && i == FIELD_type)
                fprintf(out, " %s", f.text[i]);
            else if (text)
                fprintf(out, " %s=%s", FIELD_NAMES[i], f.text[i]);
            else
                fprintf(out, " %s=%" PRId64, FIELD_NAMES[i], f.value[i]);
        }
    }
    fputs(format == HISTORY_JSON ? "}\n" : "\n", out);
}
