/* `nodown history`'s questions over the archive's files (history_query.h). */
#include "history/history_query.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/result.h"
#include "history/archive.h"
#include "history/archive_codec.h"
#include "history/history_keys.h"

#define HISTORY_FILES_MAX 4096u

struct history_file {
    char name[64];
    uint32_t date; /* 0: the open day's, before its first start */
};

static const char *const HISTORY_NAMES[HISTORY_QUESTION_COUNT] = {
    [HISTORY_STATEMENT] = "statement", [HISTORY_ORDER] = "order", [HISTORY_BET] = "bet",
    [HISTORY_TRADES] = "trades",       [HISTORY_DOWNLINE] = "downline", [HISTORY_AT] = "at",
    [HISTORY_MARKET] = "market",
};

const char *history_question_name(enum history_question question)
{
    return question < HISTORY_QUESTION_COUNT ? HISTORY_NAMES[question] : "?";
}

int history_question_from_name(const char *name, enum history_question *question)
{
    for (int i = 0; i < HISTORY_QUESTION_COUNT; i++) {
        if (strcmp(name, HISTORY_NAMES[i]) == 0) {
            *question = (enum history_question)i;
            return 0;
        }
    }
    return ERR_USAGE;
}

/* The key each question finds its messages by. */
static const enum history_key_kind HISTORY_KEY_OF[HISTORY_QUESTION_COUNT] = {
    [HISTORY_STATEMENT] = HISTORY_KEY_ACCOUNT, [HISTORY_ORDER] = HISTORY_KEY_ORDER,
    [HISTORY_BET] = HISTORY_KEY_BET,           [HISTORY_TRADES] = HISTORY_KEY_INSTRUMENT,
    [HISTORY_MARKET] = HISTORY_KEY_MARKET,
};

/* ---- Which rows answer the question. ---- */

static bool history_event_wanted(const struct history_question_args *args,
                                 const struct event *e)
{
    uint64_t id = args->id;
    switch (args->question) {
    case HISTORY_STATEMENT:
        return e->account_id == id ||
               (e->type == EVENT_TRADE && e->u.trade.maker_account_id == id);
    case HISTORY_ORDER:
        if (e->type == EVENT_TRADE)
            return e->id == id || e->u.trade.maker_order_id == id;
        return (e->type == EVENT_ORDER_ACCEPTED || e->type == EVENT_ORDER_DONE ||
                e->type == EVENT_ORDER_REPLACED) && e->id == id;
    case HISTORY_BET:
        return (e->type == EVENT_BET_ACCEPTED || e->type == EVENT_BET_SETTLED ||
                e->type == EVENT_COMMISSION) && e->id == id;
    case HISTORY_TRADES:
        return e->type == EVENT_TRADE && e->u.trade.instrument_id == id;
    case HISTORY_MARKET:
        if (e->type == EVENT_ODDS)
            return e->id == id;
        if (e->type == EVENT_COMMISSION)
            return e->u.commission.market_id == id;
        return (e->type == EVENT_BET_ACCEPTED || e->type == EVENT_BET_SETTLED) &&
               e->u.bet.market_id == id;
    default:
        return args->question == HISTORY_AT;
    }
}

uint32_t history_command_market_id(const struct command *c, const struct outcome *o)
{
    switch (c->type) {
    case COMMAND_MARKET_CREATE:
        return o->result == RESULT_OK ? (uint32_t)o->id : INDEX_NONE;
    case COMMAND_MARKET_SET_ODDS:
        return c->u.market_set_odds.market_id;
    case COMMAND_MARKET_SET_STATUS:
        return c->u.market_set_status.market_id;
    case COMMAND_MARKET_SETTLE:
        return c->u.market_settle.market_id;
    case COMMAND_BET_PLACE:
        return c->u.bet_place.market_id;
    default:
        return INDEX_NONE;
    }
}

static bool history_command_wanted(const struct history_question_args *args,
                                   const struct command *c, const struct outcome *o)
{
    uint64_t id = args->id;
    bool ok = o->result == RESULT_OK;
    switch (args->question) {
    case HISTORY_STATEMENT:
        return c->sender_account_id == id ||
               (command_names_account(c->type) && command_account_id(c) == id);
    case HISTORY_ORDER:
        return command_order_id(c) == id || (c->type == COMMAND_ORDER_PLACE && ok && o->id == id);
    case HISTORY_BET:
        return c->type == COMMAND_BET_PLACE && ok && o->id == id;
    case HISTORY_MARKET:
        return history_command_market_id(c, o) == id && c->type != COMMAND_BET_PLACE;
    default:
        return args->question == HISTORY_AT;
    }
}

static bool history_balance_wanted(const struct history_question_args *args,
                                   const struct feed_balance *b)
{
    return args->question == HISTORY_AT ||
           (args->question == HISTORY_STATEMENT && b->account_id == args->id);
}

/* ---- One message: its commands and events merged by index. ---- */

struct history_ask_state {
    const struct history_question_args *args;
    history_row_cb row_cb;
    void *context;
    uint64_t rows;
    bool stopped;
    sqlite3_stmt *message; /* a message's time and records, by seq */
    sqlite3_stmt *time;    /* a message's time, by seq */
    struct archive_packer *packer;
    struct archive_buffer unpacked[4];
};

static void history_give(struct history_ask_state *state, const struct history_row *row)
{
    state->rows++;
    if (state->row_cb(state->context, row) != 0 ||
        (state->args->limit != 0 && state->rows >= state->args->limit))
        state->stopped = true;
}

/* A stored blob, unpacked into one of the state's buffers. */
static struct archive_reader history_blob(struct history_ask_state *state,
                                          sqlite3_stmt *statement, int column, int buffer)
{
    const uint8_t *data = sqlite3_column_blob(statement, column);
    int size = sqlite3_column_bytes(statement, column);
    struct archive_buffer *out = &state->unpacked[buffer];
    if (data == NULL || archive_unpack(state->packer, data, (size_t)size, out) != 0)
        return (struct archive_reader){.failed = true};
    return (struct archive_reader){.at = out->data, .end = out->data + out->used};
}

/* The commands and events of the message the statement stands on. */
static int history_message_rows(struct history_ask_state *state, struct history_row *row)
{
    struct archive_reader commands = history_blob(state, state->message, 1, 0);
    struct archive_reader events = history_blob(state, state->message, 2, 1);
    uint32_t command_index = 0, event_index = 0;
    struct history_row event_row = *row;
    event_row.kind = HISTORY_ROW_EVENT;
    row->kind = HISTORY_ROW_COMMAND;
    bool has_command = archive_command_get(&commands, &command_index, &row->command,
                                           &row->outcome, &row->logic_version);
    bool has_event = archive_event_get(&events, &event_index, &event_row.event);
    while ((has_command || has_event) && !state->stopped) {
        if (has_command && (!has_event || command_index <= event_index)) {
            row->index = command_index;
            if (history_command_wanted(state->args, &row->command, &row->outcome))
                history_give(state, row);
            has_command = archive_command_get(&commands, &command_index, &row->command,
                                              &row->outcome, &row->logic_version);
        } else {
            event_row.index = event_index;
            if (history_event_wanted(state->args, &event_row.event))
                history_give(state, &event_row);
            has_event = archive_event_get(&events, &event_index, &event_row.event);
        }
    }
    return commands.failed || events.failed ? ERR_DECODE_MALFORMED : 0;
}

static int history_message(struct history_ask_state *state, uint64_t seq)
{
    sqlite3_stmt *statement = state->message;
    sqlite3_reset(statement);
    sqlite3_bind_int64(statement, 1, (int64_t)seq);
    if (sqlite3_step(statement) != SQLITE_ROW)
        return 0; /* a message of the postings but not here: another file's */
    struct history_row row;
    memset(&row, 0, sizeof row);
    row.seq = seq;
    row.time_ns = (uint64_t)sqlite3_column_int64(statement, 0);
    int rv = history_message_rows(state, &row);
    struct archive_reader balances = history_blob(state, statement, 3, 2);
    row.kind = HISTORY_ROW_BALANCE;
    row.index = FEED_INDEX_NONE;
    while (rv == 0 && !state->stopped && archive_balance_get(&balances, &row.balance))
        if (history_balance_wanted(state->args, &row.balance))
            history_give(state, &row);
    return rv == 0 && balances.failed ? ERR_DECODE_MALFORMED : rv;
}

/* ---- A key with records: its postings hold them. ---- */

#define HISTORY_SEQ_ROWS_MAX 4096u

/* Rows of one message, put in stream order (command, its events; the
 * balances last) before they are given. */
struct history_pending {
    struct history_row rows[HISTORY_SEQ_ROWS_MAX];
    uint32_t count;
};

static uint32_t history_row_rank(const struct history_row *row)
{
    return row->kind == HISTORY_ROW_BALANCE ? UINT32_MAX : row->index * 2u + row->kind;
}

static void history_pending_give(struct history_ask_state *state, struct history_pending *pending)
{
    uint64_t time_ns = 0;
    if (pending->count > 0) {
        sqlite3_reset(state->time);
        sqlite3_bind_int64(state->time, 1, (int64_t)pending->rows[0].seq);
        if (sqlite3_step(state->time) == SQLITE_ROW)
            time_ns = (uint64_t)sqlite3_column_int64(state->time, 0);
    }
    for (uint32_t i = 1; i < pending->count; i++) { /* insertion: nearly in order already */
        struct history_row row = pending->rows[i];
        uint32_t j = i;
        for (; j > 0 && history_row_rank(&pending->rows[j - 1]) > history_row_rank(&row); j--)
            pending->rows[j] = pending->rows[j - 1];
        pending->rows[j] = row;
    }
    for (uint32_t i = 0; i < pending->count && !state->stopped; i++) {
        pending->rows[i].time_ns = time_ns;
        history_give(state, &pending->rows[i]);
    }
    pending->count = 0;
}

/* One record of a posting; false at its end or on a malformed one. */
static bool history_record_get(struct archive_reader *reader, struct history_row *row)
{
    if (reader->at >= reader->end)
        return false;
    uint8_t blob = *reader->at++;
    switch (blob) {
    case 1:
        row->kind = HISTORY_ROW_COMMAND;
        return archive_command_get(reader, &row->index, &row->command, &row->outcome,
                                   &row->logic_version);
    case 2:
        row->kind = HISTORY_ROW_EVENT;
        return archive_event_get(reader, &row->index, &row->event);
    case 3:
        row->kind = HISTORY_ROW_BALANCE;
        row->index = FEED_INDEX_NONE;
        return archive_balance_get(reader, &row->balance);
    default:
        reader->failed = true;
        return false;
    }
}

static bool history_row_wanted(const struct history_question_args *args,
                               const struct history_row *row)
{
    switch (row->kind) {
    case HISTORY_ROW_COMMAND:
        return history_command_wanted(args, &row->command, &row->outcome);
    case HISTORY_ROW_EVENT:
        return history_event_wanted(args, &row->event);
    default:
        return history_balance_wanted(args, &row->balance);
    }
}

static int history_records(struct history_ask_state *state, uint64_t seq,
                           struct archive_reader *entries, struct history_pending *pending)
{
    uint64_t delta = 0;
    while (!state->stopped && archive_varint_get(entries, &delta)) {
        seq += delta;
        if (pending->count > 0 && (pending->rows[0].seq != seq ||
                                   pending->count == HISTORY_SEQ_ROWS_MAX))
            history_pending_give(state, pending);
        struct history_row *row = &pending->rows[pending->count];
        memset(row, 0, sizeof *row);
        row->seq = seq;
        if (!history_record_get(entries, row))
            return ERR_DECODE_MALFORMED;
        pending->count += history_row_wanted(state->args, row);
    }
    return entries->failed ? ERR_DECODE_MALFORMED : 0;
}

/* The question's key in one file: its postings, in order. */
static int history_ask_file(sqlite3 *db, struct history_ask_state *state, char *errmsg,
                            size_t errmsg_size)
{
    static struct history_pending pending;
    pending.count = 0;
    sqlite3_stmt *postings = NULL;
    int rv = 0;
    if (sqlite3_prepare_v2(db, "SELECT m.time_ns, r.commands, r.events, r.balances "
                           "FROM messages m JOIN message_records r ON r.seq = m.seq "
                           "WHERE m.seq = ?", -1, &state->message, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT time_ns FROM messages WHERE seq = ?", -1,
                           &state->time, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT first_seq, records FROM postings WHERE key = ? "
                           "ORDER BY first_seq", -1, &postings, NULL) != SQLITE_OK) {
        snprintf(errmsg, errmsg_size, "%s", sqlite3_errmsg(db));
        rv = ERR_IO;
    }
    enum history_key_kind kind = HISTORY_KEY_OF[state->args->question];
    if (rv == 0 && state->packer == NULL && (state->packer = archive_packer_new()) == NULL)
        rv = ERR_NOMEM;
    if (rv == 0 && state->args->question == HISTORY_AT) {
        rv = history_message(state, state->args->id);
    } else if (rv == 0) {
        sqlite3_bind_int64(postings, 1, history_key_make(kind, state->args->id));
        while (rv == 0 && !state->stopped && sqlite3_step(postings) == SQLITE_ROW) {
            uint64_t seq = (uint64_t)sqlite3_column_int64(postings, 0);
            struct archive_reader entries = history_blob(state, postings, 1, 3);
            rv = history_records(state, seq, &entries, &pending);
        }
        if (rv == 0)
            history_pending_give(state, &pending);
    }
    if (rv == ERR_DECODE_MALFORMED)
        snprintf(errmsg, errmsg_size, "a record of this file does not decode");
    sqlite3_finalize(postings);
    sqlite3_finalize(state->message);
    sqlite3_finalize(state->time);
    state->message = NULL;
    state->time = NULL;
    return rv;
}

/* ---- The files. ---- */

static int history_file_compare(const void *left, const void *right)
{
    return strcmp(((const struct history_file *)left)->name,
                  ((const struct history_file *)right)->name);
}

/* The day files in name (date) order, then the open day's. */
static int history_file_list(const char *dir, struct history_file *files, uint32_t *count,
                             char *errmsg, size_t errmsg_size)
{
    *count = 0;
    DIR *handle = opendir(dir);
    if (handle == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s (is the archive on? serve --archive)", dir,
                 strerror(errno));
        return ERR_NOT_FOUND;
    }
    bool current = false;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL && *count < HISTORY_FILES_MAX - 1) {
        size_t length = strlen(entry->d_name);
        if (strcmp(entry->d_name, ARCHIVE_CURRENT) == 0) {
            current = true;
        } else if (strncmp(entry->d_name, "day-", 4) == 0 && length < sizeof files->name &&
                   strcmp(entry->d_name + length - 3, ".db") == 0) {
            memcpy(files[*count].name, entry->d_name, length + 1); /* length < its size */
            files[*count].date = (uint32_t)strtoul(entry->d_name + 4, NULL, 10);
            (*count)++;
        }
    }
    closedir(handle);
    qsort(files, *count, sizeof *files, history_file_compare);
    if (current) {
        snprintf(files[*count].name, sizeof files->name, "%s", ARCHIVE_CURRENT);
        files[*count].date = UINT32_MAX; /* the open day is after every closed one */
        (*count)++;
    }
    return 0;
}

static int history_db_open(const char *dir, const char *name, sqlite3 **db, char *errmsg,
                           size_t errmsg_size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, sqlite3_errmsg(*db));
        sqlite3_close(*db);
        *db = NULL;
        return ERR_IO;
    }
    sqlite3_busy_timeout(*db, 5000);
    sqlite3_stmt *statement = NULL;
    int64_t version = 0;
    if (sqlite3_prepare_v2(*db, "SELECT value FROM meta WHERE key = 'format_version'", -1,
                           &statement, NULL) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW)
        version = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    if (version < 1 || version > ARCHIVE_FORMAT_VERSION) {
        snprintf(errmsg, errmsg_size, "%s: archive format %" PRId64 "; this build reads 1..%u",
                 path, version, ARCHIVE_FORMAT_VERSION);
        sqlite3_close(*db);
        *db = NULL;
        return version < 1 ? ERR_IO : ERR_VERSION;
    }
    return 0;
}

static bool history_file_wanted(const struct history_file *file,
                                const struct history_question_args *args)
{
    if (file->date == UINT32_MAX)
        return args->to_date == 0 || args->question == HISTORY_AT;
    return (args->from_date == 0 || file->date >= args->from_date) &&
           (args->to_date == 0 || file->date <= args->to_date);
}

/* ---- The downline: the accounts under one, and their days. ---- */

struct history_links {
    int64_t *account;
    int64_t *parent;
    size_t count;
    size_t capacity;
};

static int history_links_read(sqlite3 *db, struct history_links *links)
{
    sqlite3_stmt *statement = NULL;
    if (sqlite3_prepare_v2(db, "SELECT account, parent FROM accounts", -1, &statement, NULL) !=
        SQLITE_OK)
        return ERR_IO;
    int rv = 0;
    while (rv == 0 && sqlite3_step(statement) == SQLITE_ROW) {
        if (links->count == links->capacity) {
            size_t capacity = links->capacity == 0 ? 1024 : 2 * links->capacity;
            int64_t *account = realloc(links->account, capacity * sizeof *account);
            int64_t *parent = account == NULL ? NULL
                                              : realloc(links->parent, capacity * sizeof *parent);
            if (account != NULL)
                links->account = account;
            if (parent != NULL)
                links->parent = parent;
            if (account == NULL || parent == NULL) {
                rv = ERR_NOMEM;
                break;
            }
            links->capacity = capacity;
        }
        links->account[links->count] = sqlite3_column_int64(statement, 0);
        links->parent[links->count++] = sqlite3_column_int64(statement, 1);
    }
    sqlite3_finalize(statement);
    return rv;
}

/* Marks root and every account under it in in_downline (indexed by id;
 * ids at or above size are not marked): one pass per level, at most a
 * tree's depth. */
static void history_downline_mark(const struct history_links *links, int64_t root,
                                  uint8_t *in_downline, size_t size)
{
    if (root < 0 || (size_t)root >= size)
        return;
    in_downline[root] = 1;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < links->count; i++) {
            int64_t account = links->account[i], parent = links->parent[i];
            if (account >= 0 && (size_t)account < size && parent >= 0 && (size_t)parent < size &&
                account != parent && in_downline[parent] && !in_downline[account]) {
                in_downline[account] = 1;
                grew = true;
            }
        }
    }
}

static int history_summaries(sqlite3 *db, const uint8_t *in_downline, size_t size,
                             uint32_t date, struct history_ask_state *state)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT d.*, a.parent, a.kind FROM account_day d "
                           "JOIN accounts a ON a.account = d.account ORDER BY d.account",
                           -1, &s, NULL) != SQLITE_OK)
        return ERR_IO;
    struct history_row row;
    memset(&row, 0, sizeof row);
    row.kind = HISTORY_ROW_SUMMARY;
    while (!state->stopped && sqlite3_step(s) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (id < 0 || (size_t)id >= size || !in_downline[id])
            continue;
        struct history_summary *sum = &row.summary;
        sum->trading_date = date;
        sum->account_id = (uint32_t)id;
        int64_t *fields[] = {&sum->commands,     &sum->orders,       &sum->trades,
                             &sum->traded_quantity, &sum->fees_minor, &sum->bets,
                             &sum->stake_minor,  &sum->payout_minor, &sum->balance_minor};
        for (int column = 0; column < 9; column++)
            *fields[column] = sqlite3_column_int64(s, column + 1);
        sum->first_seq = (uint64_t)sqlite3_column_int64(s, 10);
        sum->last_seq = (uint64_t)sqlite3_column_int64(s, 11);
        sum->parent_id = (uint32_t)sqlite3_column_int64(s, 12);
        sum->kind = (uint8_t)sqlite3_column_int64(s, 13);
        row.seq = sum->last_seq;
        history_give(state, &row);
    }
    sqlite3_finalize(s);
    return 0;
}

static int history_downline(const char *dir, const struct history_file *files, uint32_t count,
                            struct history_ask_state *state, char *errmsg, size_t errmsg_size)
{
    struct history_links links = {0};
    int rv = 0;
    for (uint32_t i = 0; i < count && rv == 0; i++) {
        sqlite3 *db = NULL;
        rv = history_db_open(dir, files[i].name, &db, errmsg, errmsg_size);
        if (rv == 0 && history_links_read(db, &links) != 0) {
            snprintf(errmsg, errmsg_size, "%s: %s", files[i].name, sqlite3_errmsg(db));
            rv = ERR_IO;
        }
        sqlite3_close(db);
    }
    size_t size = 1;
    for (size_t i = 0; i < links.count; i++)
        if (links.account[i] >= 0 && (size_t)links.account[i] >= size)
            size = (size_t)links.account[i] + 1;
    uint8_t *in_downline = rv == 0 ? calloc(size, 1) : NULL;
    if (rv == 0 && in_downline == NULL)
        rv = ERR_NOMEM;
    if (rv == 0)
        history_downline_mark(&links, (int64_t)state->args->id, in_downline, size);
    for (uint32_t i = 0; i < count && rv == 0 && !state->stopped; i++) {
        if (!history_file_wanted(&files[i], state->args))
            continue;
        sqlite3 *db = NULL;
        rv = history_db_open(dir, files[i].name, &db, errmsg, errmsg_size);
        uint32_t date = files[i].date == UINT32_MAX
                            ? (uint32_t)archive_meta_read(db, "trading_date") : files[i].date;
        if (rv == 0 && history_summaries(db, in_downline, size, date, state) != 0) {
            snprintf(errmsg, errmsg_size, "%s: %s", files[i].name, sqlite3_errmsg(db));
            rv = ERR_IO;
        }
        sqlite3_close(db);
    }
    free(in_downline);
    free(links.account);
    free(links.parent);
    return rv;
}

int history_ask(const char *history_dir, const struct history_question_args *args,
                history_row_cb row_cb, void *context, uint64_t *rows, char *errmsg,
                size_t errmsg_size)
{
    *rows = 0;
    if (args->question >= HISTORY_QUESTION_COUNT) {
        snprintf(errmsg, errmsg_size, "no such question");
        return ERR_USAGE;
    }
    static struct history_file files[HISTORY_FILES_MAX];
    uint32_t count = 0;
    int rv = history_file_list(history_dir, files, &count, errmsg, errmsg_size);
    struct history_ask_state state = {.args = args, .row_cb = row_cb, .context = context};
    if (rv == 0 && args->question == HISTORY_DOWNLINE)
        rv = history_downline(history_dir, files, count, &state, errmsg, errmsg_size);
    for (uint32_t i = 0; i < count && rv == 0 && !state.stopped &&
                         args->question != HISTORY_DOWNLINE; i++) {
        if (!history_file_wanted(&files[i], args))
            continue;
        sqlite3 *db = NULL;
        rv = history_db_open(history_dir, files[i].name, &db, errmsg, errmsg_size);
        if (rv == 0)
            rv = history_ask_file(db, &state, errmsg, errmsg_size);
        sqlite3_close(db);
    }
    *rows = state.rows;
    archive_packer_free(state.packer);
    for (int i = 0; i < 4; i++)
        archive_buffer_free(&state.unpacked[i]);
    return rv;
}

/* ---- The files, for `nodown history files`. ---- */

static void history_checksum(const char *dir, struct history_file_info *info)
{
    char path[1024], sum_path[1100], expected[80] = "", actual[33];
    snprintf(path, sizeof path, "%s/%s", dir, info->name);
    snprintf(sum_path, sizeof sum_path, "%s.xxh3", path);
    FILE *file = fopen(sum_path, "r");
    bool read = file != NULL && fscanf(file, "%64s", expected) == 1;
    if (file != NULL)
        fclose(file);
    if (!read) {
        snprintf(info->checksum_error, sizeof info->checksum_error, "%s.xxh3 is missing",
                 info->name);
        return;
    }
    if (archive_file_checksum(path, actual) != 0) {
        snprintf(info->checksum_error, sizeof info->checksum_error, "%s cannot be read",
                 info->name);
        return;
    }
    info->checksum_ok = strcmp(expected, actual) == 0;
    if (!info->checksum_ok)
        snprintf(info->checksum_error, sizeof info->checksum_error,
                 "%s does not match its checksum: changed since its day closed", info->name);
}

int history_files(const char *history_dir, history_file_cb file_cb, void *context, char *errmsg,
                  size_t errmsg_size)
{
    static struct history_file files[HISTORY_FILES_MAX];
    uint32_t count = 0;
    int rv = history_file_list(history_dir, files, &count, errmsg, errmsg_size);
    for (uint32_t i = 0; i < count && rv == 0; i++) {
        struct history_file_info info;
        memset(&info, 0, sizeof info);
        snprintf(info.name, sizeof info.name, "%s", files[i].name);
        sqlite3 *db = NULL;
        rv = history_db_open(history_dir, files[i].name, &db, errmsg, errmsg_size);
        if (rv != 0)
            break;
        info.format_version = (uint32_t)archive_meta_read(db, "format_version");
        info.trading_date = (uint32_t)archive_meta_read(db, "trading_date");
        info.first_seq = (uint64_t)archive_meta_read(db, "first_seq");
        info.last_seq = (uint64_t)archive_meta_read(db, "last_seq");
        info.sealed = archive_meta_read(db, "sealed") == 1;
        sqlite3_close(db);
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", history_dir, info.name);
        info.bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (info.sealed)
            history_checksum(history_dir, &info);
        else
            info.checksum_ok = true;
        rv = file_cb(context, &info);
    }
    return rv;
}
