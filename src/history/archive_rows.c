/* The archive's tables and each feed record's rows (docs/history.md). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "codec/command_codec.h"
#include "core/result.h"
#include "history/archive_internal.h"
#include "lib/bytes.h"

static const char ARCHIVE_SCHEMA[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE batches(seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
    " commands INTEGER NOT NULL, first_event INTEGER NOT NULL, events INTEGER NOT NULL);"
    "CREATE TABLE commands(seq INTEGER NOT NULL, idx INTEGER NOT NULL, type INTEGER NOT NULL,"
    " sender INTEGER NOT NULL, client_id INTEGER NOT NULL, client_seq INTEGER NOT NULL,"
    " account INTEGER, target INTEGER, result INTEGER NOT NULL, duplicate INTEGER NOT NULL,"
    " out_id INTEGER NOT NULL, out_value INTEGER NOT NULL, logic INTEGER NOT NULL,"
    " body BLOB NOT NULL, PRIMARY KEY(seq, idx)) WITHOUT ROWID;"
    "CREATE TABLE events(n INTEGER PRIMARY KEY, seq INTEGER NOT NULL, cmd INTEGER NOT NULL,"
    " type INTEGER NOT NULL, code INTEGER NOT NULL, account INTEGER NOT NULL,"
    " id INTEGER NOT NULL, ref INTEGER, other_account INTEGER, other_id INTEGER,"
    " side INTEGER, price INTEGER, quantity INTEGER, amount_a INTEGER, amount_b INTEGER,"
    " detail BLOB);"
    "CREATE TABLE balances(seq INTEGER NOT NULL, account INTEGER NOT NULL,"
    " balance_minor INTEGER NOT NULL, credit_limit_minor INTEGER NOT NULL,"
    " reserved_minor INTEGER NOT NULL, stake_open_minor INTEGER NOT NULL,"
    " PRIMARY KEY(seq, account)) WITHOUT ROWID;"
    "CREATE TABLE accounts(account INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, status INTEGER NOT NULL, seq INTEGER NOT NULL);"
    "CREATE TABLE keys(key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(key, seq))"
    " WITHOUT ROWID;"
    "CREATE TABLE gaps(from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL);";

static const char *const ARCHIVE_SQL[ARCHIVE_STATEMENT_COUNT] = {
    [ARCHIVE_INSERT_BATCH] = "INSERT INTO batches VALUES(?,?,?,?,?)",
    [ARCHIVE_INSERT_COMMAND] = "INSERT INTO commands VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ARCHIVE_INSERT_EVENT] = "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ARCHIVE_INSERT_BALANCE] = "INSERT INTO balances VALUES(?,?,?,?,?,?)",
    [ARCHIVE_INSERT_ACCOUNT] = "INSERT OR REPLACE INTO accounts VALUES(?,?,?,?,?)",
    [ARCHIVE_INSERT_KEY] = "INSERT OR IGNORE INTO keys VALUES(?,?)",
    [ARCHIVE_SET_META] = "INSERT OR REPLACE INTO meta VALUES(?,?)",
};

int archive_exec(sqlite3 *db, const char *sql, char *errmsg, size_t errmsg_size)
{
    char *why = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &why) == SQLITE_OK)
        return 0;
    snprintf(errmsg, errmsg_size, "%s", why != NULL ? why : sqlite3_errmsg(db));
    sqlite3_free(why);
    return ERR_IO;
}

int archive_schema_create(sqlite3 *db, char *errmsg, size_t errmsg_size)
{
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO meta VALUES('format_version',%u),('last_seq',0),"
             "('first_seq',0),('trading_date',0),('sealed',0);", ARCHIVE_FORMAT_VERSION);
    int rv = archive_exec(db, "BEGIN", errmsg, errmsg_size);
    if (rv == 0)
        rv = archive_exec(db, ARCHIVE_SCHEMA, errmsg, errmsg_size);
    if (rv == 0)
        rv = archive_exec(db, sql, errmsg, errmsg_size);
    if (rv == 0)
        return archive_exec(db, "COMMIT", errmsg, errmsg_size);
    char ignored[64];
    archive_exec(db, "ROLLBACK", ignored, sizeof ignored);
    return rv;
}

int archive_statements_prepare(struct archive *archive, char *errmsg, size_t errmsg_size)
{
    for (int i = 0; i < ARCHIVE_STATEMENT_COUNT; i++) {
        if (sqlite3_prepare_v3(archive->db, ARCHIVE_SQL[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &archive->statements[i], NULL) != SQLITE_OK) {
            snprintf(errmsg, errmsg_size, "%s: %s", ARCHIVE_SQL[i], sqlite3_errmsg(archive->db));
            return ERR_IO;
        }
    }
    return 0;
}

void archive_statements_finalize(struct archive *archive)
{
    for (int i = 0; i < ARCHIVE_STATEMENT_COUNT; i++) {
        sqlite3_finalize(archive->statements[i]);
        archive->statements[i] = NULL;
    }
}

int64_t archive_meta_get(sqlite3 *db, const char *key, int64_t absent)
{
    sqlite3_stmt *statement = NULL;
    int64_t value = absent;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &statement, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(statement, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(statement) == SQLITE_ROW)
            value = sqlite3_column_int64(statement, 0);
    }
    sqlite3_finalize(statement);
    return value;
}

/* Runs a bound statement once and resets it. */
static int archive_step(struct archive *archive, sqlite3_stmt *statement)
{
    int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc == SQLITE_DONE)
        return 0;
    pthread_mutex_lock(&archive->error_lock);
    snprintf(archive->error, sizeof archive->error, "%s", sqlite3_errmsg(archive->db));
    pthread_mutex_unlock(&archive->error_lock);
    return ERR_IO;
}

int archive_meta_set(struct archive *archive, const char *key, int64_t value)
{
    sqlite3_stmt *statement = archive->statements[ARCHIVE_SET_META];
    sqlite3_bind_text(statement, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(statement, 2, value);
    return archive_step(archive, statement);
}

static void archive_key(struct archive *archive, enum history_key_kind kind, uint64_t id)
{
    assert(archive->key_count < ARCHIVE_KEYS_MAX);
    archive->keys[archive->key_count++] =
        (struct history_key){.key = history_key_make(kind, id), .seq = (int64_t)archive->batch_seq};
}

/* ---- Commands. ---- */

/* A command is far smaller than the writer's chunk: never flushed. */
static int archive_body_flush(void *context, const uint8_t *data, size_t size)
{
    (void)context;
    (void)data;
    (void)size;
    return ERR_CAPACITY;
}

/* The command's own encoding, without a secret's salt and hash. */
static size_t archive_command_body(const struct command *command, uint8_t *body, size_t size)
{
    struct command copy = *command;
    if (copy.type == COMMAND_ACCOUNT_SET_SECRET) {
        memset(copy.u.account_set_secret.salt, 0, sizeof copy.u.account_set_secret.salt);
        memset(copy.u.account_set_secret.hash, 0, sizeof copy.u.account_set_secret.hash);
    }
    struct byte_writer writer;
    byte_writer_init(&writer, archive_body_flush, NULL);
    if (command_encode(&copy, &writer) != 0 || writer.used > size)
        return 0;
    memcpy(body, writer.chunk, writer.used);
    return writer.used;
}

static int archive_command(struct archive *archive, const struct feed_record *record)
{
    const struct command *command = &record->u.command.command;
    const struct outcome *outcome = &record->u.command.outcome;
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_COMMAND];
    bool names_account = command_names_account(command->type);
    uint32_t account = command_account_id(command);
    uint64_t target = command_order_id(command);
    uint8_t body[COMMAND_ENCODED_SIZE_MAX];
    size_t body_size = archive_command_body(command, body, sizeof body);
    sqlite3_bind_int64(s, 1, (int64_t)record->stream_seq);
    sqlite3_bind_int64(s, 2, record->index);
    sqlite3_bind_int64(s, 3, command->type);
    sqlite3_bind_int64(s, 4, command->sender_account_id);
    sqlite3_bind_int64(s, 5, (int64_t)command->client_id);
    sqlite3_bind_int64(s, 6, (int64_t)command->client_seq);
    if (names_account)
        sqlite3_bind_int64(s, 7, account);
    else
        sqlite3_bind_null(s, 7);
    if (target != 0)
        sqlite3_bind_int64(s, 8, (int64_t)target);
    else
        sqlite3_bind_null(s, 8);
    sqlite3_bind_int64(s, 9, outcome->result);
    sqlite3_bind_int64(s, 10, outcome->duplicate);
    sqlite3_bind_int64(s, 11, (int64_t)outcome->id);
    sqlite3_bind_int64(s, 12, outcome->value);
    sqlite3_bind_int64(s, 13, record->logic_version);
    sqlite3_bind_blob(s, 14, body, (int)body_size, SQLITE_TRANSIENT);
    archive_key(archive, HISTORY_KEY_ACCOUNT, command->sender_account_id);
    if (names_account && account != INDEX_NONE)
        archive_key(archive, HISTORY_KEY_ACCOUNT, account);
    if (target != 0)
        archive_key(archive, HISTORY_KEY_ORDER, target);
    return archive_step(archive, s);
}

/* ---- Events. ---- */

/* The columns an event fills; NULL where it has none. */
struct archive_event_row {
    int64_t ref, other_account, other_id, side, price, quantity, amount_a, amount_b;
    uint8_t has; /* bits: which of the eight are set */
    uint8_t detail[96];
    size_t detail_size;
};

static void row_set(struct archive_event_row *row, int column, int64_t value)
{
    int64_t *columns[] = {&row->ref,      &row->other_account, &row->other_id, &row->side,
                          &row->price,    &row->quantity,      &row->amount_a, &row->amount_b};
    *columns[column] = value;
    row->has |= (uint8_t)(1u << column);
}

static void detail_put(struct archive_event_row *row, int64_t value, size_t bytes)
{
    assert(row->detail_size + bytes <= sizeof row->detail);
    for (size_t i = 0; i < bytes; i++)
        row->detail[row->detail_size++] = (uint8_t)((uint64_t)value >> (8 * i));
}

enum { COL_REF, COL_OTHER_ACCOUNT, COL_OTHER_ID, COL_SIDE, COL_PRICE, COL_QUANTITY, COL_A, COL_B };

static void archive_event_order(struct archive *archive, const struct event *event,
                                struct archive_event_row *row)
{
    if (event->type == EVENT_TRADE) {
        row_set(row, COL_REF, event->u.trade.instrument_id);
        row_set(row, COL_OTHER_ACCOUNT, event->u.trade.maker_account_id);
        row_set(row, COL_OTHER_ID, (int64_t)event->u.trade.maker_order_id);
        row_set(row, COL_SIDE, event->u.trade.taker_side);
        row_set(row, COL_PRICE, event->u.trade.price_ticks);
        row_set(row, COL_QUANTITY, event->u.trade.quantity);
        row_set(row, COL_A, event->u.trade.maker_fee_minor);
        row_set(row, COL_B, event->u.trade.taker_fee_minor);
        archive_key(archive, HISTORY_KEY_ACCOUNT, event->u.trade.maker_account_id);
        archive_key(archive, HISTORY_KEY_ORDER, event->u.trade.maker_order_id);
        archive_key(archive, HISTORY_KEY_INSTRUMENT, event->u.trade.instrument_id);
    } else {
        row_set(row, COL_REF, event->u.order.instrument_id);
        row_set(row, COL_OTHER_ID, (int64_t)event->u.order.client_order_id);
        row_set(row, COL_SIDE, event->u.order.side);
        row_set(row, COL_PRICE, event->u.order.price_ticks);
        row_set(row, COL_QUANTITY, event->u.order.quantity_open);
        row_set(row, COL_A, event->u.order.quantity_filled);
        archive_key(archive, HISTORY_KEY_INSTRUMENT, event->u.order.instrument_id);
    }
    archive_key(archive, HISTORY_KEY_ORDER, event->id);
}

static void archive_event_bet(struct archive *archive, const struct event *event,
                              struct archive_event_row *row)
{
    if (event->type == EVENT_COMMISSION) {
        row_set(row, COL_REF, event->u.commission.market_id);
        row_set(row, COL_QUANTITY, event->u.commission.turnover_minor);
        for (uint32_t i = 0; i < COMMISSION_LEVELS; i++)
            detail_put(row, event->u.commission.earned_minor[i], 8);
        for (uint32_t i = 0; i < PT_LEVELS; i++)
            detail_put(row, event->u.commission.paid_minor[i], 8);
        archive_key(archive, HISTORY_KEY_MARKET, event->u.commission.market_id);
    } else {
        row_set(row, COL_REF, event->u.bet.market_id);
        row_set(row, COL_SIDE, event->u.bet.selection);
        row_set(row, COL_PRICE, event->u.bet.odds_milli);
        row_set(row, COL_QUANTITY, event->u.bet.stake_minor);
        row_set(row, COL_A, event->u.bet.payout_minor);
        for (uint32_t i = 0; i < PT_LEVELS; i++)
            detail_put(row, event->u.bet.shares_bp[i], 2);
        archive_key(archive, HISTORY_KEY_MARKET, event->u.bet.market_id);
    }
    archive_key(archive, HISTORY_KEY_BET, event->id);
}

static void archive_event_other(struct archive *archive, const struct event *event,
                                struct archive_event_row *row)
{
    switch (event->type) {
    case EVENT_ODDS:
        row_set(row, COL_REF, (int64_t)event->id);
        detail_put(row, event->u.odds.status, 1);
        for (uint32_t i = 0; i < SELECTIONS_MAX; i++)
            detail_put(row, event->u.odds.odds_milli[i], 4);
        archive_key(archive, HISTORY_KEY_MARKET, event->id);
        break;
    case EVENT_STATEMENT:
        row_set(row, COL_A, event->u.statement.balance_minor);
        row_set(row, COL_B, event->u.statement.day_change_minor);
        detail_put(row, event->u.statement.credit_limit_minor, 8);
        detail_put(row, event->u.statement.positions_value_minor, 8);
        detail_put(row, event->u.statement.day_fees_minor, 8);
        break;
    case EVENT_ACCOUNT_CAPPED:
        row_set(row, COL_SIDE, event->u.cap.market_type);
        row_set(row, COL_PRICE, event->u.cap.pt_share_bp);
        row_set(row, COL_QUANTITY, event->u.cap.pt_max_bp);
        row_set(row, COL_A, event->u.cap.credit_limit_minor);
        break;
    default: /* EVENT_DAY: id and code say it all */
        break;
    }
}

static int archive_event(struct archive *archive, const struct feed_record *record)
{
    const struct event *event = &record->u.event;
    struct archive_event_row row;
    memset(&row, 0, sizeof row);
    if (event->type >= EVENT_ORDER_ACCEPTED && event->type <= EVENT_ORDER_REPLACED)
        archive_event_order(archive, event, &row);
    else if (event->type == EVENT_BET_ACCEPTED || event->type == EVENT_BET_SETTLED ||
             event->type == EVENT_COMMISSION)
        archive_event_bet(archive, event, &row);
    else
        archive_event_other(archive, event, &row);
    if (event->type == EVENT_DAY && event->code == 0) /* 0: the day ended */
        archive->seal_after = true;
    if (event->type == EVENT_DAY)
        archive->trading_date = (uint32_t)event->id;
    archive_key(archive, HISTORY_KEY_ACCOUNT, event->account_id);
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_EVENT];
    int64_t number = archive->batch_first_event + archive->batch_events;
    sqlite3_bind_int64(s, 1, number);
    sqlite3_bind_int64(s, 2, (int64_t)record->stream_seq);
    sqlite3_bind_int64(s, 3, record->index);
    sqlite3_bind_int64(s, 4, event->type);
    sqlite3_bind_int64(s, 5, event->code);
    sqlite3_bind_int64(s, 6, event->account_id);
    sqlite3_bind_int64(s, 7, (int64_t)event->id);
    const int64_t values[] = {row.ref,   row.other_account, row.other_id, row.side,
                              row.price, row.quantity,      row.amount_a, row.amount_b};
    for (int column = 0; column < 8; column++) {
        if (row.has & (1u << column))
            sqlite3_bind_int64(s, 8 + column, values[column]);
        else
            sqlite3_bind_null(s, 8 + column);
    }
    if (row.detail_size > 0)
        sqlite3_bind_blob(s, 16, row.detail, (int)row.detail_size, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, 16);
    archive->batch_events++;
    atomic_fetch_add_explicit(&archive->events, 1, memory_order_relaxed);
    return archive_step(archive, s);
}

/* ---- Balances and accounts. ---- */

static int archive_balance(struct archive *archive, const struct feed_record *record)
{
    const struct feed_balance *balance = &record->u.balance;
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_BALANCE];
    sqlite3_bind_int64(s, 1, (int64_t)record->stream_seq);
    sqlite3_bind_int64(s, 2, balance->account_id);
    sqlite3_bind_int64(s, 3, balance->balance_minor);
    sqlite3_bind_int64(s, 4, balance->credit_limit_minor);
    sqlite3_bind_int64(s, 5, balance->reserved_minor);
    sqlite3_bind_int64(s, 6, balance->stake_open_minor);
    archive_key(archive, HISTORY_KEY_ACCOUNT, balance->account_id);
    int rv = archive_step(archive, s);
    /* The accounts table: a row when first seen in this file, again when
     * its status changed. */
    if (rv != 0 || balance->account_id >= archive->accounts_max ||
        archive->account_seen[balance->account_id] == balance->status + 1u)
        return rv;
    archive->account_seen[balance->account_id] = (uint8_t)(balance->status + 1u);
    s = archive->statements[ARCHIVE_INSERT_ACCOUNT];
    sqlite3_bind_int64(s, 1, balance->account_id);
    sqlite3_bind_int64(s, 2, balance->parent_id);
    sqlite3_bind_int64(s, 3, balance->kind);
    sqlite3_bind_int64(s, 4, balance->status);
    sqlite3_bind_int64(s, 5, (int64_t)record->stream_seq);
    return archive_step(archive, s);
}

int archive_record(struct archive *archive, const struct feed_record *record)
{
    archive->txn_rows++;
    atomic_fetch_add_explicit(&archive->rows, 1, memory_order_relaxed);
    switch (record->kind) {
    case FEED_EVENT:
        return archive_event(archive, record);
    case FEED_COMMAND:
        return archive_command(archive, record);
    case FEED_BALANCE:
        return archive_balance(archive, record);
    default:
        assert(false && "a batch's start and end are the writer's");
        return ERR_USAGE;
    }
}

int archive_batch_finish(struct archive *archive)
{
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_BATCH];
    sqlite3_bind_int64(s, 1, (int64_t)archive->batch_seq);
    sqlite3_bind_int64(s, 2, (int64_t)archive->batch_time_ns);
    sqlite3_bind_int64(s, 3, archive->batch_commands);
    sqlite3_bind_int64(s, 4, archive->batch_first_event);
    sqlite3_bind_int64(s, 5, archive->batch_events);
    return archive_step(archive, s);
}

int archive_keys_flush(struct archive *archive)
{
    struct history_key *scratch = archive->keys + ARCHIVE_KEYS_MAX;
    history_keys_sort(archive->keys, scratch, archive->key_count);
    uint32_t count = history_keys_unique(archive->keys, archive->key_count);
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_KEY];
    int rv = 0;
    for (uint32_t i = 0; i < count && rv == 0; i++) {
        sqlite3_bind_int64(s, 1, archive->keys[i].key);
        sqlite3_bind_int64(s, 2, archive->keys[i].seq);
        rv = archive_step(archive, s);
    }
    archive->key_count = 0;
    return rv;
}
