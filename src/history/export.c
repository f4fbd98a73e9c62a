/* The PostgreSQL export's writer: its connection, its thread and its
 * transactions (export.h); export_rows.c writes the rows.
 *
 *   read records ----> export_take: rows into the tables' buffers,
 *        ^              a message's offsets noted at its end
 *        |                     |
 *        |           whole messages, and due (100 ms, 8192 messages,
 *        |           32 MB) or the ring empty, or a migration
 *        |                     v
 *        +------------ export_commit: BEGIN, the position FOR UPDATE,
 *                      COPY each table from the first message above it,
 *                      [migration], UPDATE the position, COMMIT; on a
 *                      failure: reconnect and try again, same rows,
 *                      backoff 100 ms doubling to 2 s
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "history/export_internal.h"
#include "lib/clock.h"
#include "lib/mem.h"

#define EXPORT_READ_RECORDS 4096u
#define EXPORT_BACKOFF_MS_MAX 2000u
#define EXPORT_SAY_MS 5000
#define EXPORT_CONNECT_TIMEOUT_S "5"

static void export_error(struct export *export, const char *what, const char *why)
{
    char text[256];
    snprintf(text, sizeof text, "%s: %.200s", what, why);
    text[strcspn(text, "\n")] = '\0';
    pthread_mutex_lock(&export->error_lock);
    snprintf(export->error, sizeof export->error, "%s", text);
    pthread_mutex_unlock(&export->error_lock);
    int64_t now_ms = clock_now_ms();
    if (export->said_ms == 0 || now_ms - export->said_ms >= EXPORT_SAY_MS) {
        fprintf(stderr, "nodown: export to PostgreSQL: %s; trying again (position %" PRIu64
                ")\n", text, export->position);
        export->said_ms = now_ms;
    }
}

static PGconn *export_connect(const char *url, char *errmsg, size_t errmsg_size)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *values[] = {url, EXPORT_CONNECT_TIMEOUT_S, "nodown export", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
        return conn;
    snprintf(errmsg, errmsg_size, "cannot connect: %s",
             conn != NULL ? PQerrorMessage(conn) : "out of memory");
    errmsg[strcspn(errmsg, "\n")] = '\0';
    PQfinish(conn);
    return NULL;
}

/* The stored position and schema version; in a transaction with lock,
 * under the row's lock. */
static int export_position_get(PGconn *conn, bool lock, uint64_t *position, uint32_t *schema,
                               char *errmsg, size_t errmsg_size)
{
    PGresult *result = PQexec(conn, lock ? "SELECT last_seq, schema_version, format_version "
                                           "FROM export_position FOR UPDATE"
                                         : "SELECT last_seq, schema_version, format_version "
                                           "FROM export_position");
    int rv = 0;
    if (PQresultStatus(result) != PGRES_TUPLES_OK || PQntuples(result) != 1) {
        snprintf(errmsg, errmsg_size, "export_position: %s",
                 PQresultStatus(result) == PGRES_TUPLES_OK ? "not one row"
                                                           : PQerrorMessage(conn));
        rv = ERR_IO;
    } else if (strtoul(PQgetvalue(result, 0, 2), NULL, 10) != EXPORT_FORMAT_VERSION ||
               strtoul(PQgetvalue(result, 0, 1), NULL, 10) > EXPORT_SCHEMA_VERSION_MAX) {
        snprintf(errmsg, errmsg_size, "export_position says format %s, schema %s; this build "
                 "writes format %u, schemas up to %u", PQgetvalue(result, 0, 2),
                 PQgetvalue(result, 0, 1), EXPORT_FORMAT_VERSION, EXPORT_SCHEMA_VERSION_MAX);
        rv = ERR_VERSION;
    } else {
        *position = strtoull(PQgetvalue(result, 0, 0), NULL, 10);
        *schema = (uint32_t)strtoul(PQgetvalue(result, 0, 1), NULL, 10);
    }
    PQclear(result);
    return rv;
}

int export_position_read(const char *url, uint64_t *position, char *errmsg, size_t errmsg_size)
{
    *position = 0;
    PGconn *conn = export_connect(url, errmsg, errmsg_size);
    if (conn == NULL)
        return ERR_IO;
    PGresult *result = PQexec(conn, "SELECT to_regclass('export_position') IS NULL");
    bool missing = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1 &&
                   strcmp(PQgetvalue(result, 0, 0), "t") == 0;
    PQclear(result);
    uint32_t schema = 0;
    int rv = missing ? 0 : export_position_get(conn, false, position, &schema, errmsg,
                                               errmsg_size);
    PQfinish(conn);
    return rv;
}

static int export_alloc(struct export *export)
{
    for (int t = 0; t < EXPORT_TABLE_COUNT; t++) {
        export->tables[t].data = malloc(EXPORT_BUFFER_START);
        export->tables[t].size = EXPORT_BUFFER_START;
        if (export->tables[t].data == NULL)
            return ERR_NOMEM;
    }
    export->message_seq = mem_array_alloc(EXPORT_TXN_MESSAGES_MAX, sizeof *export->message_seq);
    export->message_offset = mem_array_alloc((EXPORT_TXN_MESSAGES_MAX + 1u) * EXPORT_TABLE_COUNT,
                                             sizeof *export->message_offset);
    return export->message_seq != NULL && export->message_offset != NULL ? 0 : ERR_NOMEM;
}

/* One try: connect, create the tables if missing, read the position. */
static int export_open_once(struct export *export, char *errmsg, size_t errmsg_size)
{
    export->conn = export_connect(export->url, errmsg, errmsg_size);
    if (export->conn == NULL)
        return ERR_IO;
    int rv = export_schema_create(export->conn, errmsg, errmsg_size);
    if (rv == 0)
        rv = export_position_get(export->conn, false, &export->position,
                                 &export->schema_version, errmsg, errmsg_size);
    if (rv != 0) {
        PQfinish(export->conn);
        export->conn = NULL;
    }
    return rv;
}

int export_open(struct export **out, const char *url, uint32_t wait_ms, uint64_t *position,
                char *errmsg, size_t errmsg_size)
{
    struct export *export = calloc(1, sizeof *export);
    *out = export;
    if (export == NULL)
        return ERR_NOMEM;
    pthread_mutex_init(&export->error_lock, NULL);
    snprintf(export->url, sizeof export->url, "%s", url);
    if (export_alloc(export) != 0) {
        snprintf(errmsg, errmsg_size, "out of memory for the export's buffers");
        return ERR_NOMEM;
    }
    int64_t start_ms = clock_now_ms();
    int64_t said_ms = start_ms - EXPORT_SAY_MS; /* the first failure is said at once */
    int rv;
    while ((rv = export_open_once(export, errmsg, errmsg_size)) == ERR_IO &&
           clock_now_ms() - start_ms < (int64_t)wait_ms) {
        if (clock_now_ms() - said_ms >= EXPORT_SAY_MS) {
            fprintf(stderr, "nodown: export: waiting for PostgreSQL: %s\n", errmsg);
            said_ms = clock_now_ms();
        }
        clock_sleep_ms(1000);
    }
    atomic_store(&export->connected, rv == 0);
    atomic_store(&export->schema_committed, export->schema_version);
    *position = export->position;
    return rv;
}

/* ---- Transactions. ---- */

/* Rows [from, to) of a table through COPY. */
static int export_copy(struct export *export, enum export_table table, uint32_t schema,
                       size_t from, size_t to, char *errmsg, size_t errmsg_size)
{
    assert(to <= export->tables[table].used);
    assert(to == 0 || export->tables[table].data[to - 1] == '\n'); /* whole rows only */
    if (from >= to)
        return 0;
    PGconn *conn = export->conn;
    PGresult *result = PQexec(conn, export_copy_sql(table, schema));
    bool copying = PQresultStatus(result) == PGRES_COPY_IN;
    PQclear(result);
    if (!copying ||
        PQputCopyData(conn, export->tables[table].data + from, (int)(to - from)) != 1 ||
        PQputCopyEnd(conn, NULL) != 1) {
        snprintf(errmsg, errmsg_size, "%s: %s", export_copy_sql(table, schema),
                 PQerrorMessage(conn));
        return ERR_IO;
    }
    int rv = 0;
    while ((result = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK && rv == 0) {
            snprintf(errmsg, errmsg_size, "COPY into table %d: %s", (int)table,
                     PQerrorMessage(conn));
            rv = ERR_IO;
        }
        PQclear(result);
    }
    return rv;
}

/* The first buffered message above stored (message_count: none). */
static uint32_t export_first_new(const struct export *export, uint64_t stored)
{
    uint32_t first = 0;
    while (first < export->message_count && export->message_seq[first] <= stored)
        first++;
    return first;
}

/* Every table's new rows, with the migration between its schemas. */
static int export_copy_all(struct export *export, uint32_t first, uint32_t stored_schema,
                           char *errmsg, size_t errmsg_size)
{
    bool migrate = export->migrate && stored_schema < 2;
    int rv = 0;
    for (int t = 0; t < EXPORT_TABLE_COUNT && rv == 0; t++) {
        size_t from = export->message_offset[(size_t)first * EXPORT_TABLE_COUNT + t];
        size_t split = export->migrate ? export->migrate_offset[t] : from;
        if (migrate && split > from)
            rv = export_copy(export, t, 1, from, split, errmsg, errmsg_size);
        if (split > from)
            from = split;
        if (rv == 0)
            rv = export_copy(export, t, export->schema_version, from,
                             export->tables[t].used, errmsg, errmsg_size);
    }
    return rv;
}

/* One try of the transaction; 1 when there was nothing new to store. */
static int export_commit_once(struct export *export, char *errmsg, size_t errmsg_size)
{
    assert(export->message_count > 0 && !export->in_message);
    if (export->conn == NULL &&
        (export->conn = export_connect(export->url, errmsg, errmsg_size)) == NULL)
        return ERR_IO;
    uint64_t stored = 0;
    uint32_t stored_schema = 0;
    int rv = export_exec(export->conn, "BEGIN", errmsg, errmsg_size);
    if (rv == 0)
        rv = export_position_get(export->conn, true, &stored, &stored_schema, errmsg,
                                 errmsg_size);
    uint32_t first = rv == 0 ? export_first_new(export, stored) : 0;
    bool nothing = rv == 0 && first == export->message_count;
    if (rv == 0 && !nothing)
        rv = export_copy_all(export, first, stored_schema, errmsg, errmsg_size);
    if (rv == 0 && !nothing && export->migrate && stored_schema < 2)
        rv = export_schema_migrate(export->conn, errmsg, errmsg_size);
    if (rv == 0 && !nothing) {
        char sql[200];
        snprintf(sql, sizeof sql, "UPDATE export_position SET last_seq = %" PRIu64
                 ", schema_version = %u%s", export->message_seq[export->message_count - 1],
                 export->schema_version,
                 export->migrate && stored_schema < 2 ? ", schema_seq = " : "");
        if (export->migrate && stored_schema < 2)
            snprintf(sql + strlen(sql), sizeof sql - strlen(sql), "%" PRIu64,
                     export->migrate_seq);
        rv = export_exec(export->conn, sql, errmsg, errmsg_size);
    }
    if (rv == 0)
        rv = export_exec(export->conn, "COMMIT", errmsg, errmsg_size);
    if (rv != 0) {
        PQfinish(export->conn); /* a new connection for the next try: PostgreSQL may be back */
        export->conn = NULL;
        return rv;
    }
    if (stored > export->position)
        export->position = stored;
    return nothing ? 1 : 0;
}

static void export_txn_reset(struct export *export)
{
    for (int t = 0; t < EXPORT_TABLE_COUNT; t++)
        export->tables[t].used = 0;
    export->message_count = 0;
    export->txn_events = 0;
    export->txn_rows = 0;
    export->migrate = false;
    export->txn_started_ms = clock_now_ms();
}

/* Commits the buffered messages, trying again until it succeeds or the
 * writer is told to stop. Returns 0, or ERR_IO when it gave up. */
static int export_commit(struct export *export)
{
    assert(!export->in_message);
    if (export->message_count == 0)
        return 0;
    char errmsg[512];
    uint32_t backoff_ms = 100;
    int rv;
    while ((rv = export_commit_once(export, errmsg, sizeof errmsg)) < 0) {
        atomic_store(&export->connected, 0);
        atomic_fetch_add(&export->retries, 1);
        export_error(export, "commit", errmsg);
        if (atomic_load(&export->stop) != 0)
            return ERR_IO;
        clock_sleep_ms(backoff_ms);
        backoff_ms = backoff_ms * 2 > EXPORT_BACKOFF_MS_MAX ? EXPORT_BACKOFF_MS_MAX
                                                           : backoff_ms * 2;
    }
    if (!atomic_load(&export->connected) && export->said_ms != 0)
        fprintf(stderr, "nodown: export to PostgreSQL: connected again\n");
    atomic_store(&export->connected, 1);
    if (rv == 0) {
        assert(export->message_seq[export->message_count - 1] > export->position);
        export->position = export->message_seq[export->message_count - 1];
        atomic_store(&export->schema_committed, export->schema_version);
        atomic_fetch_add(&export->events, export->txn_events);
        atomic_fetch_add(&export->rows, export->txn_rows);
        atomic_fetch_add(&export->commits, 1);
    }
    feed_consumer_committed(export->consumer, export->position);
    export_txn_reset(export);
    return 0;
}

/* A message's start: its rows are read, or skipped when stored already. */
static void export_batch_start(struct export *export, const struct feed_record *record)
{
    assert(record->kind == FEED_BATCH);
    assert(export->message_count == 0 ||
           record->stream_seq > export->message_seq[export->message_count - 1]);
    export->in_message = true;
    export->skipping = record->stream_seq <= export->position;
    export->batch_seq = record->stream_seq;
    export->batch_time_ns = record->time_ns;
    export->batch_commands = record->u.batch.command_count;
    export->batch_events = 0;
    if (export->message_count == 0) {
        for (int t = 0; t < EXPORT_TABLE_COUNT; t++)
            export->message_offset[t] = 0;
    }
}

/* A message's end: its offsets noted. */
static int export_batch_end(struct export *export, const struct feed_record *record)
{
    assert(record->stream_seq == export->batch_seq);
    export->in_message = false;
    if (export->skipping)
        return 0;
    int rv = export_message_row(export, record->logic_version);
    if (rv != 0)
        return rv;
    assert(export->message_count < EXPORT_TXN_MESSAGES_MAX);
    export->message_seq[export->message_count++] = record->stream_seq;
    for (int t = 0; t < EXPORT_TABLE_COUNT; t++)
        export->message_offset[(size_t)export->message_count * EXPORT_TABLE_COUNT + t] =
            export->tables[t].used;
    return 0;
}

/* One record; returns 1 when a message ended (a point to commit at). */
static int export_take(struct export *export, const struct feed_record *record)
{
    if (record->kind == FEED_BATCH) {
        assert(!export->in_message);
        export_batch_start(export, record);
        return 0;
    }
    if (!export->in_message)
        return 0; /* never: the feed hands on whole messages */
    if (record->kind == FEED_BATCH_END) {
        int rv = export_batch_end(export, record);
        return rv == 0 ? 1 : rv;
    }
    return export->skipping ? 0 : export_record(export, record);
}

static bool export_commit_due(const struct export *export)
{
    size_t bytes = 0;
    for (int t = 0; t < EXPORT_TABLE_COUNT; t++)
        bytes += export->tables[t].used;
    return export->migrate || export->message_count >= EXPORT_TXN_MESSAGES_MAX ||
           bytes >= EXPORT_TXN_BYTES ||
           (export->message_count > 0 &&
            clock_now_ms() - export->txn_started_ms >= EXPORT_TXN_MS);
}

static void *export_thread(void *context)
{
    struct export *export = context;
    struct feed_record *records = mem_array_alloc(EXPORT_READ_RECORDS, sizeof *records);
    bool failed = records == NULL;
    export_txn_reset(export);
    while (!failed) {
        uint32_t count = feed_consumer_read(export->consumer, records, EXPORT_READ_RECORDS, 20);
        for (uint32_t i = 0; i < count && !failed; i++) {
            int rv = export_take(export, &records[i]);
            if (rv < 0) {
                export_error(export, "rows", err_text(rv));
                failed = true;
            } else if (rv == 1 && export_commit_due(export)) {
                failed = export_commit(export) != 0;
            }
        }
        if (count == 0 && !export->in_message && !failed)
            failed = export_commit(export) != 0;
        if (count == 0 && atomic_load(&export->stop) != 0 && !export->in_message)
            break;
    }
    mem_free(records);
    return NULL;
}

int export_start(struct export *export, struct feed_consumer *consumer, char *errmsg,
                 size_t errmsg_size)
{
    assert(export != NULL && !export->thread_started);
    export->consumer = consumer;
    if (pthread_create(&export->thread, NULL, export_thread, export) != 0) {
        snprintf(errmsg, errmsg_size, "cannot start the export's thread");
        return ERR_NOMEM;
    }
    export->thread_started = true;
    return 0;
}

void export_close(struct export *export, uint32_t wait_ms)
{
    if (export == NULL)
        return;
    if (export->thread_started) {
        int64_t start_ms = clock_now_ms();
        while (feed_consumer_lag(export->consumer) > 0 &&
               clock_now_ms() - start_ms < (int64_t)wait_ms)
            clock_sleep_ms(5);
        atomic_store(&export->stop, 1);
        pthread_join(export->thread, NULL);
    }
    PQfinish(export->conn);
    for (int t = 0; t < EXPORT_TABLE_COUNT; t++)
        free(export->tables[t].data);
    mem_free(export->message_seq);
    mem_free(export->message_offset);
    pthread_mutex_destroy(&export->error_lock);
    free(export);
}

void export_stats_get(struct export *export, struct export_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    if (export == NULL)
        return;
    stats->position = export->consumer != NULL ? atomic_load(&export->consumer->committed_seq)
                                               : export->position;
    stats->events = atomic_load(&export->events);
    stats->rows = atomic_load(&export->rows);
    stats->commits = atomic_load(&export->commits);
    stats->retries = atomic_load(&export->retries);
    stats->connected = atomic_load(&export->connected);
    stats->schema_version = atomic_load(&export->schema_committed);
    pthread_mutex_lock(&export->error_lock);
    snprintf(stats->error, sizeof stats->error, "%s", export->error);
    pthread_mutex_unlock(&export->error_lock);
}
