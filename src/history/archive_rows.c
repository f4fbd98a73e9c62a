/* The archive's tables and each feed record's rows (docs/history.md). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "history/archive_internal.h"
#include "history/history_query.h"
#include "lib/prefetch.h"

static const char ARCHIVE_SCHEMA[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE messages(seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL,"
    " command_count INTEGER NOT NULL, event_count INTEGER NOT NULL);"
    "CREATE TABLE message_records(seq INTEGER PRIMARY KEY, commands BLOB NOT NULL,"
    " events BLOB NOT NULL, balances BLOB NOT NULL);"
    "CREATE TABLE postings(n INTEGER PRIMARY KEY, key INTEGER NOT NULL,"
    " first_seq INTEGER NOT NULL, count INTEGER NOT NULL, records BLOB NOT NULL);"
    "CREATE INDEX postings_key ON postings(key, first_seq);"
    "CREATE TABLE accounts(account INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
    " kind INTEGER NOT NULL, status INTEGER NOT NULL, seq INTEGER NOT NULL);"
    "CREATE TABLE account_day(account INTEGER PRIMARY KEY, commands INTEGER NOT NULL,"
    " orders INTEGER NOT NULL, trades INTEGER NOT NULL, traded_quantity INTEGER NOT NULL,"
    " fees_minor INTEGER NOT NULL, bets INTEGER NOT NULL, stake_minor INTEGER NOT NULL,"
    " payout_minor INTEGER NOT NULL, balance_minor INTEGER NOT NULL,"
    " first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL);"
    "CREATE TABLE gaps(from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL);";

static const char *const ARCHIVE_SQL[ARCHIVE_STATEMENT_COUNT] = {
    [ARCHIVE_INSERT_MESSAGE] = "INSERT INTO messages VALUES(?,?,?,?)",
    [ARCHIVE_INSERT_RECORDS] = "INSERT INTO message_records VALUES(?,?,?,?)",
    [ARCHIVE_INSERT_POSTING] = "INSERT INTO postings(key, first_seq, count, records) "
                               "VALUES(?,?,?,?)",
    [ARCHIVE_INSERT_ACCOUNT] = "INSERT INTO accounts VALUES(?,?,?,?,?) ON CONFLICT(account)"
                               " DO UPDATE SET status = excluded.status, seq = excluded.seq"
                               " WHERE status != excluded.status",
    [ARCHIVE_UPSERT_ACCOUNT_DAY] =
        "INSERT OR REPLACE INTO account_day VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
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

int64_t archive_meta_read(sqlite3 *db, const char *key)
{
    return archive_meta_get(db, key, 0);
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

/* One entry of the transaction's postings (room made by archive_record). */
static void archive_entry(struct archive *archive, enum history_key_kind kind, uint64_t id,
                          uint64_t ref)
{
    assert(archive->key_count < archive->key_capacity);
    archive->keys[archive->key_count++] = (struct history_key){
        .key = history_key_make(kind, id), .seq = (int64_t)archive->batch_seq, .ref = ref};
}

/* Appends a record to one of the transaction's blobs; *ref: where. */
static int archive_blob_begin(struct archive *archive, int blob, size_t *offset)
{
    if (archive_buffer_reserve(&archive->blobs[blob], ARCHIVE_RECORD_MAX) != 0)
        return ERR_NOMEM;
    *offset = archive->blobs[blob].used;
    return 0;
}

static uint64_t archive_blob_ref(const struct archive *archive, int blob, size_t offset)
{
    return ARCHIVE_REF(blob, offset, archive->blobs[blob].used - offset);
}

static struct archive_account_day *archive_day(struct archive *archive, uint32_t account_id)
{
    if (account_id >= archive->accounts_max)
        return NULL;
    struct archive_account_day *day = &archive->days[account_id];
    if (!day->dirty) {
        day->dirty = 1;
        archive->dirty[archive->dirty_count++] = account_id;
    }
    if (day->first_seq == 0)
        day->first_seq = (int64_t)archive->batch_seq;
    day->last_seq = (int64_t)archive->batch_seq;
    return day;
}

static int archive_command(struct archive *archive, const struct feed_record *record)
{
    const struct command *command = &record->u.command.command;
    size_t offset = 0;
    if (archive_blob_begin(archive, ARCHIVE_BLOB_COMMANDS, &offset) != 0)
        return ERR_NOMEM;
    archive_command_put(&archive->blobs[ARCHIVE_BLOB_COMMANDS], record->index, command,
                        &record->u.command.outcome, record->logic_version);
    uint64_t ref = archive_blob_ref(archive, ARCHIVE_BLOB_COMMANDS, offset);
    struct archive_account_day *day = archive_day(archive, command->sender_account_id);
    if (day != NULL)
        day->commands++;
    archive_entry(archive, HISTORY_KEY_ACCOUNT, command->sender_account_id, ref);
    uint32_t account = command_account_id(command);
    if (command_names_account(command->type) && account != INDEX_NONE &&
        account != command->sender_account_id)
        archive_entry(archive, HISTORY_KEY_ACCOUNT, account, ref);
    uint64_t target = command_order_id(command);
    const struct outcome *outcome = &record->u.command.outcome;
    if (command->type == COMMAND_ORDER_PLACE && outcome->result == RESULT_OK)
        target = outcome->id;
    if (target != 0)
        archive_entry(archive, HISTORY_KEY_ORDER, target, ref);
    if (command->type == COMMAND_BET_PLACE && outcome->result == RESULT_OK)
        archive_entry(archive, HISTORY_KEY_BET, outcome->id, ref);
    uint32_t market = history_command_market_id(command, &record->u.command.outcome);
    if (market != INDEX_NONE && command->type != COMMAND_BET_PLACE)
        archive_entry(archive, HISTORY_KEY_MARKET, market, ref);
    return 0;
}

/* ---- Events: their postings and the day's figures. ---- */

static void archive_event_trade(struct archive *archive, const struct event *event, uint64_t ref)
{
    struct archive_account_day *taker = archive_day(archive, event->account_id);
    struct archive_account_day *maker = archive_day(archive, event->u.trade.maker_account_id);
    if (taker != NULL) {
        taker->trades++;
        taker->traded_quantity += event->u.trade.quantity;
        taker->fees_minor += event->u.trade.taker_fee_minor;
    }
    if (maker != NULL) {
        maker->trades++;
        maker->traded_quantity += event->u.trade.quantity;
        maker->fees_minor += event->u.trade.maker_fee_minor;
    }
    if (event->u.trade.maker_account_id != event->account_id)
        archive_entry(archive, HISTORY_KEY_ACCOUNT, event->u.trade.maker_account_id, ref);
    archive_entry(archive, HISTORY_KEY_ORDER, event->u.trade.maker_order_id, ref);
    archive_entry(archive, HISTORY_KEY_ORDER, event->id, ref);
    archive_entry(archive, HISTORY_KEY_INSTRUMENT, event->u.trade.instrument_id, ref);
}

static void archive_event_bet(struct archive *archive, const struct event *event, uint64_t ref)
{
    struct archive_account_day *day = archive_day(archive, event->account_id);
    bool accepted = event->type == EVENT_BET_ACCEPTED;
    if (day != NULL && event->type != EVENT_COMMISSION) {
        day->bets += accepted;
        day->stake_minor += accepted ? event->u.bet.stake_minor : 0;
        day->payout_minor += event->type == EVENT_BET_SETTLED ? event->u.bet.payout_minor : 0;
    }
    archive_entry(archive, HISTORY_KEY_BET, event->id, ref);
    archive_entry(archive, HISTORY_KEY_MARKET,
                  event->type == EVENT_COMMISSION ? event->u.commission.market_id
                                                  : event->u.bet.market_id, ref);
}

static void archive_event_keys(struct archive *archive, const struct event *event, uint64_t ref)
{
    struct archive_account_day *day = NULL;
    switch (event->type) {
    case EVENT_TRADE:
        archive_event_trade(archive, event, ref);
        break;
    case EVENT_ORDER_ACCEPTED:
    case EVENT_ORDER_DONE:
    case EVENT_ORDER_REPLACED:
        if (event->type == EVENT_ORDER_ACCEPTED && (day = archive_day(archive, event->account_id)))
            day->orders++;
        archive_entry(archive, HISTORY_KEY_ORDER, event->id, ref);
        break;
    case EVENT_BET_ACCEPTED:
    case EVENT_BET_SETTLED:
    case EVENT_COMMISSION:
        archive_event_bet(archive, event, ref);
        break;
    case EVENT_ODDS:
        archive_entry(archive, HISTORY_KEY_MARKET, event->id, ref);
        break;
    case EVENT_DAY:
        archive->trading_date = (uint32_t)event->id;
        archive->seal_after = archive->seal_after || event->code == 0; /* 0: it ended */
        break;
    default:
        break;
    }
    archive_entry(archive, HISTORY_KEY_ACCOUNT, event->account_id, ref);
}

static int archive_event(struct archive *archive, const struct feed_record *record)
{
    size_t offset = 0;
    if (archive_blob_begin(archive, ARCHIVE_BLOB_EVENTS, &offset) != 0)
        return ERR_NOMEM;
    archive_event_put(&archive->blobs[ARCHIVE_BLOB_EVENTS], record->index, &record->u.event);
    archive->batch_events++;
    atomic_fetch_add_explicit(&archive->events, 1, memory_order_relaxed);
    archive_event_keys(archive, &record->u.event,
                       archive_blob_ref(archive, ARCHIVE_BLOB_EVENTS, offset));
    return 0;
}

/* ---- Balances and accounts. ---- */

static int archive_balance(struct archive *archive, const struct feed_record *record)
{
    const struct feed_balance *balance = &record->u.balance;
    size_t offset = 0;
    if (archive_blob_begin(archive, ARCHIVE_BLOB_BALANCES, &offset) != 0)
        return ERR_NOMEM;
    archive_balance_put(&archive->blobs[ARCHIVE_BLOB_BALANCES], balance);
    archive_entry(archive, HISTORY_KEY_ACCOUNT, balance->account_id,
                  archive_blob_ref(archive, ARCHIVE_BLOB_BALANCES, offset));
    struct archive_account_day *day = archive_day(archive, balance->account_id);
    if (day != NULL)
        day->balance_minor = balance->balance_minor;
    /* The accounts table: a row when first seen in this file, again when
     * its status changed. */
    if (balance->account_id >= archive->accounts_max ||
        archive->account_seen[balance->account_id] == balance->status + 1u)
        return 0;
    archive->account_seen[balance->account_id] = (uint8_t)(balance->status + 1u);
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_ACCOUNT];
    sqlite3_bind_int64(s, 1, balance->account_id);
    sqlite3_bind_int64(s, 2, balance->parent_id);
    sqlite3_bind_int64(s, 3, balance->kind);
    sqlite3_bind_int64(s, 4, balance->status);
    sqlite3_bind_int64(s, 5, (int64_t)record->stream_seq);
    return archive_step(archive, s);
}

/* Room for the entries one record makes (at most six). */
static int archive_keys_reserve(struct archive *archive)
{
    if (archive->key_count + 8 <= archive->key_capacity)
        return 0;
    uint32_t capacity = archive->key_capacity == 0 ? 1u << 16 : 2 * archive->key_capacity;
    struct history_key *keys = realloc(archive->keys, capacity * sizeof *keys);
    if (keys != NULL)
        archive->keys = keys;
    struct history_key *scratch = realloc(archive->keys_scratch, capacity * sizeof *scratch);
    if (scratch != NULL)
        archive->keys_scratch = scratch;
    if (keys == NULL || scratch == NULL)
        return ERR_NOMEM;
    archive->key_capacity = capacity;
    return 0;
}

int archive_record(struct archive *archive, const struct feed_record *record)
{
    archive->txn_rows++;
    atomic_fetch_add_explicit(&archive->rows, 1, memory_order_relaxed);
    if (archive_keys_reserve(archive) != 0)
        return ERR_NOMEM;
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
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_MESSAGE];
    sqlite3_bind_int64(s, 1, (int64_t)archive->batch_seq);
    sqlite3_bind_int64(s, 2, (int64_t)archive->batch_time_ns);
    sqlite3_bind_int64(s, 3, archive->batch_commands);
    sqlite3_bind_int64(s, 4, archive->batch_events);
    int rv = archive_step(archive, s);
    s = archive->statements[ARCHIVE_INSERT_RECORDS];
    sqlite3_bind_int64(s, 1, (int64_t)archive->batch_seq);
    for (int blob = ARCHIVE_BLOB_COMMANDS; blob <= ARCHIVE_BLOB_BALANCES; blob++) {
        const struct archive_buffer *buffer = &archive->blobs[blob];
        size_t start = archive->batch_start[blob];
        struct archive_buffer *packed = &archive->packed[blob];
        if (archive_pack(archive->packer, buffer->data + start, buffer->used - start, packed))
            return ERR_NOMEM;
        sqlite3_bind_blob(s, 1 + blob, packed->data, (int)packed->used, SQLITE_STATIC);
    }
    return rv == 0 ? archive_step(archive, s) : rv;
}

/* ---- At commit. ---- */

/* One posting row: its entries' sequences as deltas from the row's
 * first, each followed, for a key of records, by its blob and record. */
static int archive_posting(struct archive *archive, const struct history_key *keys,
                           uint32_t count)
{
    struct archive_buffer *out = &archive->posting;
    out->used = 0;
    int64_t previous = keys[0].seq;
    for (uint32_t i = 0; i < count; i++) {
        if (i + 8 < count) { /* records lie in stream order, entries in key order */
            uint64_t ahead = keys[i + 8].ref;
            PREFETCH(archive->blobs[ARCHIVE_REF_BLOB(ahead)].data + ARCHIVE_REF_OFFSET(ahead));
        }
        if (archive_buffer_reserve(out, ARCHIVE_RECORD_MAX + 16) != 0)
            return ERR_NOMEM;
        archive_varint_put(out, (uint64_t)(keys[i].seq - previous));
        previous = keys[i].seq;
        uint64_t ref = keys[i].ref;
        uint32_t blob = ARCHIVE_REF_BLOB(ref);
        uint32_t length = ARCHIVE_REF_LENGTH(ref);
        out->data[out->used++] = (uint8_t)blob;
        memcpy(out->data + out->used, archive->blobs[blob].data + ARCHIVE_REF_OFFSET(ref),
               length);
        out->used += length;
    }
    struct archive_buffer *packed = &archive->packed[0];
    if (archive_pack(archive->packer, out->data, out->used, packed) != 0)
        return ERR_NOMEM;
    sqlite3_stmt *s = archive->statements[ARCHIVE_INSERT_POSTING];
    sqlite3_bind_int64(s, 1, keys[0].key);
    sqlite3_bind_int64(s, 2, keys[0].seq);
    sqlite3_bind_int64(s, 3, count);
    sqlite3_bind_blob(s, 4, packed->data, (int)packed->used, SQLITE_STATIC);
    return archive_step(archive, s);
}

/* The transaction's entries, sorted by key then sequence, one row a key;
 * then its blobs start afresh. */
int archive_keys_flush(struct archive *archive)
{
    history_keys_sort(archive->keys, archive->keys_scratch, archive->key_count);
    uint32_t count = history_keys_unique(archive->keys, archive->key_count);
    int rv = 0;
    for (uint32_t start = 0, end = 0; start < count && rv == 0; start = end) {
        for (end = start + 1; end < count && archive->keys[end].key == archive->keys[start].key;)
            end++;
        rv = archive_posting(archive, &archive->keys[start], end - start);
    }
    archive->key_count = 0;
    for (int blob = 0; blob < 4; blob++)
        archive->blobs[blob].used = 0;
    return rv;
}

int archive_days_flush(struct archive *archive)
{
    sqlite3_stmt *s = archive->statements[ARCHIVE_UPSERT_ACCOUNT_DAY];
    int rv = 0;
    for (uint32_t i = 0; i < archive->dirty_count && rv == 0; i++) {
        uint32_t id = archive->dirty[i];
        struct archive_account_day *day = &archive->days[id];
        const int64_t values[] = {id, day->commands, day->orders, day->trades,
                                  day->traded_quantity, day->fees_minor, day->bets,
                                  day->stake_minor, day->payout_minor, day->balance_minor,
                                  day->first_seq, day->last_seq};
        for (int column = 0; column < 12; column++)
            sqlite3_bind_int64(s, column + 1, values[column]);
        rv = archive_step(archive, s);
        day->dirty = 0;
    }
    archive->dirty_count = 0;
    return rv;
}

int archive_days_load(struct archive *archive)
{
    memset(archive->days, 0, archive->accounts_max * sizeof *archive->days);
    archive->dirty_count = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(archive->db, "SELECT * FROM account_day", -1, &s, NULL) != SQLITE_OK)
        return ERR_IO;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (id < 0 || id >= archive->accounts_max)
            continue;
        int64_t *fields[] = {
            &archive->days[id].commands,     &archive->days[id].orders,
            &archive->days[id].trades,       &archive->days[id].traded_quantity,
            &archive->days[id].fees_minor,   &archive->days[id].bets,
            &archive->days[id].stake_minor,  &archive->days[id].payout_minor,
            &archive->days[id].balance_minor, &archive->days[id].first_seq,
            &archive->days[id].last_seq};
        for (int column = 0; column < 11; column++)
            *fields[column] = sqlite3_column_int64(s, column + 1);
    }
    sqlite3_finalize(s);
    return 0;
}
