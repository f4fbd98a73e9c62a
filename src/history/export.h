/* The PostgreSQL export: orders, trades, bets, settlements, balances and
 * account changes, from the replica's feed (replica/feed.h) into tables
 * whose schemas docs/export.md gives, exactly once.
 *
 * A writer thread reads its feed consumer's ring, turns each record into
 * rows of COPY text, one buffer per table, and commits whole stream
 * messages only:
 *
 *   BEGIN
 *   SELECT last_seq, schema_version FROM export_position FOR UPDATE
 *   COPY <table> FROM STDIN          (each table with rows; the messages
 *                                     at or below last_seq left out)
 *   [ALTER TABLE ...]                (the schema change of a logic
 *                                     version, at its activation)
 *   UPDATE export_position SET last_seq = <the last message's seq>
 *   COMMIT                                             [export_commit]
 *
 * The position is read inside the transaction, under the row's lock, so
 * two writers (the old and the new process of a hand-over, or an
 * exporter restarted while a commit of the old one was in doubt) never
 * store a message twice; a transaction never holds part of a message. A
 * failed commit (PostgreSQL down or restarting) is tried again with the
 * same rows after a bounded backoff, on a new connection, saying so on
 * stderr once every few seconds; meanwhile the ring fills and then the
 * apply loop waits (feed.h).
 */
#ifndef NODOWN_HISTORY_EXPORT_H
#define NODOWN_HISTORY_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "replica/feed.h"

/* The layout of export_position itself (the one-row table). */
#define EXPORT_FORMAT_VERSION 1u
/* The tables' schema: 1 at the start, 2 from ACTIVATE_LOGIC 3 on
 * (commissions, account_changes.rate_bp). */
#define EXPORT_SCHEMA_VERSION_MAX 2u

struct export;

struct export_stats {
    uint64_t position;       /* last stream_seq committed */
    uint64_t events;         /* events committed since open */
    uint64_t rows;           /* rows committed since open */
    uint64_t commits;
    uint64_t retries;        /* commits tried again after a failure */
    uint32_t schema_version;
    int connected;           /* 1 while the last commit succeeded */
    char error[256];         /* the last failure, or "" */
};

/* Connects to url (a libpq connection string or URI), creates the tables
 * if there are none, and reads the position (*position: the last
 * stream_seq stored, 0: none). Tries again every second, saying so on
 * stderr every 5 s, until wait_ms passes (0: once). Returns 0 or an error
 * with errmsg. */
int export_open(struct export **export, const char *url, uint32_t wait_ms, uint64_t *position,
                char *errmsg, size_t errmsg_size);

/* The position stored at url, read only (0: none, or no tables yet). */
int export_position_read(const char *url, uint64_t *position, char *errmsg, size_t errmsg_size);

/* Starts the writer thread on consumer. Returns 0 or an error. */
int export_start(struct export *export, struct feed_consumer *consumer, char *errmsg,
                 size_t errmsg_size);

/* Stops the writer once it has committed everything handed to it, or
 * after wait_ms; then closes. Safe with NULL. */
void export_close(struct export *export, uint32_t wait_ms);

void export_stats_get(struct export *export, struct export_stats *stats);

#endif
