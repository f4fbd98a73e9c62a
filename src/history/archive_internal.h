/* Shared by archive.c (files, thread, transactions) and archive_rows.c
 * (the schema and each record's rows); nothing else includes it. */
#ifndef NODOWN_HISTORY_ARCHIVE_INTERNAL_H
#define NODOWN_HISTORY_ARCHIVE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "history/archive.h"
#include "history/archive_codec.h"
#include "history/history_keys.h"

enum archive_statement {
    ARCHIVE_INSERT_MESSAGE,
    ARCHIVE_INSERT_RECORDS,
    ARCHIVE_INSERT_POSTING,
    ARCHIVE_INSERT_ACCOUNT,
    ARCHIVE_UPSERT_ACCOUNT_DAY,
    ARCHIVE_SET_META,
    ARCHIVE_STATEMENT_COUNT
};

/* One account's figures over the open day (the account_day table). */
struct archive_account_day {
    int64_t commands, orders, trades, traded_quantity, fees_minor, bets, stake_minor;
    int64_t payout_minor, balance_minor, first_seq, last_seq;
    uint8_t dirty; /* changed since the last commit */
};

/* Where a record is: blob (ARCHIVE_BLOB_*), offset, length. */
enum { ARCHIVE_BLOB_COMMANDS = 1, ARCHIVE_BLOB_EVENTS = 2, ARCHIVE_BLOB_BALANCES = 3 };
#define ARCHIVE_REF(blob, offset, length) \
    ((uint64_t)(blob) | ((uint64_t)(length) << 2) | ((uint64_t)(offset) << 12))
#define ARCHIVE_REF_BLOB(ref) ((ref) & 3u)
#define ARCHIVE_REF_LENGTH(ref) (((ref) >> 2) & 1023u)
#define ARCHIVE_REF_OFFSET(ref) ((ref) >> 12)
_Static_assert(ARCHIVE_RECORD_MAX < 1024, "a record's length fits its ref");
/* Rows in one transaction before it is committed at a message's end. */
#define ARCHIVE_TXN_ROWS_MAX 2000000u
#define ARCHIVE_TXN_MS 1000u

struct archive {
    char dir[512];                /* DATA/history */
    sqlite3 *db;                  /* current.db, or NULL between days */
    sqlite3_stmt *statements[ARCHIVE_STATEMENT_COUNT];
    uint64_t position;            /* stored: the last whole message */
    bool in_transaction;
    uint64_t txn_rows;
    int64_t txn_started_ms;
    /* The transaction's records, by blob: each message's are one slice
     * (its row's blobs), and the postings refer to them. */
    uint64_t batch_seq;
    uint64_t batch_time_ns;
    uint32_t batch_commands;
    uint32_t batch_events;
    struct archive_buffer blobs[4]; /* [ARCHIVE_BLOB_*] */
    size_t batch_start[4];          /* where the message's slice starts */
    bool skipping;                /* a message at or below position */
    bool seal_after;              /* it ended a day: seal after commit */
    uint32_t trading_date;        /* of the open day, 0 before the first */
    bool file_started;            /* the open file's meta.first_seq is set */
    /* Accounts already in this file's accounts table, by status + 1. */
    uint8_t *account_seen;
    uint32_t accounts_max;
    struct archive_account_day *days; /* accounts_max */
    uint32_t *dirty;                  /* the accounts with days[].dirty */
    uint32_t dirty_count;
    /* This transaction's postings' entries, sorted and grouped at
     * commit; they grow as needed (the writer's thread only). */
    struct history_key *keys;
    struct history_key *keys_scratch;
    uint32_t key_count;
    uint32_t key_capacity;
    struct archive_buffer posting;
    struct archive_packer *packer;
    struct archive_buffer packed[4]; /* blobs as stored (archive_pack) */
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
    _Atomic uint64_t cpu_ns;
    pthread_mutex_t error_lock;
    char error[256];
};

/* archive_rows.c */
int archive_schema_create(sqlite3 *db, char *errmsg, size_t errmsg_size);
int archive_statements_prepare(struct archive *archive, char *errmsg, size_t errmsg_size);
void archive_statements_finalize(struct archive *archive);
/* One record of a message being written (not FEED_BATCH_END). */
int archive_record(struct archive *archive, const struct feed_record *record);
/* The message's row, at its end. */
int archive_batch_finish(struct archive *archive);
/* The transaction's keys, as posting lists, and the changed account_day
 * rows: at commit. */
int archive_keys_flush(struct archive *archive);
int archive_days_flush(struct archive *archive);
/* The open day's account_day rows, read back at open. */
int archive_days_load(struct archive *archive);
int archive_meta_set(struct archive *archive, const char *key, int64_t value);
int archive_exec(sqlite3 *db, const char *sql, char *errmsg, size_t errmsg_size);
int64_t archive_meta_get(sqlite3 *db, const char *key, int64_t absent);

#endif
