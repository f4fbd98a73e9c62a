/* The archive: every applied command, event and balance move, by trading
 * day, in SQLite files under a node's data directory (DIR/history),
 * written by a thread of its own from the replica's feed (replica/feed.h).
 *
 *   DIR/history/current.db       the open day: WAL mode, rows and the
 *                                writer's position in one transaction
 *   DIR/history/day-YYYYMMDD.db  a closed day: read-only (mode 0444),
 *                                never written or migrated again
 *   DIR/history/day-YYYYMMDD.db.xxh3  its checksum (XXH3-128, hex)
 *
 * A day's file holds what was applied after the previous day's end up to
 * and including its own DAY_END; the writer seals it in the transaction
 * that commits that DAY_END (meta "sealed"), then checkpoints, closes,
 * renames, makes it read-only and writes its checksum; a crash in between
 * is finished at the next open. The tables and the format version are in
 * docs/history.md; every format stays readable by newer builds.
 *
 * Exactly once: the position (meta "last_seq") is written in the same
 * transaction as the rows of each whole stream message, and a transaction
 * never holds part of a message; rows of a message at or below the stored
 * position are never written again (the writer reads the position inside
 * its transaction, so two writers, an old and a new process of the same
 * node, never repeat a row).
 */
#ifndef NODOWN_HISTORY_ARCHIVE_H
#define NODOWN_HISTORY_ARCHIVE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "replica/feed.h"

#define ARCHIVE_FORMAT_VERSION 1u
#define ARCHIVE_DIR "history"
#define ARCHIVE_CURRENT "current.db"

struct archive;

struct archive_stats {
    uint64_t position;      /* last stream_seq stored */
    uint64_t rows;          /* rows written since open */
    uint64_t events;        /* of them, events */
    uint64_t commits;
    uint64_t days_sealed;
    uint64_t gaps;          /* messages it never received (see docs) */
    uint64_t cpu_ns;        /* the writer thread's CPU time since start */
    char error[256];        /* the last write error, or "" */
};

/* Opens (creates) data_dir/history and the open day's file, finishing a
 * seal a crash interrupted; *position: the last stream_seq stored (0:
 * none). Returns 0 or an error with errmsg. */
int archive_open(struct archive **archive, const char *data_dir, uint64_t *position,
                 char *errmsg, size_t errmsg_size);

/* The position stored in data_dir's archive, read only (0: none). */
int archive_position_read(const char *data_dir, uint64_t *position, char *errmsg,
                          size_t errmsg_size);

/* Starts the writer thread on consumer. Returns 0 or an error. */
int archive_start(struct archive *archive, struct feed_consumer *consumer, char *errmsg,
                  size_t errmsg_size);

/* Stops the writer once it stored everything handed to it, or after
 * wait_ms; then closes. Safe with a NULL archive. */
void archive_close(struct archive *archive, uint32_t wait_ms);

void archive_stats_get(struct archive *archive, struct archive_stats *stats);

/* A day file's checksum, as its .xxh3 file holds it (XXH3-128, hex). */
int archive_file_checksum(const char *path, char hex[33]);

/* A value of a file's meta table, or 0 when it has none. */
struct sqlite3;
int64_t archive_meta_read(struct sqlite3 *db, const char *key);

#endif
