/* `nodown backup` and `nodown backup verify` (docs/backup.md): a
 * consistent copy of a running node's state taken without pausing it,
 * and its check by replay.
 *
 * A backup is the node's newest snapshot (GET /snapshot/latest: written
 * by a forked child, copy-on-write, so the node never waited for it) and
 * the stream's messages after it, read from NATS with their stored
 * sequences and timestamps, up to an end sequence E at which the node
 * tells its digest: its /status digest when that is at or after the
 * snapshot (an idle node), else /verify?at=E for an E a few messages
 * ahead (the node stops for one digest when it gets there). The backup is
 * replayed by this build before it is kept: its digest at E must be the
 * node's, or the backup fails. Files are zstd-compressed and listed with
 * their checksums in a manifest (backup_store.h), in a directory that
 * gets its final name only once everything in it is written and synced.
 */
#ifndef NODOWN_OPS_BACKUP_H
#define NODOWN_OPS_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/backup_manifest.h"

/* How long the backup waits for the node to tell its digest at an end
 * sequence before it keeps the stream's end without it. */
#define BACKUP_NODE_DIGEST_WAIT_MS 20000
/* How far ahead of the node's applied sequence /verify?at= asks first;
 * each time the node is past it when asked, twice as far, up to the max
 * (a busy node applies hundreds of messages a second). */
#define BACKUP_VERIFY_AHEAD 16u
#define BACKUP_VERIFY_AHEAD_MAX 4096u

struct backup_config {
    const char *node_dir;    /* a running node's data directory, or */
    uint16_t admin_port;     /* its admin port on 127.0.0.1 ... */
    char token[272];         /* ... and its operator token */
    const char *nats_urls;   /* the stream's servers (with admin_port; else found) */
    const char *cluster_dir; /* or a local cluster (`nodown cluster`): its node 0 */
    const char *to;          /* the backup's directory: must not exist */
    bool json;
};

/* What a backup did, for its report and for `nodown bench backup`. */
struct backup_result {
    struct backup_manifest manifest;
    uint64_t raw_bytes;             /* snapshot and stream, uncompressed */
    uint64_t stored_bytes;          /* as written */
    uint64_t total_ms;
    uint64_t snapshot_ms;           /* downloading the snapshot */
    uint64_t stream_ms;             /* reading the stream */
    uint64_t replay_ms;
    uint64_t compress_ms;
    uint64_t digest_wait_ms;        /* waiting for the node's digest */
    int64_t pause_us_max_before;    /* the node's nodown_snapshot_pause_us_max */
    int64_t pause_us_max_after;
    int64_t apply_us_max_le;        /* the longest batch apply while it ran: the
                                     * histogram bound it fits under (-1: none seen) */
    uint64_t batches_during;        /* batches the node applied while it ran */
};

/* Takes the backup. Returns 0, or an error with errmsg; nothing is left
 * under config->to on an error. */
int backup_run(const struct backup_config *config, struct backup_result *result, char *errmsg,
               size_t errmsg_size);

/* Prints a backup's report: one JSON object with json, else lines. */
void backup_report(const struct backup_result *result, bool json);

/* `nodown backup verify DIR`: the files against the manifest (each bad
 * one named on stderr), then the replay's digest and engine_check at the
 * end sequence. Returns the exit code: 0 all good, 1 not. */
int backup_verify(const char *dir, const char *work_dir, bool json);

#endif
