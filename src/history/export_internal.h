/* Shared by export.c (connection, thread, transactions) and
 * export_rows.c (the schema and each record's rows); nothing else
 * includes it. */
#ifndef NODOWN_HISTORY_EXPORT_INTERNAL_H
#define NODOWN_HISTORY_EXPORT_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>

#include "history/export.h"

enum export_table {
    EXPORT_MESSAGES,
    EXPORT_ORDERS,
    EXPORT_TRADES,
    EXPORT_BETS,
    EXPORT_SETTLEMENTS,
    EXPORT_BALANCES,
    EXPORT_ACCOUNT_CHANGES,
    EXPORT_COMMISSIONS, /* schema 2 */
    EXPORT_TABLE_COUNT
};

/* Messages in one transaction at most; it is committed at a message's end
 * once it holds this many, EXPORT_TXN_BYTES of rows or is EXPORT_TXN_MS
 * old. A message alone may be larger (its buffers grow). */
#define EXPORT_TXN_MESSAGES_MAX 8192u
#define EXPORT_TXN_BYTES (32u << 20)
#define EXPORT_TXN_MS 10
#define EXPORT_BUFFER_START (4u << 20)

/* One table's rows of the transaction, in COPY's text format. */
struct export_buffer {
    char *data;
    size_t used;
    size_t size;
};

struct export {
    char url[1024];
    PGconn *conn;                 /* NULL while disconnected */
    uint32_t schema_version;      /* of the tables, as last committed */
    uint64_t position;            /* stored: the last whole message */
    struct export_buffer tables[EXPORT_TABLE_COUNT];
    /* The whole messages buffered: their seqs and where each one's rows
     * start in each table. */
    uint32_t message_count;
    uint64_t *message_seq;        /* EXPORT_TXN_MESSAGES_MAX */
    size_t *message_offset;       /* EXPORT_TXN_MESSAGES_MAX * EXPORT_TABLE_COUNT */
    uint64_t txn_events;
    uint64_t txn_rows;
    int64_t txn_started_ms;
    /* The message being read. */
    bool in_message;
    bool skipping;                /* a message at or below position */
    uint64_t batch_seq;
    uint64_t batch_time_ns;
    uint32_t batch_commands;
    uint32_t batch_events;        /* its events so far: their ordinal */
    /* A buffered message activated logic 3 or more: the rows before
     * migrate_offset are at schema 1, those after at 2 (schema_version
     * is 2 from the activation's command on); the commit changes the
     * tables between their COPYs. */
    bool migrate;
    uint64_t migrate_seq;
    size_t migrate_offset[EXPORT_TABLE_COUNT];
    /* The writer thread. */
    pthread_t thread;
    bool thread_started;
    struct feed_consumer *consumer;
    _Atomic int stop;             /* 1: commit what is whole and stop */
    _Atomic uint64_t events;
    _Atomic uint64_t rows;
    _Atomic uint64_t commits;
    _Atomic uint64_t retries;
    _Atomic int connected;
    _Atomic uint32_t schema_committed; /* schema_version as last committed, for stats */
    int64_t said_ms;              /* the last failure said on stderr */
    pthread_mutex_t error_lock;
    char error[256];
};

/* export_rows.c */
/* Creates the tables at schema 1 when there are none (under an advisory
 * lock, so that two exporters starting together create them once). */
int export_schema_create(PGconn *conn, char *errmsg, size_t errmsg_size);
/* Brings the tables from schema 1 to 2, in the caller's transaction. */
int export_schema_migrate(PGconn *conn, char *errmsg, size_t errmsg_size);
/* The COPY statement of a table's rows at a schema version. */
const char *export_copy_sql(enum export_table table, uint32_t schema_version);
/* One record of a message being read (not FEED_BATCH or FEED_BATCH_END). */
int export_record(struct export *export, const struct feed_record *record);
/* The message's row in messages, at its end. */
int export_message_row(struct export *export, uint32_t logic_version);
/* Runs sql; 0, or ERR_IO with PostgreSQL's reason in errmsg. */
int export_exec(PGconn *conn, const char *sql, char *errmsg, size_t errmsg_size);

#endif
