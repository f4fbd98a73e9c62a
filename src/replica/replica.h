/* The replica: the state machine fed from the stream, one message (one
 * batch of commands) at a time, and its snapshots on disk.
 *
 *   replica_open --> load the newest valid snapshot (or start empty)
 *        |
 *        v
 *   replica_apply(seq, time, bytes) for seq = applied_seq + 1, + 2, ...
 *        |   a seq at or below applied_seq is a repeat: ignored
 *        |   a seq above applied_seq + 1 is a gap: refused (read again)
 *        +--> replica_snapshot_start (a forked child writes the file)
 *        +--> replica_snapshot_poll  (reaps it, keeps the newest few)
 *
 * Exactly once: each message is applied when, and only when, its sequence
 * is the next one; the applied sequence and the state move together, and a
 * snapshot records the sequence it reflects, so a restart consumes from
 * the snapshot's sequence + 1. Time is the message's stored timestamp,
 * made monotonic, so every replica sees the same clock.
 *
 * Snapshot file, format version 2, little-endian:
 *   u32 magic "NDSF"  u32 format_version  u64 stream_seq  u64 time_ns
 *   u64 XXH3-64 of the 24 bytes before it
 *   then one engine snapshot (src/core/snapshot.h, its own header and
 *   checksum). Version 1, still read, had no header checksum: a changed
 *   byte of its time_ns went unnoticed (found by fuzz_replica).
 *   Named snapshot-<stream_seq, 20 digits>.ndsf in
 *   <data dir>/snapshots, written to a temporary name, synced, renamed.
 */
#ifndef NODOWN_REPLICA_REPLICA_H
#define NODOWN_REPLICA_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec/command_codec.h"
#include "core/engine.h"
#include "replica/journal.h"
#include "replica/orders_done.h"

#define REPLICA_FILE_MAGIC 0x4653444Eu /* "NDSF" */
#define REPLICA_FILE_VERSION 2u
#define REPLICA_FILE_HEADER_SIZE 32u    /* version 2; version 1: 24 */
#define REPLICA_FILE_HEADER_SIZE_V1 24u
#define REPLICA_SNAPSHOTS_KEPT 3u /* older files are removed */
#define REPLICA_PATH_MAX 512u
/* Batches decoded ahead of the apply (replica_decode_ahead). */
#define REPLICA_DECODE_AHEAD 16u

struct replica_pool;
struct feed;

/* Told of every command's outcome as the batch that carried it applies. */
typedef void (*replica_outcome_cb)(void *context, uint64_t stream_seq,
                                   const struct command *command,
                                   const struct outcome *outcome);

struct replica {
    struct engine engine;
    char dir[REPLICA_PATH_MAX];     /* <data dir>/snapshots */
    uint64_t applied_seq;           /* last stream sequence applied */
    uint64_t time_ns;               /* monotonic stream time */
    uint64_t snapshot_seq;          /* newest snapshot on disk */
    uint64_t bytes_since_snapshot;  /* stream bytes applied since it */
    uint64_t malformed_batches;     /* skipped, identically everywhere */
    uint64_t batches_applied;       /* counters for the node's metrics */
    uint64_t commands_applied;
    uint64_t orders_applied;        /* order and bet placements */
    pid_t snapshot_pid;             /* a child writing one, or 0 */
    uint64_t snapshot_pid_seq;
    uint64_t snapshot_pause_ns_max; /* longest fork(): the loop's pause */
    /* The message this replica cannot apply (ERR_LOGIC_UNSUPPORTED), or 0.
     * Once set, nothing more is applied, and no snapshot is written: the
     * commands of that message before the activation are applied, so the
     * state is not the state at applied_seq (docs/upgrades.md). */
    uint64_t stopped_seq;
    uint32_t stopped_version;       /* the logic version it activates */
    struct command *commands;       /* BATCH_COMMANDS_MAX, for decoding */
    struct outcome *outcomes;
    struct replica_pool *pool;      /* batches decoded ahead, or NULL */
    /* Orders finished since this replica opened, for the order query:
     * filled from the apply's events, never part of the state. */
    struct orders_done orders_done;
    /* The consumers of what it applies (feed.h), or NULL. */
    struct feed *feed;
    /* Told every event applied, after the consumers; NULL: nothing (the
     * FIX acceptor reports fills with it: gateway_fix.c). */
    event_emit_cb event_tap;
    void *event_tap_context;
    /* A snapshot at or below it is never pruned: the lowest position of
     * the feed's consumers (UINT64_MAX: none). */
    uint64_t keep_seq;
};

/* The snapshot file of stream_seq in a snapshot directory (a replica's
 * dir: data_dir/snapshots); prefix "" for the file itself, "." for the
 * temporary it is written as. */
void replica_snapshot_path(const char *dir, uint64_t stream_seq, const char *prefix, char *path,
                           size_t size);

/* The sequences of the snapshot files in dir, newest first; returns how
 * many (at most max). */
uint32_t replica_snapshot_list(const char *dir, uint64_t *seqs, uint32_t max);

/* Opens the replica in data_dir (creates data_dir/snapshots), loading the
 * newest snapshot that decodes; each one that does not is reported on
 * stderr by name and the one before is tried. Returns 0 or an error with
 * errmsg. */
int replica_open(struct replica *replica, const char *data_dir, const struct limits *limits,
                 char *errmsg, size_t errmsg_size);
void replica_close(struct replica *replica);

/* replica_open, loading the newest snapshot at or below seq_max (the feed's
 * floor); when none is, the empty state if empty_ok (the stream still
 * holds sequence 1), else the oldest snapshot there is. */
int replica_open_at_most(struct replica *replica, const char *data_dir,
                         const struct limits *limits, uint64_t seq_max, bool empty_ok,
                         char *errmsg, size_t errmsg_size);

/* Applies the stream message at stream_seq. Returns 0 when applied,
 * REPLICA_REPEAT when stream_seq was applied already (nothing done),
 * ERR_REPLICA_GAP when stream_seq is not the next one (nothing done: read
 * again from applied_seq + 1), or ERR_LOGIC_UNSUPPORTED when the batch
 * activates a logic version this build cannot run: the commands before it
 * in the batch were applied, stopped_seq is set, and every later call for
 * that sequence or after returns ERR_LOGIC_UNSUPPORTED again, applying
 * nothing (repeats and gaps are still told as such). A batch that does not
 * decode is applied as no command at all, counted in malformed_batches:
 * every replica reads the same bytes, so every replica skips it. */
#define REPLICA_REPEAT 1
int replica_apply(struct replica *replica, uint64_t stream_seq, uint64_t timestamp_ns,
                  const void *data, size_t size, replica_outcome_cb outcome_cb, void *context);

/* Decodes each message of journal as it arrives, on libnats' delivery
 * thread, into one of REPLICA_DECODE_AHEAD batches, so that the reader's
 * thread only applies (replica_apply_message): decoding costs about as
 * much as applying, and the two then run on two cores. The journal must
 * be closed before the replica. Returns 0 or ERR_NOMEM. */
int replica_decode_ahead(struct replica *replica, struct journal *journal);

/* replica_apply for a journal message callback: uses the batch decoded
 * ahead, if there is one. */
int replica_apply_message(struct replica *replica, struct journal *journal, uint64_t stream_seq,
                          uint64_t timestamp_ns, const void *data, size_t size,
                          replica_outcome_cb outcome_cb, void *context);

/* Starts writing a snapshot of the current state in a forked child (the
 * state is shared copy-on-write, so this pauses the caller only for the
 * fork). Returns 0, or an error when one is still being written, or
 * ERR_LOGIC_UNSUPPORTED once the replica stopped (stopped_seq): its state
 * is not the state at any sequence. */
int replica_snapshot_start(struct replica *replica, char *errmsg, size_t errmsg_size);

/* Reaps a finished child: 1 when a snapshot was completed, 0 when none is
 * running or it is still running, or an error when the child failed. With
 * wait set, blocks until the child ends. */
int replica_snapshot_poll(struct replica *replica, bool wait, char *errmsg, size_t errmsg_size);

/* Writes a snapshot file synchronously (tests, shutdown); refused as
 * replica_snapshot_start is once the replica stopped. */
int replica_snapshot_write(const struct replica *replica, char *errmsg, size_t errmsg_size);

#endif
