/* `nodown restore` (docs/backup.md): a new node, or a new local cluster,
 * from a backup (backup.h), with the state at the backup's end sequence E
 * and a stream that goes on at E + 1.
 *
 * The backup is checked first, file by file against its manifest, then
 * replayed by this build into a snapshot at E (in a scratch directory
 * outside the target): its messages are not published again, because the
 * stream would give them new stored times, and replicas take a message's
 * stored time as the state's time. Only once all of that succeeded is the
 * target written:
 *
 *   --data DIR      DIR/snapshots/snapshot-E.ndsf and DIR/nats, the store
 *                   of an embedded nats-server holding an empty stream NODOWN
 *                   whose first sequence is E + 1 (built under
 *                   DIR.partial-PID and renamed); `nodown serve --data DIR`
 *                   starts on it
 *   --cluster DIR   a local cluster (`nodown cluster`): its servers started
 *                   and its empty stream made at E + 1, then each
 *                   node-I/snapshots/snapshot-E.ndsf, then its nodes started
 *
 * A damaged backup writes nothing; a target that exists and is not an
 * empty directory is refused.
 */
#ifndef NODOWN_OPS_RESTORE_H
#define NODOWN_OPS_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct restore_config {
    const char *from;        /* the backup's directory */
    const char *data_dir;    /* a single node's data directory, or */
    const char *cluster_dir; /* a local cluster's directory */
    uint32_t nats_count;     /* the cluster's servers (3) */
    uint32_t node_count;     /* and nodes (3) */
    const char *house;       /* the cluster's house secret file's text, or NULL */
    const char *self;        /* this binary, which the cluster's nodes run */
    const char *work_dir;    /* for the scratch replay (NULL: /tmp) */
    bool json;
};

struct restore_result {
    uint64_t end_seq;
    char digest[33];
    uint64_t replay_ms;
    uint64_t total_ms;
};

/* Makes the stream NODOWN on urls (replicas copies) start at first_seq,
 * empty: made if missing, then purged below first_seq (on an empty
 * stream, JetStream then numbers the next message first_seq). A stream
 * that already holds messages is refused. Returns 0 or an error with
 * errmsg. */
int restore_stream_prepare(const char *urls, int replicas, uint64_t first_seq, char *errmsg,
                           size_t size);

/* Restores. Returns 0, or an error with errmsg; on an error before the
 * target is written, the target is as it was. */
int restore_run(const struct restore_config *config, struct restore_result *result,
                char *errmsg, size_t size);

#endif
