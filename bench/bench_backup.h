/* `nodown bench backup` (bench_backup.c): a backup of a node holding a
 * large state, taken while members trade, then restored; the figures a
 * later `nodown bench history` may call for too. */
#ifndef NODOWN_BENCH_BENCH_BACKUP_H
#define NODOWN_BENCH_BENCH_BACKUP_H

#include <stddef.h>
#include <stdint.h>

struct bench_backup_options {
    uint32_t resting;     /* resting orders published before the backup */
    uint32_t clients;     /* member sessions trading during it (0: none) */
    double rate_per_s;    /* each client's orders per second */
    const char *work_dir; /* where the node, the backup and the restore go (NULL: /tmp) */
};

struct bench_backup_figures {
    uint64_t resting;
    uint64_t snapshot_bytes;      /* the node's snapshot in the backup */
    uint64_t raw_bytes;           /* snapshot and stream, uncompressed */
    uint64_t stored_bytes;        /* compressed */
    double backup_s;
    double backup_mb_per_s;       /* raw bytes per second, end to end */
    uint64_t messages;            /* stream messages after the snapshot */
    int64_t node_snapshot_pause_us_max_before; /* the node's, since its start */
    int64_t node_snapshot_pause_us_max;  /* after: above before if one came meanwhile */
    uint64_t digest_wait_ms;      /* of backup_s: waiting for the node's digest at E */
    uint64_t replay_ms;           /* of backup_s: the check by replay */
    int64_t node_apply_us_max_le; /* the longest batch apply while the backup ran */
    uint64_t node_batches_during;
    uint64_t orders_acked_during; /* the clients' acknowledged orders */
    double restore_s;             /* `restore --data`: check, replay, store */
    char digest[33];
};

/* Runs the whole benchmark: a `nodown serve` child (the embedded default)
 * started from this binary, the state, the backup under load, the
 * restore, everything removed after. Returns 0, or -1 with errmsg. */
int bench_backup_run(const struct bench_backup_options *options,
                     struct bench_backup_figures *figures, char *errmsg, size_t size);

#endif
