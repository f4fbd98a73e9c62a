/* Shared by archive.c (files, thread, transactions) and archive_rows.c
 * (the schema and each record's rows); nothing else includes it. */
#ifndef NODOWN_HISTORY_ARCHIVE_INTERNAL_H
#define NODOWN_HISTORY_ARCHIVE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "history/archive.h"
#include "history/history_keys.h"

enum archive_statement {
    ARCHIVE_INSERT_BATCH,
    ARCHIVE_INSERT_COMMAND,
    ARCHIVE_INSERT_EVENT,
    ARCHIVE_INSERT_BALANCE,
    ARCHIVE_INSERT_ACCOUNT,
    ARCHIVE_INSERT_KEY,
    ARCHIVE_SET_META,
    ARCHIVE_STATEMENT_COUNT
};

/* Keys of one transaction, sorted before they go in (history_keys.h). */
#define ARCHIVE_KEYS_MAX (1u << 20)
/* Rows in one transaction before it is committed at a message's end. */
#define ARCHIVE_TXN_ROWS_MAX 400000u
#define ARCHIVE_TXN_MS 100u

struct archive {
    char dir[512];                /* DATA/history */
    sqlite3 *db;                  /* current.db, or NULL between days */
    sqlite3_stmt *statements[ARCHIVE_STATEMENT_COUNT];
    uint64_t position;            /* stored: the last whole message */
    bool in_transaction;
    uint64_t txn_rows;
    int64_t txn_started_ms;
    /* The message being written. */
    uint64_t batch_seq;
    uint64_t batch_time_ns;
    uint32_t batch_commands;
    uint32_t batch_events;        /* events of it so far: their ordinal */
    int64_t batch_first_event;    /* rowid of its first event, or 0 */
    bool skipping;                /* a message at or below position */
    bool seal_after;              /* it ended a day: seal after commit */
    uint32_t trading_date;        /* of the open day, 0 before the first */
    /* Accounts already in this file's accounts table, by status + 1. */
    uint8_t *account_seen;
    uint32_t accounts_max;
    /* This transaction's keys, deduplicated per message. */
    struct history_key *keys;
    uint32_t key_count;
    uint32_t batch_key_start;
    /* The writer thread. */
    pthread_t thread;
    bool thread_started;
    struct feed_consumer *consumer;
    _Atomic int stop;             /* 1: drain and stop */
    _Atomic uint64_t rows;
    _Atomic uint64_t events;
    _Atomic uint64_t commits;
    _Atomic uint64_t days_sealed;
    _Atomic uint64_t gaps;
    pthread_mutex_t error_lock;
    char error[256];
};

/* archive_rows.c */
int archive_schema_create(sqlite3 *db, char *errmsg, size_t errmsg_size);
int archive_statements_prepare(struct archive *archive, char *errmsg, size_t errmsg_size);
void archive_statements_finalize(struct archive *archive);
/* One record of a message being written (not FEED_BATCH_END). */
int archive_record(struct archive *archive, const struct feed_record *record);
/* The message's row in batches and its keys, at its end. */
int archive_batch_finish(struct archive *archive);
/* The transaction's keys, sorted, into the keys table. */
int archive_keys_flush(struct archive *archive);
int archive_meta_set(struct archive *archive, const char *key, int64_t value);
int archive_exec(sqlite3 *db, const char *sql, char *errmsg, size_t errmsg_size);
int64_t archive_meta_get(sqlite3 *db, const char *key, int64_t absent);

#endif
