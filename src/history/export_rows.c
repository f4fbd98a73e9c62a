/* The export's tables and each feed record's rows, in COPY's text format
 * (docs/export.md gives every table, column, unit and key). Every column
 * is an integer, so a row is digits, tabs, \N for NULL and a newline. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "history/export_internal.h"

static const char EXPORT_SCHEMA_1[] =
    "CREATE TABLE export_position(id smallint PRIMARY KEY CHECK (id = 1),"
    " last_seq bigint NOT NULL, format_version integer NOT NULL,"
    " schema_version integer NOT NULL, schema_seq bigint NOT NULL);"
    "INSERT INTO export_position VALUES (1, 0, 1, 1, 0);"
    "CREATE TABLE messages(seq bigint PRIMARY KEY, time_ns bigint NOT NULL,"
    " commands integer NOT NULL, events integer NOT NULL, logic_version integer NOT NULL);"
    "CREATE TABLE orders(seq bigint, n integer, cmd integer NOT NULL, event smallint NOT NULL,"
    " code smallint NOT NULL, order_id bigint NOT NULL, account_id bigint NOT NULL,"
    " instrument_id bigint NOT NULL, side smallint NOT NULL, price_ticks bigint NOT NULL,"
    " quantity_open bigint NOT NULL, quantity_filled bigint NOT NULL,"
    " client_order_id bigint NOT NULL, PRIMARY KEY (seq, n));"
    "CREATE TABLE trades(seq bigint, n integer, cmd integer NOT NULL,"
    " instrument_id bigint NOT NULL, taker_order_id bigint NOT NULL,"
    " taker_account_id bigint NOT NULL, taker_side smallint NOT NULL,"
    " maker_order_id bigint NOT NULL, maker_account_id bigint NOT NULL,"
    " price_ticks bigint NOT NULL, quantity bigint NOT NULL, maker_fee_minor bigint NOT NULL,"
    " taker_fee_minor bigint NOT NULL, PRIMARY KEY (seq, n));"
    "CREATE TABLE bets(seq bigint, n integer, cmd integer NOT NULL, bet_id bigint NOT NULL,"
    " account_id bigint NOT NULL, market_id bigint NOT NULL, selection smallint NOT NULL,"
    " odds_milli integer NOT NULL, stake_minor bigint NOT NULL,"
    " share_agent_bp integer NOT NULL, share_master_bp integer NOT NULL,"
    " share_super_bp integer NOT NULL, share_house_bp integer NOT NULL,"
    " PRIMARY KEY (seq, n));"
    "CREATE TABLE settlements(seq bigint, n integer, cmd integer NOT NULL,"
    " bet_id bigint NOT NULL, account_id bigint NOT NULL, market_id bigint NOT NULL,"
    " selection smallint NOT NULL, result smallint NOT NULL, odds_milli integer NOT NULL,"
    " stake_minor bigint NOT NULL, payout_minor bigint NOT NULL, PRIMARY KEY (seq, n));"
    "CREATE TABLE balances(seq bigint, account_id bigint, parent_id bigint NOT NULL,"
    " kind smallint NOT NULL, status smallint NOT NULL, balance_minor bigint NOT NULL,"
    " credit_limit_minor bigint NOT NULL, reserved_minor bigint NOT NULL,"
    " stake_open_minor bigint NOT NULL, PRIMARY KEY (seq, account_id));"
    "CREATE TABLE account_changes(seq bigint, cmd integer, type smallint NOT NULL,"
    " sender_id bigint NOT NULL, account_id bigint NOT NULL, parent_id bigint,"
    " kind smallint, status smallint, amount_minor bigint, instrument_id bigint,"
    " quantity bigint, market_type smallint, share_bp integer, max_bp integer,"
    " PRIMARY KEY (seq, cmd));";

/* Schema 2 (logic version 3): commission. */
static const char EXPORT_SCHEMA_2[] =
    "ALTER TABLE account_changes ADD COLUMN rate_bp integer;"
    "CREATE TABLE commissions(seq bigint, n integer, cmd integer NOT NULL,"
    " bet_id bigint NOT NULL, account_id bigint NOT NULL, market_id bigint NOT NULL,"
    " result smallint NOT NULL, turnover_minor bigint NOT NULL,"
    " earned_member_minor bigint NOT NULL, earned_agent_minor bigint NOT NULL,"
    " earned_master_minor bigint NOT NULL, earned_super_minor bigint NOT NULL,"
    " paid_agent_minor bigint NOT NULL, paid_master_minor bigint NOT NULL,"
    " paid_super_minor bigint NOT NULL, paid_house_minor bigint NOT NULL,"
    " PRIMARY KEY (seq, n));";

static const char *const EXPORT_COPY[EXPORT_TABLE_COUNT] = {
    [EXPORT_MESSAGES] = "COPY messages FROM STDIN",
    [EXPORT_ORDERS] = "COPY orders FROM STDIN",
    [EXPORT_TRADES] = "COPY trades FROM STDIN",
    [EXPORT_BETS] = "COPY bets FROM STDIN",
    [EXPORT_SETTLEMENTS] = "COPY settlements FROM STDIN",
    [EXPORT_BALANCES] = "COPY balances FROM STDIN",
    [EXPORT_ACCOUNT_CHANGES] = "COPY account_changes (seq, cmd, type, sender_id, account_id,"
                               " parent_id, kind, status, amount_minor, instrument_id, quantity,"
                               " market_type, share_bp, max_bp) FROM STDIN",
    [EXPORT_COMMISSIONS] = "COPY commissions FROM STDIN",
};

static const char EXPORT_COPY_ACCOUNT_CHANGES_2[] =
    "COPY account_changes (seq, cmd, type, sender_id, account_id, parent_id, kind, status,"
    " amount_minor, instrument_id, quantity, market_type, share_bp, max_bp, rate_bp)"
    " FROM STDIN";

int export_exec(PGconn *conn, const char *sql, char *errmsg, size_t errmsg_size)
{
    assert(conn != NULL);
    PGresult *result = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(result);
    int rv = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : ERR_IO;
    if (rv != 0)
        snprintf(errmsg, errmsg_size, "%.40s...: %s", sql, PQerrorMessage(conn));
    PQclear(result);
    return rv;
}

static int export_schema_comment(PGconn *conn, uint32_t version, char *errmsg, size_t size)
{
    static const char *const names[] = {"export_position", "messages", "orders", "trades",
                                        "bets", "settlements", "balances", "account_changes",
                                        "commissions"};
    int rv = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && rv == 0; i++) {
        if (version < 2 && strcmp(names[i], "commissions") == 0)
            continue;
        char sql[160];
        snprintf(sql, sizeof sql, "COMMENT ON TABLE %s IS 'nodown export schema %u'", names[i],
                 version);
        rv = export_exec(conn, sql, errmsg, size);
    }
    return rv;
}

int export_schema_create(PGconn *conn, char *errmsg, size_t errmsg_size)
{
    int rv = export_exec(conn, "BEGIN; SELECT pg_advisory_xact_lock(7400742)", errmsg,
                         errmsg_size);
    if (rv != 0)
        return rv;
    PGresult *result = PQexec(conn, "SELECT to_regclass('export_position') IS NULL");
    bool missing = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1 &&
                   strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    if (missing)
        rv = export_exec(conn, EXPORT_SCHEMA_1, errmsg, errmsg_size);
    if (missing && rv == 0)
        rv = export_schema_comment(conn, 1, errmsg, errmsg_size);
    if (rv == 0)
        return export_exec(conn, "COMMIT", errmsg, errmsg_size);
    char ignored[64];
    export_exec(conn, "ROLLBACK", ignored, sizeof ignored);
    return rv;
}

int export_schema_migrate(PGconn *conn, char *errmsg, size_t errmsg_size)
{
    int rv = export_exec(conn, EXPORT_SCHEMA_2, errmsg, errmsg_size);
    return rv == 0 ? export_schema_comment(conn, 2, errmsg, errmsg_size) : rv;
}

const char *export_copy_sql(enum export_table table, uint32_t schema_version)
{
    assert(table < EXPORT_TABLE_COUNT);
    if (table == EXPORT_ACCOUNT_CHANGES && schema_version >= 2)
        return EXPORT_COPY_ACCOUNT_CHANGES_2;
    return EXPORT_COPY[table];
}

/* ---- Rows. ---- */

/* Room for one more row of at most 24 columns. */
static struct export_buffer *export_row(struct export *export, enum export_table table)
{
    struct export_buffer *buffer = &export->tables[table];
    if (buffer->size - buffer->used < 24 * 21) {
        size_t size = buffer->size * 2;
        char *data = realloc(buffer->data, size);
        if (data == NULL)
            return NULL;
        buffer->data = data;
        buffer->size = size;
    }
    export->txn_rows++;
    return buffer;
}

static void put_i64(struct export_buffer *buffer, int64_t value)
{
    assert(buffer->size - buffer->used >= 21); /* export_row made room for the row */
    char digits[20];
    uint64_t magnitude = value < 0 ? 0u - (uint64_t)value : (uint64_t)value;
    int count = 0;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    char *out = buffer->data + buffer->used;
    if (value < 0)
        *out++ = '-';
    while (count > 0)
        *out++ = digits[--count];
    *out++ = '\t';
    buffer->used = (size_t)(out - buffer->data);
}

static void put_null(struct export_buffer *buffer)
{
    memcpy(buffer->data + buffer->used, "\\N\t", 3);
    buffer->used += 3;
}

/* The row's last column written: its tab becomes the newline. */
static void row_end(struct export_buffer *buffer)
{
    assert(buffer->used > 0 && buffer->data[buffer->used - 1] == '\t');
    buffer->data[buffer->used - 1] = '\n';
}

/* seq, n, cmd: the first columns of every event's row. */
static struct export_buffer *event_row(struct export *export, enum export_table table,
                                       const struct feed_record *record)
{
    struct export_buffer *buffer = export_row(export, table);
    if (buffer == NULL)
        return NULL;
    put_i64(buffer, (int64_t)record->stream_seq);
    put_i64(buffer, export->batch_events);
    put_i64(buffer, record->index);
    return buffer;
}

static void export_order(struct export_buffer *b, const struct event *event)
{
    put_i64(b, event->type);
    put_i64(b, event->code);
    put_i64(b, (int64_t)event->id);
    put_i64(b, event->account_id);
    put_i64(b, event->u.order.instrument_id);
    put_i64(b, event->u.order.side);
    put_i64(b, event->u.order.price_ticks);
    put_i64(b, event->u.order.quantity_open);
    put_i64(b, event->u.order.quantity_filled);
    put_i64(b, (int64_t)event->u.order.client_order_id);
}

static void export_trade(struct export_buffer *b, const struct event *event)
{
    put_i64(b, event->u.trade.instrument_id);
    put_i64(b, (int64_t)event->id);
    put_i64(b, event->account_id);
    put_i64(b, event->u.trade.taker_side);
    put_i64(b, (int64_t)event->u.trade.maker_order_id);
    put_i64(b, event->u.trade.maker_account_id);
    put_i64(b, event->u.trade.price_ticks);
    put_i64(b, event->u.trade.quantity);
    put_i64(b, event->u.trade.maker_fee_minor);
    put_i64(b, event->u.trade.taker_fee_minor);
}

static void export_bet(struct export_buffer *b, const struct event *event)
{
    put_i64(b, (int64_t)event->id);
    put_i64(b, event->account_id);
    put_i64(b, event->u.bet.market_id);
    put_i64(b, event->u.bet.selection);
    if (event->type == EVENT_BET_SETTLED)
        put_i64(b, event->code);
    put_i64(b, event->u.bet.odds_milli);
    put_i64(b, event->u.bet.stake_minor);
    if (event->type == EVENT_BET_SETTLED) {
        put_i64(b, event->u.bet.payout_minor);
        return;
    }
    for (uint32_t i = 0; i < PT_LEVELS; i++)
        put_i64(b, event->u.bet.shares_bp[i]);
}

static void export_commission(struct export_buffer *b, const struct event *event)
{
    put_i64(b, (int64_t)event->id);
    put_i64(b, event->account_id);
    put_i64(b, event->u.commission.market_id);
    put_i64(b, event->code);
    put_i64(b, event->u.commission.turnover_minor);
    for (uint32_t i = 0; i < COMMISSION_LEVELS; i++)
        put_i64(b, event->u.commission.earned_minor[i]);
    for (uint32_t i = 0; i < PT_LEVELS; i++)
        put_i64(b, event->u.commission.paid_minor[i]);
}

static int export_event(struct export *export, const struct feed_record *record)
{
    const struct event *event = &record->u.event;
    enum export_table table = EXPORT_TABLE_COUNT;
    if (event->type == EVENT_ORDER_ACCEPTED || event->type == EVENT_ORDER_DONE ||
        event->type == EVENT_ORDER_REPLACED)
        table = EXPORT_ORDERS;
    else if (event->type == EVENT_TRADE)
        table = EXPORT_TRADES;
    else if (event->type == EVENT_BET_ACCEPTED)
        table = EXPORT_BETS;
    else if (event->type == EVENT_BET_SETTLED)
        table = EXPORT_SETTLEMENTS;
    else if (event->type == EVENT_COMMISSION && export->schema_version >= 2)
        table = EXPORT_COMMISSIONS;
    struct export_buffer *b = table == EXPORT_TABLE_COUNT ? NULL : event_row(export, table, record);
    if (table != EXPORT_TABLE_COUNT && b == NULL)
        return ERR_NOMEM;
    if (table == EXPORT_ORDERS)
        export_order(b, event);
    else if (table == EXPORT_TRADES)
        export_trade(b, event);
    else if (table == EXPORT_BETS || table == EXPORT_SETTLEMENTS)
        export_bet(b, event);
    else if (table == EXPORT_COMMISSIONS)
        export_commission(b, event);
    if (b != NULL)
        row_end(b);
    export->batch_events++;
    export->txn_events++;
    return 0;
}

static int export_balance(struct export *export, const struct feed_record *record)
{
    const struct feed_balance *balance = &record->u.balance;
    struct export_buffer *b = export_row(export, EXPORT_BALANCES);
    if (b == NULL)
        return ERR_NOMEM;
    put_i64(b, (int64_t)record->stream_seq);
    put_i64(b, balance->account_id);
    put_i64(b, balance->parent_id);
    put_i64(b, balance->kind);
    put_i64(b, balance->status);
    put_i64(b, balance->balance_minor);
    put_i64(b, balance->credit_limit_minor);
    put_i64(b, balance->reserved_minor);
    put_i64(b, balance->stake_open_minor);
    row_end(b);
    return 0;
}

/* The columns of account_changes after account_id, for a command; -1 in
 * values[i] with has bit i clear is NULL. */
struct change_columns {
    int64_t values[9]; /* parent, kind, status, amount, instrument, quantity, type, share, max */
    uint32_t has;
    int64_t rate_bp;
    bool has_rate;
};

static void change_set(struct change_columns *columns, int index, int64_t value)
{
    columns->values[index] = value;
    columns->has |= 1u << index;
}

enum { CH_PARENT, CH_KIND, CH_STATUS, CH_AMOUNT, CH_INSTRUMENT, CH_QUANTITY, CH_MTYPE, CH_SHARE,
       CH_MAX };

/* Which account the command changed, and its columns; false: none. */
static bool export_change_columns(const struct command *c, const struct outcome *outcome,
                                  uint32_t *account, struct change_columns *columns)
{
    *account = command_account_id(c);
    switch (c->type) {
    case COMMAND_ACCOUNT_CREATE:
        *account = (uint32_t)outcome->id;
        change_set(columns, CH_PARENT, c->u.account_create.parent_id);
        change_set(columns, CH_KIND, c->u.account_create.kind);
        change_set(columns, CH_AMOUNT, c->u.account_create.credit_limit_minor);
        return true;
    case COMMAND_ACCOUNT_SET_STATUS:
        change_set(columns, CH_STATUS, c->u.account_set_status.status);
        return true;
    case COMMAND_ACCOUNT_SET_CREDIT:
        change_set(columns, CH_AMOUNT, c->u.account_set_credit.credit_limit_minor);
        return true;
    case COMMAND_ACCOUNT_SET_LIMITS:
    case COMMAND_ACCOUNT_SET_SECRET:
        return true;
    case COMMAND_CASH_DEPOSIT:
    case COMMAND_CASH_WITHDRAW:
        change_set(columns, CH_AMOUNT, c->u.cash.amount_minor);
        return true;
    case COMMAND_POSITION_GRANT:
        change_set(columns, CH_INSTRUMENT, c->u.position_grant.instrument_id);
        change_set(columns, CH_QUANTITY, c->u.position_grant.quantity);
        return true;
    case COMMAND_PT_SET:
        change_set(columns, CH_MTYPE, c->u.pt_set.market_type);
        change_set(columns, CH_SHARE, c->u.pt_set.share_bp);
        change_set(columns, CH_MAX, c->u.pt_set.max_bp);
        return true;
    case COMMAND_COMMISSION_SET:
        change_set(columns, CH_MTYPE, c->u.commission_set.market_type);
        columns->rate_bp = c->u.commission_set.rate_bp;
        columns->has_rate = true;
        return true;
    default:
        return false;
    }
}

/* An applied command that changed an account: a row of account_changes.
 * An ACTIVATE_LOGIC to 3 or more marks the message for the migration. */
static int export_command(struct export *export, const struct feed_record *record)
{
    const struct command *command = &record->u.command.command;
    const struct outcome *outcome = &record->u.command.outcome;
    if (outcome->result != RESULT_OK || outcome->duplicate)
        return 0;
    if (command->type == COMMAND_ACTIVATE_LOGIC &&
        command->u.activate_logic.logic_version >= 3 && export->schema_version < 2) {
        export->migrate = true;
        export->migrate_seq = record->stream_seq;
        for (int t = 0; t < EXPORT_TABLE_COUNT; t++)
            export->migrate_offset[t] = export->tables[t].used;
        export->schema_version = 2; /* the rows of the commands after it */
    }
    struct change_columns columns = {.has = 0};
    uint32_t account = 0;
    if (!export_change_columns(command, outcome, &account, &columns))
        return 0;
    struct export_buffer *b = export_row(export, EXPORT_ACCOUNT_CHANGES);
    if (b == NULL)
        return ERR_NOMEM;
    put_i64(b, (int64_t)record->stream_seq);
    put_i64(b, record->index);
    put_i64(b, command->type);
    put_i64(b, command->sender_account_id);
    put_i64(b, account);
    for (int i = 0; i < 9; i++) {
        if (columns.has & (1u << i))
            put_i64(b, columns.values[i]);
        else
            put_null(b);
    }
    if (export->schema_version >= 2 && columns.has_rate)
        put_i64(b, columns.rate_bp);
    else if (export->schema_version >= 2)
        put_null(b);
    row_end(b);
    return 0;
}

int export_record(struct export *export, const struct feed_record *record)
{
    switch (record->kind) {
    case FEED_EVENT:
        return export_event(export, record);
    case FEED_COMMAND:
        return export_command(export, record);
    case FEED_BALANCE:
        return export_balance(export, record);
    default:
        assert(false && "a message's start and end are the writer's");
        return ERR_USAGE;
    }
}

int export_message_row(struct export *export, uint32_t logic_version)
{
    assert(export->in_message || export->batch_seq != 0);
    struct export_buffer *b = export_row(export, EXPORT_MESSAGES);
    if (b == NULL)
        return ERR_NOMEM;
    put_i64(b, (int64_t)export->batch_seq);
    put_i64(b, (int64_t)export->batch_time_ns);
    put_i64(b, export->batch_commands);
    put_i64(b, export->batch_events);
    put_i64(b, logic_version);
    row_end(b);
    return 0;
}
